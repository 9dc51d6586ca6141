import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, collect, runCli, spawnCli } from '../harness/cli.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { waitFor } from '../harness/wait.js';
import { makeFixture, openForAssertions, resultRows, type Fixture } from './process-fixtures.js';

let tmp: TempDir;
let fixture: Fixture;
let env: Record<string, string>;

const slowBuild = (marker: string) => ({ Makefile: `all:\n\ttouch ${marker}\n\tsleep 37\n` });

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-signals-');
  fixture = await makeFixture(tmp.path, [
    ['acme/slow-a', slowBuild(path.join(tmp.path, 'started-a'))],
    ['acme/slow-b', slowBuild(path.join(tmp.path, 'started-b'))],
    ['acme/slow-c', slowBuild(path.join(tmp.path, 'started-c'))],
  ]);
  env = baseEnv({ MASS_INGEST_DATA_DIR: path.join(tmp.path, 'db'), PUBLISH_URL: path.join(tmp.path, 'artifacts'), MASS_INGEST_WORKDIR: path.join(tmp.path, 'work') });
});

afterAll(async () => {
  await tmp.remove();
});

function sleepers(): string {
  try {
    return execFileSync('pgrep', ['-f', 'sleep 37'], { encoding: 'utf8' });
  } catch {
    return '';
  }
}

describe('mass-ingest process and termination signals', () => {
  it('refuses a second process on the same embedded database, then on SIGTERM kills the build, records every row aborted and exits 143', async () => {
    // --concurrency 1 clones one repository ahead (--clone-ahead defaults to --concurrency): row 2
    // is cloned and waiting for the build slot when the signal comes, row 3 has not started.
    const child = spawnCli(['process', fixture.inventory, '--run-id', 'term', '--concurrency', '1'], { env });
    const done = collect(child);
    await waitFor(async () => (await fs.access(path.join(tmp.path, 'started-a')).then(() => true, () => undefined)), { what: 'the first build to start', timeoutMs: 30_000 });

    const second = await runCli(['process', fixture.inventory, '--run-id', 'other'], { env });
    // A new local run (generated run id) starts cloning while its database opens: not when refused.
    const third = await runCli(['process', fixture.inventory, '--force'], { env });
    child.kill('SIGTERM');
    const result = await done;

    expect(second.code).toBe(2);
    expect(second.stderr).toContain('The embedded database is in use by process');
    expect(third.code).toBe(2);
    expect(third.stderr).toContain('The embedded database is in use by process');
    expect(third.stdout).not.toContain('Repository finished');
    expect(result.code).toBe(143);
    expect(sleepers()).toBe('');
    const db = await openForAssertions({ dataDir: path.join(tmp.path, 'db') });
    try {
      expect((await resultRows(db, 'term')).map((r) => [r.row_number, r.outcome, r.error_code])).toEqual([
        [1, 'aborted', 'aborted'],
        [2, 'aborted', 'aborted'],
        [3, 'aborted', 'not_started'],
      ]);
      expect((await db.query("SELECT status FROM run_partitions WHERE run_id = 'term'")).rows).toEqual([{ status: 'failed' }]);
    } finally {
      await db.close();
    }
    await expect(fs.access(path.join(tmp.path, 'started-b'))).rejects.toThrow();
  });
});
