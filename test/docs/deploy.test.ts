import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../harness/cli.js';

/**
 * docs/deploy.md is followed literally by operators: its commands, names and tables must match
 * terraform/ and the CLI. Plain text checks, no AWS and no Terraform run.
 */
const execFileAsync = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const JOBS = ['chunk', 'processor', 'report'] as const;

let doc: string;
let variablesTf: string;
let outputsTf: string;
let jobsTf: string;
let configTs: string;

beforeAll(async () => {
  const read = (file: string) => fs.readFile(path.join(ROOT, file), 'utf8');
  [doc, variablesTf, outputsTf, jobsTf, configTs] = await Promise.all([
    read('docs/deploy.md'),
    read('terraform/variables.tf'),
    read('terraform/outputs.tf'),
    read('terraform/jobs.tf'),
    read('src/config/config.ts'),
  ]);
});

/** Table rows of the doc whose first cell starts with a backticked name. */
function tableRows(): string[][] {
  return doc
    .split('\n')
    .filter((line) => /^\| `/.test(line))
    .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()));
}

function backticked(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);
}

/** A variable's `default = …` in variables.tf as written (undefined when it has none). */
function variableDefault(name: string): string | undefined {
  const block = new RegExp(`variable "${name}" \\{([\\s\\S]*?)\\n\\}`).exec(variablesTf)?.[1];
  if (block === undefined) throw new Error(`variable "${name}" is not in terraform/variables.tf`);
  return /^ {2}default\s*=\s*(.+)$/m.exec(block)?.[1]?.trim();
}

/** What a default looks like in the doc's table: no quotes, lists as "a, b". */
function asWritten(value: string): string {
  const list = /^\[(.*)\]$/.exec(value);
  if (list) return list[1]!.split(',').map(asWritten).join(', ');
  return value.trim().replace(/^"(.*)"$/, '$1');
}

/** Environment variables each job definition gets through `secrets`, from local.jobs in jobs.tf. */
function secretsByJob(): Record<string, string[]> {
  const jobOrder = [...jobsTf.matchAll(/^ {4}(chunk|processor|report) = \{/gm)].map((match) => match[1]!);
  const lists = [...jobsTf.matchAll(/^ {6}secrets\s*=\s*\[([^\]]*)\]/gm)].map((match) => [...match[1]!.matchAll(/"([A-Z_]+)"/g)].map((name) => name[1]!));
  return Object.fromEntries(jobOrder.map((job, index) => [job, lists[index] ?? []]));
}

function codeBlocks(language: string): string[] {
  return [...doc.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((match) => match[1]!);
}

describe('docs/deploy.md', () => {
  it('names only Terraform outputs that outputs.tf defines', () => {
    const used = new Set([...doc.matchAll(/terraform output -raw ([a-z_]+)/g)].map((match) => match[1]!));

    const defined = new Set([...outputsTf.matchAll(/^output "([a-z_]+)"/gm)].map((match) => match[1]!));

    expect(used.size).toBeGreaterThan(0);
    expect([...used].filter((name) => !defined.has(name))).toEqual([]);
  });

  it('gives the variables of its tfvars table the defaults variables.tf has', () => {
    const rows = tableRows().filter((cells) => cells.length === 3 && /^[a-z_]+$/.test(backticked(cells[0]!)[0] ?? '') && variablesTf.includes(`variable "${backticked(cells[0]!)[0]}"`));

    const mismatches = rows.flatMap(([names, defaults]) => {
      const variables = backticked(names!);
      const documented = defaults === '—' ? variables.map(() => undefined) : variables.length === 1 ? [defaults!.replace(/`/g, '')] : defaults!.split(/,\s*/).map((value) => value.replace(/`/g, ''));
      return variables.flatMap((name, index) => {
        const actual = variableDefault(name);
        const written = actual === undefined ? undefined : asWritten(actual);
        return written === documented[index] ? [] : [`${name}: doc says ${documented[index] ?? 'no default'}, variables.tf ${written ?? 'no default'}`];
      });
    });

    expect(rows.length).toBeGreaterThanOrEqual(10);
    expect(mismatches).toEqual([]);
  });

  it('lists each secret with an existing variable, an environment name the CLI reads, and the jobs that get it', () => {
    const rows = tableRows().filter((cells) => cells.length === 3 && /_secret_arn/.test(cells[1]!));
    const given = secretsByJob();

    const problems = rows.flatMap(([environment, variables, jobs]) => {
      const names = backticked(environment!).filter((name) => /^[A-Z_]+$/.test(name));
      const documentedJobs = JOBS.filter((job) => new RegExp(`\\b${job}\\b`).test(jobs!.split('(')[0]!));
      return [
        ...backticked(variables!).filter((name) => !variablesTf.includes(`variable "${name}"`)).map((name) => `${name} is not a variable`),
        ...names.filter((name) => !configTs.includes(`'${name}'`)).map((name) => `${name} is not read by src/config/config.ts`),
        ...names.flatMap((name) => JOBS.filter((job) => given[job]?.includes(name) !== documentedJobs.includes(job)).map((job) => `${name}: ${job} differs from jobs.tf`)),
      ];
    });

    expect(rows.length).toBe(5);
    expect(problems).toEqual([]);
  });

  it('sets in the job definitions only environment variables the CLI or the AWS SDK reads', () => {
    const environmentBlock = /common_environment = merge\(([\s\S]*?)\n {2}\)/.exec(jobsTf)?.[1] ?? '';
    const names = new Set([...environmentBlock.matchAll(/\b([A-Z][A-Z0-9_]+)\s*=/g), ...jobsTf.matchAll(/\{ ?([A-Z][A-Z0-9_]+) = /g)].map((match) => match[1]!));
    const readBySdk = new Set(['AWS_REGION']);

    const unknown = [...names].filter((name) => !readBySdk.has(name) && !configTs.includes(`'${name}'`));

    expect([...names]).toEqual(expect.arrayContaining(['JOB_QUEUE', 'JOB_DEFINITION', 'REPORT_JOB_DEFINITION', 'PUBLISH_URL', 'PARTITION_SIZE']));
    expect(unknown).toEqual([]);
  });

  it('passes container overrides that are JSON commands of the CLI with options it knows', async () => {
    const overrides = [...doc.matchAll(/--container-overrides '([^']+)'/g)].map((match) => JSON.parse(match[1]!) as { command: string[] });

    const problems: string[] = [];
    for (const { command } of overrides) {
      const [name, ...args] = command;
      const { stdout } = await execFileAsync(process.execPath, [CLI, name!, '--help'], { timeout: 30_000 });
      for (const flag of args.filter((arg) => arg.startsWith('--'))) if (!stdout.includes(flag)) problems.push(`${name} has no ${flag}`);
    }

    expect(overrides.length).toBeGreaterThanOrEqual(2);
    expect(problems).toEqual([]);
  });

  it('has bash blocks that bash can parse', async () => {
    const blocks = codeBlocks('bash');

    const failures = [];
    for (const block of blocks) {
      const result = await execFileAsync('bash', ['-n', '-c', block]).then(() => undefined, (err: { stderr: string }) => err.stderr);
      if (result) failures.push(result);
    }

    expect(blocks.length).toBeGreaterThan(5);
    expect(failures).toEqual([]);
  });

  it('builds the image it pushes to ECR with every toolchain the Dockerfile offers, so Maven, Gradle, Cargo, Go and Python repositories (and LFS=fetch) can build', async () => {
    const dockerfile = await fs.readFile(path.join(ROOT, 'Dockerfile'), 'utf8');
    const toolchains = [...dockerfile.matchAll(/^ARG (INSTALL_[A-Z_]+)=false$/gm)].map((match) => match[1]!);

    const pushedBuild = codeBlocks('bash').find((block) => block.includes('docker push'))?.replace(/\\\n/g, ' ') ?? '';
    const build = /docker build [^\n]*/.exec(pushedBuild)?.[0] ?? '';

    expect(toolchains).toEqual(['INSTALL_JDK', 'INSTALL_MAVEN', 'INSTALL_GRADLE', 'INSTALL_RUST', 'INSTALL_GO', 'INSTALL_PYTHON', 'INSTALL_GIT_LFS']);
    expect(toolchains.filter((arg) => !build.includes(`--build-arg ${arg}=true`))).toEqual([]);
  });

  it('strips the editor\'s trailing newline from every file it stores as a secret', () => {
    const stored = [...doc.matchAll(/(?:--secret-string|--value) file:\/\/(\S+)/g)].map((match) => match[1]!);

    const unstripped = stored.filter((file) => !doc.includes(`strip_newline ${file}`));

    expect(stored.length).toBeGreaterThanOrEqual(3);
    expect(unstripped).toEqual([]);
  });
});
