import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGithub, type FakeGithub, type FakeGithubOptions } from '../fakes/github-graphql.js';
import { generatePopulation } from '../fakes/github-population.js';
import { selfSignedCertificate } from '../fakes/tls.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { discover, discoverEnv, duplicates, eligible, fetchedPages, readCsv } from './discover-fixtures.js';

const population = generatePopulation({ size: 1500, seed: 51 });
const expected = new Set(eligible(population).map((repo) => repo.nameWithOwner));
let tmp: TempDir;
let fake: FakeGithub | undefined;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-discover-faults-');
});

afterEach(async () => {
  await fake?.stop();
  fake = undefined;
});

afterAll(async () => {
  await tmp?.remove();
});

async function start(options: Omit<FakeGithubOptions, 'population'>): Promise<FakeGithub> {
  fake = await startFakeGithub({ population, ...options });
  return fake;
}

/** Every file under `dir` that holds `secret`, relative to `dir`. */
async function filesHolding(dir: string, secret: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if ((await fs.readFile(file)).includes(secret)) found.push(path.relative(dir, file));
  }
  return found;
}

describe('mass-ingest discover against a misbehaving GitHub', () => {
  it.each([
    ['a proxy’s HTML page with status 200', { status: 200, headers: { 'content-type': 'text/html' }, body: '<html><body>Sign in to the network</body></html>' }],
    ['`data: null` without errors', { status: 200, body: '{"data":null}' }],
  ])('retries an answer that is %s, and still writes every repository', async (_case, answer) => {
    const github = await start({ tokens: ['faults-1111'], override: (n) => (n === 2 ? answer : undefined) });
    const dir = await fs.mkdtemp(path.join(tmp.path, 'retry-'));

    const result = await discover(['--query', '', '--out', 'repos.csv'], discoverEnv(github, dir, 'faults-1111'), dir);

    expect(result.code, result.stderr).toBe(0);
    expect(result.logs.filter((line) => line.msg === 'GitHub request failed, retrying').map((line) => line.detail)).toEqual(['GitHub answered without data']);
    expect(new Set((await readCsv(path.join(dir, 'repos.csv'))).map((row) => row.path))).toEqual(expected);
    expect(duplicates(fetchedPages(github))).toEqual([]);
  });

  it('finishes a search that starts above the highest star count it plans for, after one request', async () => {
    const github = await start({ tokens: ['faults-2222'] });
    const dir = path.join(tmp.path, 'top');
    await fs.mkdir(dir);

    const result = await discover(['--query', 'stars:>1000000000', '--out', 'repos.csv'], discoverEnv(github, dir, 'faults-2222'), dir);

    expect(result.code, result.stderr).toBe(0);
    expect(github.requests.length).toBe(1);
    expect(await readCsv(path.join(dir, 'repos.csv'))).toEqual([]);
  });

  it('exits 2 naming GITHUB_API_URL when nothing answers GraphQL where it points (the GraphQL URL given instead of the API base)', async () => {
    const github = await start({ tokens: ['faults-6666'] });
    const dir = path.join(tmp.path, 'endpoint');
    await fs.mkdir(dir);

    const result = await discover(['--query', '', '--out', 'repos.csv'], discoverEnv(github, dir, 'faults-6666', { GITHUB_API_URL: `${github.url}/graphql` }), dir);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`Nothing answers GitHub GraphQL at ${github.url}/graphql/graphql (404 Not Found): GITHUB_API_URL is the API base, https://api.github.com or https://HOST/api/v3 [github_endpoint_not_found]`);
    expect(github.requests).toHaveLength(1);
  });

  it('exits 2 at once, naming NODE_EXTRA_CA_CERTS, when a GitHub Enterprise Server has a certificate Node does not trust; with its CA given, it finishes', async () => {
    const dir = path.join(tmp.path, 'tls');
    await fs.mkdir(dir);
    const certificate = selfSignedCertificate(dir);
    const github = await start({ tokens: ['faults-7777'], tls: certificate });
    const env = discoverEnv(github, dir, 'faults-7777', { GITHUB_API_URL: `${github.url}/api/v3` });

    const untrusted = await discover(['--query', '', '--out', 'repos.csv'], env, dir);
    const trusted = await discover(['--query', '', '--out', 'repos.csv'], { ...env, NODE_EXTRA_CA_CERTS: certificate.certFile }, dir);

    expect(untrusted.code).toBe(2);
    expect(untrusted.stderr.trim().split('\n').at(-1)).toBe(
      `mass-ingest: GitHub GraphQL at ${github.url}/api/graphql failed TLS verification (DEPTH_ZERO_SELF_SIGNED_CERT): the server's certificate is not trusted; give its CA to Node with NODE_EXTRA_CA_CERTS=/path/ca.pem, or check the host name in GITHUB_API_URL [github_tls]`,
    );
    expect(untrusted.logs.filter((line) => line.msg === 'GitHub request failed, retrying')).toEqual([]);
    expect(trusted.code, trusted.stderr).toBe(0);
    expect(new Set((await readCsv(path.join(dir, 'repos.csv'))).map((row) => row.path))).toEqual(expected);
  });

  it('exits 3 when --out cannot be written at the end, and --resume writes it without asking GitHub again', async () => {
    const dir = path.join(tmp.path, 'late-output');
    const out = path.join(dir, 'out');
    await fs.mkdir(out, { recursive: true });
    const turnIntoFile = (n: number) => {
      if (n !== 2) return;
      fsSync.rmSync(out, { recursive: true });
      fsSync.writeFileSync(out, '');
    };
    const github = await start({ tokens: ['faults-7777'], beforeRequest: turnIntoFile });
    const env = discoverEnv(github, dir, 'faults-7777');

    const failed = await discover(['--query', '', '--out', 'out/repos.csv'], env, dir);
    const asked = github.requests.length;
    await fs.rm(out);
    await fs.mkdir(out);
    const resumed = await discover(['--query', '', '--out', 'out/repos.csv', '--resume'], env, dir);

    expect(failed.code).toBe(3);
    expect(failed.stderr).toMatch(/Could not write --out out\/repos\.csv \(.*\): every repository found is saved; fix the disk or the path, then rerun with --resume \[discover_output_failed\]/);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(github.requests.length).toBe(asked);
    expect(new Set((await readCsv(path.join(out, 'repos.csv'))).map((row) => row.path))).toEqual(expected);
  });

  it('writes no token to its logs (even at trace level), the CSV or the database files, a rejected one included', async () => {
    const github = await start({ tokens: ['secret-good-3333'] });
    const dir = path.join(tmp.path, 'secrets');
    await fs.mkdir(dir);
    const env = discoverEnv(github, dir, 'secret-bad-4444,secret-good-3333', { LOG_LEVEL: 'trace', GITHUB_TOKEN: 'secret-single-5555' });

    const result = await discover(['--query', 'language:Go', '--out', 'repos.csv'], env, dir);

    expect(result.code, result.stderr).toBe(0);
    expect(github.requests.filter((request) => request.outcome === 'unauthorized')).toHaveLength(1);
    expect((await readCsv(path.join(dir, 'repos.csv'))).length).toBeGreaterThan(0);
    for (const token of ['secret-bad-4444', 'secret-good-3333', 'secret-single-5555']) {
      expect(result.stdout).not.toContain(token);
      expect(result.stderr).not.toContain(token);
      expect(await filesHolding(dir, token)).toEqual([]);
    }
  });
});
