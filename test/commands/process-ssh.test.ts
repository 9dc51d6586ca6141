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
here="$(dirname "$0")"
printf '%s agent=%s\\n' "$*" "\${SSH_AUTH_SOCK:-unset}" >> "$here/ssh-calls.txt"
for arg; do
  file="$(printf '%s' "$arg" | sed 's/^[A-Za-z]*="//; s/"$//')"
  case "$arg" in
    IdentityFile=*) cp "$file" "$here/seen-key"; stat -c %a "$file" > "$here/seen-key-mode";;
    UserKnownHostsFile=*) cp "$file" "$here/seen-hosts";;
  esac
done
for last; do :; done
exec sh -c "$last"
`;
const KEY_LINES = ['b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW', 'QyNTUxOQAAACBmYWtlLWtleS1mb3ItdGVzdHMtb25seS1ub3QtcmVhbAAAAJgAAAAAAAAA'];
// A made-up key (no key at all, only its shape), its armour lines built so no scanner takes it for one.
const armour = (edge: 'BEGIN' | 'END') => `-----${edge} OPENSSH ${'PRIVATE'} KEY-----`;
const KEY = [armour('BEGIN'), ...KEY_LINES, armour('END')].join('\n');
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

  it('clones with GIT_SSH_KEY and GIT_SSH_KNOWN_HOSTS from secrets: private files for ssh alone, gone afterwards, the key nowhere else', async () => {
    const repo = fixture.repos['acme/env']!.path;
    const knownHosts = 'git.test ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheTestServer';

    const { result, rows, calls, buildEnv } = await processOverSsh('ssh-key', `ssh://git@git.test${repo}`, { GIT_SSH_KEY: KEY.replaceAll('\n', '\\n'), GIT_SSH_KNOWN_HOSTS: knownHosts });

    expect(result.code).toBe(0);
    expect(rows.map((row) => row.outcome)).toEqual(['published']);
    const keyFile = /^-o IdentityFile="([^"]+)"/.exec(calls[0]!)?.[1];
    expect(calls[0]).toMatch(/^-o IdentityFile="\S+\/ssh-key" -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile="\S+\/known_hosts" -o StrictHostKeyChecking=yes /);
    expect(await fs.readFile(path.join(shimDir, 'seen-key'), 'utf8')).toBe(`${KEY}\n`);
    expect((await fs.readFile(path.join(shimDir, 'seen-key-mode'), 'utf8')).trim()).toBe('600');
    expect(await fs.readFile(path.join(shimDir, 'seen-hosts'), 'utf8')).toBe(`${knownHosts}\n`);
    await expect(fs.access(path.dirname(keyFile!))).rejects.toThrow();
    for (const line of KEY_LINES) {
      expect(result.stdout + result.stderr).not.toContain(line);
      expect(buildEnv).not.toContain(line);
    }
    expect(buildEnv).not.toMatch(/^GIT_SSH/m);
  }, 60_000);

  it('trusts only the hosts of GIT_SSH_KNOWN_HOSTS given without a key, and keeps the default key and agent', async () => {
    const repo = fixture.repos['acme/env']!.path;

    const { result, calls } = await processOverSsh('ssh-hosts', `git@git.test:${repo}`, { GIT_SSH_KNOWN_HOSTS: 'git.test ssh-ed25519 AAAAHost' });

    expect(result.code).toBe(0);
    for (const call of calls) expect(call).toMatch(/^-o BatchMode=yes -o UserKnownHostsFile="\S+\/known_hosts" -o StrictHostKeyChecking=yes .*git@git\.test git-upload-pack/);
  }, 60_000);

  it('refuses a GIT_SSH_KEY that is no private key without showing it, and one given with GIT_SSH_COMMAND', async () => {
    const inventory = path.join(tmp.path, 'refused.csv');
    await fs.writeFile(inventory, `cloneUrl,branch,origin,path\nssh://git@git.test/x,main,local.test,acme/env\n`);
    const env = (extra: Record<string, string>) => baseEnv({ MASS_INGEST_DATA_DIR: path.join(tmp.path, 'db-refused'), ...extra });

    const notAKey = await runCli(['process', inventory], { env: env({ GIT_SSH_KEY: 'ssh-ed25519 AAAAPublicKeyPastedByMistake' }) });
    const both = await runCli(['process', inventory], { env: env({ GIT_SSH_KEY: KEY, GIT_SSH_COMMAND: 'ssh -i /keys/deploy' }) });
    const three = await runCli(['process', inventory], { env: env({ GIT_SSH_KEY: KEY, GIT_SSH_KNOWN_HOSTS: 'h ssh-ed25519 AAAA', GIT_SSH_COMMAND: 'ssh' }) });

    expect(notAKey.code).toBe(2);
    expect(notAKey.stdout + notAKey.stderr).toContain('GIT_SSH_KEY is not a private key');
    expect(notAKey.stdout + notAKey.stderr).not.toContain('PublicKeyPastedByMistake');
    expect(both.code).toBe(2);
    expect(both.stdout + both.stderr).toContain('GIT_SSH_KEY and GIT_SSH_COMMAND are both set');
    expect(three.code).toBe(2);
    expect(three.stdout + three.stderr).toContain('GIT_SSH_KEY, GIT_SSH_KNOWN_HOSTS and GIT_SSH_COMMAND are all set');
    expect(both.stdout + both.stderr).not.toContain(KEY_LINES[0]);
  }, 60_000);
});
