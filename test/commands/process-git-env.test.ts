import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli, type CliResult } from '../harness/cli.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { makeFixture } from './process-fixtures.js';

/**
 * Behind a private CA or a TLS-intercepting proxy, git needs GIT_SSL_CAINFO and the like; the
 * processor's git gets them, a build does not (GIT_* is no build's business).
 */
const GIT_SHIM = `#!/bin/sh
printf '%s %s\\n' "$1" "\${GIT_SSL_CAINFO:-unset}" >> "$(dirname "$0")/seen.txt"
PATH="\${PATH#*:}" exec git "$@"
`;
const ENV_PROJECT = { Makefile: 'all:\n\tmkdir -p dist\n\tenv > dist/env.txt\n' };

let tmp: TempDir;
let run: CliResult;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-git-env-');
  const shimDir = path.join(tmp.path, 'bin');
  await fs.mkdir(shimDir);
  await fs.writeFile(path.join(shimDir, 'git'), GIT_SHIM, { mode: 0o755 });
  const fixture = await makeFixture(tmp.path, [['acme/env', ENV_PROJECT]]);
  const env = baseEnv({
    PATH: `${shimDir}:${process.env.PATH}`,
    GIT_SSL_CAINFO: '/etc/corporate/ca-bundle.pem',
    GIT_HTTP_LOW_SPEED_TIME: '60',
    MASS_INGEST_DATA_DIR: path.join(tmp.path, 'db'),
    MASS_INGEST_WORKDIR: path.join(tmp.path, 'work'),
    PUBLISH_URL: path.join(tmp.path, 'artifacts'),
  });

  run = await runCli(["process", fixture.inventory, "--run-id", "git-env"], { env });
}, 120_000);

afterAll(async () => {
  await tmp?.remove();
});

describe('mass-ingest process and git transport settings', () => {
  it('hands GIT_SSL_CAINFO to its own git and keeps it from the build', async () => {
    const seen = (await fs.readFile(path.join(tmp.path, 'bin', 'seen.txt'), 'utf8')).trim().split('\n');
    const [built] = await findFiles(path.join(tmp.path, 'artifacts'), 'env.txt');
    const buildEnv = await fs.readFile(built!, 'utf8');

    expect(run.code).toBe(0);
    expect(seen.filter((line) => line.startsWith('ls-remote ') || line.startsWith('clone '))).toEqual([
      'ls-remote /etc/corporate/ca-bundle.pem',
      'clone /etc/corporate/ca-bundle.pem',
    ]);
    expect(buildEnv).not.toMatch(/^GIT_/m);
  });
});

async function findFiles(dir: string, name: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile() && entry.name === name).map((entry) => path.join(entry.parentPath, entry.name));
}
