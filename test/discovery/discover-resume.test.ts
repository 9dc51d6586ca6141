import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGithub, type FakeGithub } from '../fakes/github-graphql.js';
import { generatePopulation } from '../fakes/github-population.js';
import { collect, spawnCli } from '../harness/cli.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { waitFor } from '../harness/wait.js';
import { discover, discoverEnv, duplicates, eligible, fetchedPages, readCsv } from './discover-fixtures.js';

const population = generatePopulation({ size: 3000, seed: 41 });
const expected = new Set(eligible(population).map((repo) => repo.nameWithOwner));
const TOKENS = 'resume-a-1212,resume-b-1313';
let fake: FakeGithub;
let postgres: PostgresServer;
let tmp: TempDir;

beforeAll(async () => {
  [fake, postgres, tmp] = await Promise.all([startFakeGithub({ population, tokens: TOKENS.split(','), delayMs: 25 }), startPostgres(), createTempDir('mass-ingest-discover-resume-')]);
});

afterAll(async () => {
  await Promise.all([fake?.stop(), postgres?.stop(), tmp?.remove()]);
});

/** Starts discover, kills it once the fake has seen `answered` more requests, and returns how many it had seen. */
async function killMidway(args: string[], env: Record<string, string>, signal: NodeJS.Signals, answered: number) {
  const child = spawnCli(['discover', ...args], { env, cwd: tmp.path });
  const done = collect(child);
  const from = fake.requests.length;
  await waitFor(async () => (fake.requests.length - from >= answered ? true : undefined), { what: `${answered} requests to GitHub`, timeoutMs: 50_000 });
  child.kill(signal);
  const result = await done;
  return { result, seen: fake.requests.length };
}

describe('mass-ingest discover --resume', () => {
  it('stops on SIGTERM with its answers saved in the embedded database (exit 143), and a resumed run fetches nothing twice', async () => {
    const env = discoverEnv(fake, tmp.path, TOKENS);
    const from = fake.requests.length;

    const { result: stopped } = await killMidway(['--query', '', '--out', 'term.csv'], env, 'SIGTERM', 10);
    const resumed = await discover(['--query', '', '--out', 'term.csv', '--resume'], env, tmp.path);

    expect(stopped.code).toBe(143);
    expect(stopped.logs.some((line) => line.msg === 'Discovery stopped, progress saved: rerun with --resume')).toBe(true);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.logs.find((line) => line.msg === 'Discovery resumed')).toMatchObject({ repositories: expect.any(Number) });
    const rows = await readCsv(path.join(tmp.path, 'term.csv'));
    expect(rows.length).toBe(expected.size);
    expect(new Set(rows.map((row) => row.path))).toEqual(expected);
    expect(duplicates(fetchedPages(fake, from))).toEqual([]);
  });

  it('warns when a rerun without --resume drops saved progress, and when --resume finds nothing to resume', async () => {
    const env = discoverEnv(fake, tmp.path, TOKENS);

    const { result: stopped } = await killMidway(['--query', 'fork:false', '--out', 'warn.csv'], env, 'SIGTERM', 10);
    const fresh = await discover(['--query', 'fork:false', '--out', 'warn.csv'], env, tmp.path);
    const nothing = await discover(['--query', 'fork:false', '--out', 'warn.csv', '--resume'], env, tmp.path);

    expect(stopped.code).toBe(143);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.logs.find((line) => line.level === 40)).toMatchObject({ dropped: 1, msg: expect.stringContaining('add --resume to continue one') });
    expect(nothing.code, nothing.stderr).toBe(0);
    expect(nothing.logs.find((line) => line.level === 40)).toMatchObject({ msg: expect.stringContaining('Nothing to resume') });
  });

  it('after SIGKILL, fetches again only what was in flight or not yet saved when it died (PostgreSQL)', async () => {
    const env = discoverEnv(fake, tmp.path, TOKENS, { DATABASE_URL: postgres.url });
    const from = fake.requests.length;

    const { result: killed, seen } = await killMidway(['--query', 'fork:false', '--out', 'kill.csv'], env, 'SIGKILL', 10);
    const resumed = await discover(['--query', 'fork:false', '--out', 'kill.csv', '--resume'], env, tmp.path);

    expect(killed.signal).toBe('SIGKILL');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(new Set((await readCsv(path.join(tmp.path, 'kill.csv'))).map((row) => row.path))).toEqual(expected);
    // Requests in flight, or answered but not yet saved, when the process died are the last ones it sent.
    const saved = Number(resumed.logs.find((line) => line.msg === 'Discovery resumed')?.requests);
    const lost = seen - from - saved;
    const lastSent = new Set(fetchedPages(fake, seen - lost - 4, seen));
    const again = duplicates(fetchedPages(fake, from));
    expect(lost).toBeLessThan(seen - from);
    expect(again.length).toBeGreaterThan(0);
    expect(again.every((page) => lastSent.has(page))).toBe(true);
  });
});
