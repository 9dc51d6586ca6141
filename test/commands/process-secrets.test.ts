import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli, type CliResult } from '../harness/cli.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { openForAssertions } from './process-fixtures.js';

/**
 * Credentials written into repos.csv's cloneUrl in shapes the URL parser or the scrubber's URL
 * rule does not take apart: they reach no database row, report, log line or git argv.
 */
const SCP_SECRET = 'Scp-Secret-1111';
const AT_SECRET = 'Ftp@Secret-2222';
const MAIL_SECRET = 'Mail-Secret-3333';
const SSH_SECRET = 'Ssh-Secret-4444';
const SECRETS = [SCP_SECRET, AT_SECRET, 'Secret-2222', MAIL_SECRET, SSH_SECRET];

/** git as ps shows it: every argv is written down, and ssh remotes answer "not found" (no ssh server here). */
const GIT_SHIM = `#!/bin/sh
printf '%s\\n' "$*" >> "$(dirname "$0")/argv.txt"
case "$*" in *ssh://*) echo 'ERROR: Repository not found.' >&2; exit 128 ;; esac
PATH="\${PATH#*:}" exec git "$@"
`;

let tmp: TempDir;
let env: Record<string, string>;
let run: CliResult;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-secrets-');
  const shimDir = path.join(tmp.path, 'bin');
  await fs.mkdir(shimDir);
  await fs.writeFile(path.join(shimDir, 'git'), GIT_SHIM, { mode: 0o755 });
  const inventory = path.join(tmp.path, 'repos.csv');
  await fs.writeFile(
    inventory,
    [
      'cloneUrl,branch,origin,path',
      `deploy:${SCP_SECRET}@git.example.test:acme/a.git,main,git.example.test,acme/a`,
      `ftp://bob:${AT_SECRET}@git.example.test/acme/b.git,main,git.example.test,acme/b`,
      `http://me@corp.test:${MAIL_SECRET}@127.0.0.1:1/acme/c.git,main,git.example.test,bad path`,
      `ssh://deploy:${SSH_SECRET}@git.example.test/acme/d.git,main,git.example.test,acme/d`,
    ].join('\n'),
  );
  env = baseEnv({
    PATH: `${shimDir}:${process.env.PATH}`,
    MASS_INGEST_DATA_DIR: path.join(tmp.path, 'db'),
    MASS_INGEST_WORKDIR: path.join(tmp.path, 'work'),
    PUBLISH_URL: path.join(tmp.path, 'artifacts'),
  });

  run = await runCli(['process', inventory, '--run-id', 'secrets', '--log-level', 'debug'], { env });
}, 120_000);

afterAll(async () => {
  await tmp?.remove();
});

describe('mass-ingest process with credentials inside cloneUrl', () => {
  it('records every row without the password, whatever shape its cloneUrl has', async () => {
    const db = await openForAssertions({ dataDir: path.join(tmp.path, 'db') });
    const { rows } = await db.query<{ row_number: number; outcome: string; error_code: string; clone_url: string; error_message: string }>(
      "SELECT row_number, outcome, error_code, clone_url, error_message FROM repository_results WHERE run_id = 'secrets' ORDER BY row_number",
    );
    await db.close();

    expect(run.code).toBe(0);
    expect(rows.map((row) => [row.row_number, row.outcome, row.error_code, row.clone_url])).toEqual([
      [1, 'invalid', 'unknown_scheme', '***@git.example.test:acme/a.git'],
      [2, 'invalid', 'unknown_scheme', 'ftp://***@git.example.test/acme/b.git'],
      [3, 'invalid', 'invalid_path', 'http://***@127.0.0.1:1/acme/c.git'],
      [4, 'clone_failed', 'git_repository_not_found', 'ssh://deploy@git.example.test/acme/d.git'],
    ]);
    expect(rows[0]?.error_message).toBe(
      'Row 1: cloneUrl "***@git.example.test:acme/a.git" has an unknown scheme (use https://, http://, ssh://, git://, file://, user@host:path or an absolute path)',
    );
    for (const secret of SECRETS) expect(JSON.stringify(rows)).not.toContain(secret);
  });

  it('runs git with an ssh cloneUrl that keeps its user name and loses its password', async () => {
    const argv = await fs.readFile(path.join(tmp.path, 'bin', 'argv.txt'), 'utf8');

    expect(argv.trim().split('\n')).toEqual(['ls-remote ssh://deploy@git.example.test/acme/d.git refs/heads/main']);
  });

  it('logs a failed step with the error message and stack, and no password', () => {
    const failed = run.logs.find((line) => line.msg === 'Step failed' && line.row === 4) as { err?: { type?: string; message?: string; stack?: string } } | undefined;

    expect(failed?.err?.type).toBe('StepError');
    expect(failed?.err?.message).toContain('ERROR: Repository not found.');
    expect(failed?.err?.stack).toContain('StepError: ERROR: Repository not found.');
    for (const secret of SECRETS) expect(`${run.stdout}${run.stderr}`).not.toContain(secret);
  });

  it('shows no password in any report format', async () => {
    const outputs: string[] = [];
    for (const format of ['table', 'csv', 'json']) {
      const report = await runCli(['report', '--run', 'secrets', '--format', format], { env });
      expect(report.code).toBe(0);
      outputs.push(report.stdout, report.stderr);
    }
    const html = path.join(tmp.path, 'report.html');
    expect((await runCli(['report', '--run', 'secrets', '--format', 'html', '--out', html], { env })).code).toBe(0);

    const text = `${outputs.join('\n')}\n${await fs.readFile(html, 'utf8')}`;

    expect(text).toContain('git.example.test');
    for (const secret of SECRETS) expect(text).not.toContain(secret);
  });
});
