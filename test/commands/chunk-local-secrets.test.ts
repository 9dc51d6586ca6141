import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, CLI, collect, killedWithTheTests } from '../harness/cli.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { waitFor } from '../harness/wait.js';
import { makeFixture, openForAssertions, resultRows } from './process-fixtures.js';

/**
 * `chunk --local` with a pre-signed inventory URL: the signature is a secret, and the argv of every
 * process is readable by every user of the machine (/proc/<pid>/cmdline, `ps`). The children get
 * the URL in their environment (MASS_INGEST_INVENTORY), which only their own user can read, and
 * which git and the builds never inherit.
 */
const SIGNATURE = 'f00dfeed0123456789abcdef0123456789abcdef0123456789abcdef01234567';
const CREDENTIAL = 'AKIAEXAMPLESECRET42';

let tmp: TempDir;
let server: Server;
let served = '';
const requests: string[] = [];

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-chunk-secrets-');
  // A pre-signed URL's server: the query must be the signed one, as S3 would insist.
  server = createServer((request, response) => {
    requests.push(request.url ?? '');
    const ok = new URL(request.url ?? '/', 'http://x').searchParams.get('X-Amz-Signature') === SIGNATURE;
    response.writeHead(ok ? 200 : 403, { 'content-type': 'text/csv' }).end(ok ? served : 'SignatureDoesNotMatch');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await tmp?.remove();
});

/** Every process whose command line this user can read: pid and argv (NUL-separated in /proc). */
async function commandLines(): Promise<Array<{ pid: number; argv: string[] }>> {
  const found = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const text = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (text) found.push({ pid: Number(entry), argv: text.split('\0').filter(Boolean) });
  }
  return found;
}

describe('mass-ingest chunk --local with a pre-signed inventory URL', () => {
  it('never puts the URL in the argv of the partition processes it spawns, nor in the builds\' environment, logs or database', async () => {
    const root = tmp.path;
    const release = path.join(root, 'release');
    // Each build records its environment, then waits until the test has read every command line.
    const waiting = (name: string) => ({
      Makefile: `all:\n\tenv > ${path.join(root, `env-${name}`)}\n\twhile [ ! -f ${release} ]; do sleep 0.1; done\n\tmkdir -p dist\n\techo built > dist/out.txt\n`,
    });
    const fixture = await makeFixture(root, [['acme/one', waiting('one')], ['acme/two', waiting('two')], ['acme/three', waiting('three')]]);
    served = await fs.readFile(fixture.inventory, 'utf8');
    const { port } = server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}/inventories/repos.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${CREDENTIAL}%2F20261127%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=${SIGNATURE}`;
    const env = baseEnv({ MASS_INGEST_DATA_DIR: path.join(root, 'db'), PUBLISH_URL: path.join(root, 'artifacts'), MASS_INGEST_WORKDIR: path.join(root, 'work') });
    // The user hands the chunk job the URL through the environment too: its own argv stays clean.
    const chunk = killedWithTheTests(spawn(process.execPath, [CLI, 'chunk', '--local', '--partition-size', '1', '--parallel', '3', '--run-id', 'signed1'], { env: { ...env, MASS_INGEST_INVENTORY: url }, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] }));
    const done = collect(chunk);
    await waitFor(async () => ((await Promise.all(['one', 'two', 'three'].map((name) => fs.access(path.join(root, `env-${name}`)).then(() => true, () => false)))).every(Boolean) ? true : undefined), {
      what: 'the three builds to start',
      timeoutMs: 60_000,
    });

    const running = await commandLines();
    await fs.writeFile(release, '');
    const result = await done;

    const partitions = running.filter(({ argv }) => argv.includes(CLI) && argv.includes('process') && argv.includes('signed1'));
    expect(partitions.map(({ argv }) => argv.slice(2, 4))).toEqual([
      ['process', '--partition-size'],
      ['process', '--partition-size'],
      ['process', '--partition-size'],
    ]);
    expect(running.filter(({ argv }) => argv.join(' ').includes(SIGNATURE) || argv.join(' ').includes(CREDENTIAL))).toEqual([]);
    for (const name of ['one', 'two', 'three']) {
      const buildEnv = await fs.readFile(path.join(root, `env-${name}`), 'utf8');
      expect(buildEnv).not.toContain(SIGNATURE);
      expect(buildEnv).not.toContain('MASS_INGEST_INVENTORY');
    }
    // A partition that failed says why here (stderr, and each attempt's exit code).
    expect([result.code, result.stderr.split('\n').filter((line) => line.startsWith('mass-ingest:'))]).toEqual([0, []]);
    expect(result.logs.filter((line) => line.msg === 'Partition process exited').map((line) => line.exitCode)).toEqual([0, 0, 0]);
    expect(`${result.stdout}${result.stderr}`).not.toContain(SIGNATURE);
    expect(result.logs.filter((line) => line.msg === 'Inventory checked against the run').map((line) => line.proof)).toEqual(['sha256', 'sha256', 'sha256']);
    expect(requests.every((request) => request.includes(SIGNATURE))).toBe(true);
    const db = await openForAssertions({ dataDir: path.join(root, 'db') });
    try {
      expect((await resultRows(db, 'signed1')).map((row) => [row.row_number, row.outcome])).toEqual([[1, 'published'], [2, 'published'], [3, 'published']]);
      const { rows } = await db.query<{ inventory_uri: string }>("SELECT inventory_uri FROM ingest_runs WHERE id = 'signed1'");
      expect(rows[0]?.inventory_uri).toContain('X-Amz-Signature=***');
      expect(rows[0]?.inventory_uri).not.toContain(SIGNATURE);
    } finally {
      await db.close();
    }
  });
});
