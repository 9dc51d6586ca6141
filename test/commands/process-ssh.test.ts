import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli } from '../harness/cli.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { makeFixture, openForAssertions, resultRows, type Fixture } from './process-fixtures.js';

/**
 * Clones over ssh (`ssh://…` and `user@host:path` rows). There is no ssh server here: a stand-in
 * `ssh` records how git called it and runs the remote command (git-upload-pack) locally, as sshd
 * would on the server.
 */
const SSH_SHIM = `#!/bin/sh
printf '%s agent=%s\\n' "$*" "\${SSH_AUTH_SOCK:-unset}" >> "$(dirname "$0")/ssh-calls.txt"
for last; do :; done
exec sh -c "$last"
`;
const ENV_PROJECT = { Makefile: 'all:\n\tmkdir -p dist\n\tenv > dist/env.txt\n' };

let tmp: TempDir;
let fixture: Fixture;
let shimDir: string;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-ssh-');
  shimDir = path.join(tmp.path, 'bin');
  await fs.mkdir(shimDir);
  await fs.writeFile(path.join(shimDir, 'ssh'), SSH_SHIM, { mode: 0o755 });
  fixture = await makeFixture(tmp.path, [['acme/env', ENV_PROJECT]]);
});

afterAll(async () => {
  await tmp?.remove();
});

async function processOverSsh(runId: string, cloneUrl: string, extraEnv: Record<string, string> = {}) {
  const inventory = path.join(tmp.path, `${runId}.csv`);
  await fs.writeFile(inventory, `cloneUrl,branch,origin,path\n${cloneUrl},main,local.test,acme/env\n`);
  await fs.rm(path.join(shimDir, 'ssh-calls.txt'), { force: true });
  const env = baseEnv({
    PATH: `${shimDir}:${process.env.PATH}`,
    MASS_INGEST_DATA_DIR: path.join(tmp.path, `db-${runId}`),
    MASS_INGEST_WORKDIR: path.join(tmp.path, 'work'),
    PUBLISH_URL: path.join(tmp.path, `artifacts-${runId}`),
    ...extraEnv,
  });
  const result = await runCli(['process', inventory, '--run-id', runId], { env });
  const db = await openForAssertions({ dataDir: path.join(tmp.path, `db-${runId}`) });
  const rows = await resultRows(db, runId).finally(() => db.close());
  const calls = (await fs.readFile(path.join(shimDir, 'ssh-calls.txt'), 'utf8')).trim().split('\n');
  const buildEnv = await fs.readFile(path.join(tmp.path, `artifacts-${runId}`, 'local.test', 'acme', 'env', fixture.repos['acme/env']!.headSha, 'env.txt'), 'utf8');
  return { result, rows, calls, buildEnv };
}

describe('mass-ingest process over ssh', () => {
  it('clones an ssh:// row with ssh in batch mode, so that ssh fails instead of asking on the terminal', async () => {
    const repo = fixture.repos['acme/env']!.path;

    const { result, rows, calls } = await processOverSsh('ssh-url', `ssh://git@git.test${repo}`);

    expect(result.code).toBe(0);
    expect(rows.map((row) => [row.outcome, row.commit_sha])).toEqual([['published', fixture.repos['acme/env']!.headSha]]);
    expect(calls.length).toBeGreaterThanOrEqual(2);
    for (const call of calls) expect(call).toMatch(new RegExp(`^-o BatchMode=yes .*git@git\\.test git-upload-pack '${repo}' agent=unset$`));
  }, 60_000);

  it("uses the operator's GIT_SSH_COMMAND and ssh agent for a user@host:path row, and no build sees either", async () => {
    const repo = fixture.repos['acme/env']!.path;
    const command = `${path.join(shimDir, 'ssh')} -i /keys/deploy -o StrictHostKeyChecking=accept-new`;

    const { result, rows, calls, buildEnv } = await processOverSsh('ssh-scp', `git@git.test:${repo}`, { GIT_SSH_COMMAND: command, SSH_AUTH_SOCK: '/run/user/1000/agent.sock' });

    expect(result.code).toBe(0);
    expect(rows.map((row) => row.outcome)).toEqual(['published']);
    for (const call of calls) expect(call).toMatch(/^-i \/keys\/deploy -o StrictHostKeyChecking=accept-new .*git@git\.test git-upload-pack .* agent=\/run\/user\/1000\/agent\.sock$/);
    expect(buildEnv).not.toMatch(/^(GIT_SSH|SSH_AUTH_SOCK)/m);
    expect(buildEnv).not.toContain('/keys/deploy');
  }, 60_000);
});
