import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { CLI, collect, killedWithTheTests, runCli } from '../harness/cli.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { canMountTmpfs, mountTmpfs, unmountTmpfs } from '../harness/tmpfs.js';
import { MAKE_PROJECT, makeFixture, openForAssertions, resultRows, runEnv, type Fixture } from './process-fixtures.js';

// What a nightly run does when the machine runs out of disk (DESIGN §8): the repository that met
// the full disk says so (not `crashed`, not a failing repository), its workspace goes, the rest
// run, and a publish cut short leaves no manifest. Needs root to mount small file systems.

let tmp: TempDir;
let fixture: Fixture;
const mounted: string[] = [];

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-process-resources-');
  fixture = await makeFixture(tmp.path, [
    ['acme/first', MAKE_PROJECT],
    // ~6 MB that git cannot compress: more than the work directory holds.
    ['acme/huge', { ...MAKE_PROJECT, 'blob.txt': randomBytes(4_500_000).toString('base64') }],
    // Fills the disk, then writes output that build.log cannot take.
    ['acme/fills', { Makefile: 'all:\n\tmkdir -p dist\n\thead -c 8000000 /dev/zero > dist/big.bin || true\n\tseq 1 200000\n' }],
    ['acme/medium', { Makefile: 'all:\n\tmkdir -p dist\n\thead -c 700000 /dev/urandom > dist/medium.bin\n\techo ok > dist/a.txt\n' }],
    ['acme/medium-too', { Makefile: 'all:\n\tmkdir -p dist\n\thead -c 700000 /dev/urandom > dist/medium.bin\n\techo ok > dist/a.txt\n' }],
    ['acme/last', MAKE_PROJECT],
  ]);
}, 60_000);

afterAll(async () => {
  for (const dir of mounted) unmountTmpfs(dir);
  await tmp?.remove();
});

function mount(dir: string, size: string): void {
  mountTmpfs(dir, size);
  mounted.push(dir);
}

async function inventoryOf(name: string, paths: string[]): Promise<string> {
  const [header, ...rows] = (await fs.readFile(fixture.inventory, 'utf8')).trim().split('\n');
  const file = path.join(tmp.path, `${name}.csv`);
  await fs.writeFile(file, [header, ...rows.filter((row) => paths.some((p) => row.endsWith(`,${p}`)))].join('\n') + '\n');
  return file;
}

async function outcomes(name: string, runId: string) {
  const db = await openForAssertions({ dataDir: path.join(tmp.path, `db-${name}`) });
  try {
    return (await resultRows(db, runId)).map((row) => [row.path, row.outcome, row.error_code]);
  } finally {
    await db.close();
  }
}

/** Every file under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name))).sort();
}

describe.skipIf(!canMountTmpfs)('mass-ingest process when the machine runs out of disk', () => {
  it('records workdir_full for the clone and the build that filled the work directory, removes their workspaces and goes on', async () => {
    const workdir = path.join(tmp.path, 'work-workdir');
    mount(workdir, '3m');
    const inventory = await inventoryOf('workdir', ['acme/first', 'acme/huge', 'acme/fills', 'acme/last']);

    const result = await runCli(['process', inventory, '--run-id', 'workdir-full', '--concurrency', '1', '--clone-ahead', '0'], { env: runEnv(tmp.path, 'workdir') });

    // The disk, not the repositories: worth another attempt, and loud when it keeps failing.
    expect(result.code).toBe(3);
    expect(result.logs.find((line) => String(line.msg).startsWith('The work directory filled up'))).toMatchObject({ level: 50, repositories: 2 });
    expect(await outcomes('workdir', 'workdir-full')).toEqual([
      ['acme/first', 'published', null],
      ['acme/huge', 'clone_failed', 'workdir_full'],
      ['acme/fills', 'build_failed', 'workdir_full'],
      ['acme/last', 'published', null],
    ]);
    expect(result.logs.filter((line) => line.msg === 'Repository finished' && line.errorCode === 'workdir_full').map((line) => line.error)).toEqual([
      'The work directory is full: free space there or give MASS_INGEST_WORKDIR (--workdir) more room',
      expect.stringMatching(/^The work directory .* is full \(ENOSPC: no space left on device, write\): free space there or give MASS_INGEST_WORKDIR \(--workdir\) more room$/),
    ]);
    expect(await fs.readdir(workdir)).toEqual([]);
  });

  it('leaves no manifest and no temporary file of a publish the full target cut short, says the target is full and publishes the rest', async () => {
    const target = path.join(tmp.path, 'artifacts-publish');
    mount(target, '1m');
    const inventory = await inventoryOf('publish', ['acme/first', 'acme/medium', 'acme/medium-too', 'acme/last']);

    const result = await runCli(['process', inventory, '--run-id', 'publish-full', '--concurrency', '1'], { env: runEnv(tmp.path, 'publish') });

    expect(result.code).toBe(0);
    expect(await outcomes('publish', 'publish-full')).toEqual([
      ['acme/first', 'published', null],
      ['acme/medium', 'published', null],
      ['acme/medium-too', 'publish_failed', 'publish_io'],
      ['acme/last', 'published', null],
    ]);
    const cutShort = (await filesUnder(target)).filter((file) => file.startsWith('local.test/acme/medium-too/'));
    expect(cutShort.map((file) => path.basename(file))).toEqual(['a.txt']);
    expect(result.logs.find((line) => line.errorCode === 'publish_io')?.error).toMatch(/\(ENOSPC\): the file system of .* is full; free space there or publish elsewhere$/);
  });
});

/** `mass-ingest process <args>` under `ulimit -n <limit>` of the shell that starts it, as a user's or a container's would be. */
function runUnderLimit(limit: number, args: string[], env: Record<string, string>) {
  return collect(killedWithTheTests(spawn('bash', ['-c', `ulimit -n ${limit} && exec "$0" "$@"`, process.execPath, CLI, 'process', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })));
}

describe('mass-ingest process under a low limit on open files', () => {
  let small: Fixture;

  beforeAll(async () => {
    small = await makeFixture(path.join(tmp.path, 'small'), Array.from({ length: 32 }, (_, index) => [`acme/small-${index + 1}`, MAKE_PROJECT] as [string, typeof MAKE_PROJECT]));
  }, 60_000);

  it('warns, naming the limit and what the concurrency needs, and still runs', async () => {
    const inventory = await inventoryOf('files', ['acme/first', 'acme/last']);

    const result = await runUnderLimit(200, [inventory, '--run-id', 'low-files', '--concurrency', '4'], runEnv(tmp.path, 'files'));

    expect(result.code, result.stderr).toBe(0);
    expect(result.logs.find((line) => String(line.msg).startsWith('The limit on open files (ulimit -n) is low'))).toMatchObject({ level: 40, limit: 200, needed: 320, concurrency: 4 });
    expect(await outcomes('files', 'low-files')).toEqual([
      ['acme/first', 'published', null],
      ['acme/last', 'published', null],
    ]);
  });
  // Its host shares the limit, and once dropped the connections it could not accept as its files
  // took the rest: rows `crashed` on "Connection terminated unexpectedly", exit 0.
  it('refuses the embedded database under a limit it cannot keep its connections in, before any repository starts', async () => {
    const result = await runUnderLimit(64, [small.inventory, '--run-id', 'too-low-db', '--end', '2'], runEnv(tmp.path, 'too-low-db'));

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('mass-ingest: The limit on open files (ulimit -n) is 64: the embedded database needs 96 or more (below it, it drops connections and repositories crash); raise it, or use PostgreSQL (DATABASE_URL) [fd_limit_too_low]');
    expect(result.logs.filter((line) => line.msg === 'Repository finished')).toEqual([]);
  });

  it('records the repositories that met the limit as fd_exhausted, starts no more and exits 3 so that the partition is tried again', async () => {
    // 32 repositories checked and cloned at once need more than 96 descriptors: git cannot start.
    const result = await runUnderLimit(96, [small.inventory, '--run-id', 'fd-exhausted', '--concurrency', '32'], runEnv(tmp.path, 'fd-exhausted'));

    expect(result.code, result.stderr).toBe(3);
    const rows = await outcomes('fd-exhausted', 'fd-exhausted');
    expect(rows).toHaveLength(32);
    expect(rows.filter(([, , code]) => code === 'fd_exhausted').length).toBeGreaterThan(0);
    // What did not meet the limit ran, or was not started once it was met; nothing crashed.
    for (const [, outcome, code] of rows) expect([['published', null], ['clone_failed', 'fd_exhausted'], ['build_failed', 'fd_exhausted'], ['aborted', 'not_started']]).toContainEqual([outcome, code]);
    expect(result.logs.find((line) => line.errorCode === 'fd_exhausted')?.error).toMatch(/could not start: the processor ran out of file descriptors \(spawn \w+ EMFILE\): raise the limit on open files \(ulimit -n; nofile in a container's ulimits\) or lower --concurrency and --clone-ahead$/);
    expect(result.logs.find((line) => String(line.msg).startsWith('The processor ran out of file descriptors'))).toMatchObject({ level: 50, limit: 96 });
  });
});
