import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, collect, runCli, spawnCli } from '../harness/cli.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { waitFor } from '../harness/wait.js';
import { makeFixture, type Fixture } from './process-fixtures.js';

// A processor killed with SIGKILL (the OOM killer, `kill -9`) cleans nothing up. The next one
// started on the same machine kills the build it left running and removes the files holding its
// credentials and its private copy of the inventory.

let tmp: TempDir;
let fixture: Fixture;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-killed-');
  fixture = await makeFixture(tmp.path, [
    ['acme/slow', { Makefile: `all:\n\techo $$$$ > ${tmp.path}/build.pid\n\texec sleep 300\n` }],
    ['acme/quick', { Makefile: 'all:\n\tmkdir -p dist && echo ok > dist/ok.txt\n' }],
    // Rows after the slow one that wait for it, enough to keep the inventory read unfinished.
    ...Array.from({ length: 18 }, (_, index): [string, Record<string, string>] => [`acme/waiting-${index}`, { Makefile: 'all:\n\ttrue\n' }]),
  ]);
});

afterAll(async () => {
  await tmp?.remove();
});

async function isRunning(pid: number): Promise<boolean> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== '' && state !== 'Z' && state !== 'X';
}

const tempDirs = async (dir: string, kind: 'cred' | 'inventory') => (await fs.readdir(dir)).filter((name) => name.startsWith(`mass-ingest-${kind}-`));

describe('mass-ingest process after a processor was killed', () => {
  it('kills the build a SIGKILLed processor left running and removes its credential files and inventory copy', async () => {
    const tmpdir = path.join(tmp.path, 'tmpdir');
    await fs.mkdir(tmpdir);
    const inventory = (row: string) => path.join(tmp.path, `${row}.csv`);
    const lines = (await fs.readFile(fixture.inventory, 'utf8')).split('\n');
    const row = (name: string) => lines.find((line) => line.endsWith(`acme/${name}`));
    await fs.writeFile(inventory('slow'), [lines[0], row('quick'), row('slow'), ...lines.filter((line) => line.includes('acme/waiting-')), ''].join('\n'));
    await fs.writeFile(inventory('quick'), [lines[0], row('quick'), ''].join('\n'));
    const env = (name: string) =>
      baseEnv({ TMPDIR: tmpdir, GIT_CREDENTIALS: 'https://user:killed-secret-1234@git.invalid', MASS_INGEST_WORKDIR: path.join(tmp.path, 'work'), MASS_INGEST_DATA_DIR: path.join(tmp.path, `db-${name}`), PUBLISH_URL: path.join(tmp.path, 'artifacts') });
    // An open range of a run planned over the inventory's sha256 is read from a private copy of it.
    const sha256 = createHash('sha256').update(await fs.readFile(inventory('slow'))).digest('hex');
    const planned = await runCli(['process', inventory('slow'), '--run-id', 'killed', '--inventory-sha256', sha256, '--start', '1', '--end', '1'], { env: env('killed') });
    expect(planned.code, planned.stderr).toBe(0);
    const first = spawnCli(['process', inventory('slow'), '--run-id', 'killed', '--start', '2'], { env: env('killed') });
    const ended = collect(first);
    const buildPid = await waitFor(async () => Number(await fs.readFile(path.join(tmp.path, 'build.pid'), 'utf8').catch(() => '')) || undefined, { what: 'the slow build to start', timeoutMs: 60_000, intervalMs: 100 });
    const left = [...(await tempDirs(tmpdir, 'cred')), ...(await tempDirs(tmpdir, 'inventory'))];

    first.kill('SIGKILL');
    await ended;
    // Any processor started on this machine kills orphaned builds: in a parallel test run, another
    // test's may have done it first (its credential and inventory files are in this TMPDIR only).
    const orphanLeft = await isRunning(buildPid);
    const second = await runCli(['process', inventory('quick'), '--run-id', 'after'], { env: env('after') });

    expect(left).toHaveLength(2);
    expect(second.code, second.stderr).toBe(0);
    const messages = second.logs.map((line) => line.msg);
    if (orphanLeft) expect(messages).toContain('Killed the build processes of a stopped processor');
    expect(second.logs.find((line) => line.msg === 'Removed the credential files of a stopped processor')).toMatchObject({ level: 40, directories: 1 });
    expect(second.logs.find((line) => line.msg === 'Removed the inventory copies of a stopped processor')).toMatchObject({ level: 40, directories: 1 });
    expect(await fs.readdir(tmpdir)).toEqual([]);
    expect(await waitFor(async () => ((await isRunning(buildPid)) ? undefined : true), { what: 'the orphaned build to end', timeoutMs: 10_000, intervalMs: 100 })).toBe(true);
    expect(second.stdout + second.stderr).not.toContain('killed-secret-1234');
  }, 120_000);
});
