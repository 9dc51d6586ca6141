import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli } from '../harness/cli.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { makeFixture, openForAssertions, resultRows, type Fixture } from './process-fixtures.js';

// Builds that misbehave: what they leave running, what they name their files. Each repository
// still ends in its outcome, and the processor goes on.

let tmp: TempDir;
let fixture: Fixture;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-hostile-builds-');
  fixture = await makeFixture(tmp.path, [
    [
      'acme/daemons',
      {
        Makefile: [
          'all:',
          `\tsleep 1000 & echo $$! > ${tmp.path}/background.pid`,
          `\tsetsid sh -c 'echo $$$$ > ${tmp.path}/session.pid; exec sleep 1000' &`,
          `\tfor i in $$(seq 1 200); do test -s ${tmp.path}/session.pid && break; sleep 0.05; done`,
          '\tmkdir -p dist && echo built > dist/daemons.txt',
          '',
        ].join('\n'),
      },
    ],
    ['acme/names', { Makefile: "all:\n\tmkdir -p dist\n\techo ok > dist/ok.txt\n\techo bad > \"dist/$$(printf 'bad\\377name').txt\"\n" }],
  ]);
});

afterAll(async () => {
  await tmp.remove();
});

async function isRunning(pid: number): Promise<boolean> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== '' && state !== 'Z' && state !== 'X';
}

describe('mass-ingest process with builds that misbehave', () => {
  it('publishes a build that left processes running once its shell exits, and kills them, even one in a session of its own', async () => {
    const env = baseEnv({ MASS_INGEST_DATA_DIR: path.join(tmp.path, 'db'), PUBLISH_URL: path.join(tmp.path, 'artifacts'), MASS_INGEST_WORKDIR: path.join(tmp.path, 'work'), BUILD_TIMEOUT: '900' });

    const result = await runCli(['process', fixture.inventory, '--run-id', 'hostile'], { env });

    const db = await openForAssertions({ dataDir: path.join(tmp.path, 'db') });
    const rows = await resultRows(db, 'hostile').finally(() => db.close());
    const pids = await Promise.all(['background.pid', 'session.pid'].map(async (name) => Number(await fs.readFile(path.join(tmp.path, name), 'utf8'))));
    const running = await Promise.all(pids.map(isRunning));
    expect(result.code).toBe(0);
    expect(rows.map((row) => [row.path, row.outcome, row.error_code])).toEqual([
      ['acme/daemons', 'published', null],
      ['acme/names', 'published', null],
    ]);
    expect(running).toEqual([false, false]);
    const published = await fs.readdir(path.join(tmp.path, 'artifacts', 'local.test', 'acme', 'names', fixture.repos['acme/names']!.headSha));
    expect(published.sort()).toEqual(['build.log', 'manifest.json', 'ok.txt']);
    await expect(fs.readdir(path.join(tmp.path, 'work'))).resolves.toEqual([]);
  }, 120_000);
});
