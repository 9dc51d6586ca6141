import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGithub, type FakeGithub } from '../fakes/github-graphql.js';
import { generatePopulation } from '../fakes/github-population.js';
import { CLI, collect, spawnCli, type CliResult } from '../harness/cli.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { waitFor } from '../harness/wait.js';
import { discover, discoverEnv, eligible, readCsv, withDatabase } from './discover-fixtures.js';

const population = generatePopulation({ size: 2500, seed: 61 });
const expected = new Set(eligible(population).map((repo) => repo.nameWithOwner));
const TOKENS = 'together-a-1414,together-b-1515';
/** This process's pid namespace, as discover records it beside the host: `host/namespace:pid`. */
const NAMESPACE = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1];
/** Root with util-linux: a discover can be started in a pid namespace of its own, as in a container. */
const CAN_UNSHARE = process.getuid?.() === 0 && spawnSync('unshare', ['-pf', '--mount-proc', 'true']).status === 0;
let fake: FakeGithub;
let postgres: PostgresServer;
let tmp: TempDir;
let env: Record<string, string>;

beforeAll(async () => {
  [fake, postgres, tmp] = await Promise.all([startFakeGithub({ population, tokens: TOKENS.split(',') }), startPostgres(), createTempDir('mass-ingest-discover-concurrency-')]);
  env = discoverEnv(fake, tmp.path, TOKENS, { DATABASE_URL: postgres.url });
});

afterAll(async () => {
  await Promise.all([fake?.stop(), postgres?.stop(), tmp?.remove()]);
});

interface RunRow {
  id: string;
  status: string;
  owner: string | null;
  requests: number;
}

function runs(query: string): Promise<RunRow[]> {
  return withDatabase(tmp.path, async (db) => (await db.query<RunRow>("SELECT id, status, owner, requests FROM discovery_runs WHERE arguments->>'query' = $1 ORDER BY created_at", [query])).rows, postgres.url);
}

function count(sql: string, params: unknown[]): Promise<number> {
  return withDatabase(tmp.path, async (db) => (await db.query<{ n: number }>(sql, params)).rows[0]?.n ?? -1, postgres.url);
}

/** Starts discover (slowed down by the fake), waits until it has saved 3 answers, then slows GitHub to `holdMs` a request. */
async function startSlow(args: string[], holdMs = 120): Promise<{ child: ChildProcess; done: Promise<CliResult>; run: RunRow }> {
  fake.setDelay(120);
  const child = spawnCli(['discover', ...args], { env, cwd: tmp.path });
  const done = collect(child);
  const query = args[args.indexOf('--query') + 1] as string;
  const run = await waitFor(async () => (await runs(query)).find((row) => row.status === 'running' && row.owner !== null && row.requests >= 3), { what: 'the first discover to save 3 answers', timeoutMs: 60_000 });
  fake.setDelay(holdMs);
  return { child, done, run };
}

describe('mass-ingest discover run twice at once on one PostgreSQL', () => {
  it('refuses a second run with the same arguments (with or without --resume) while the first runs, and the first finishes untouched', async () => {
    const args = ['--query', 'fork:false', '--out', 'shared.csv'];
    const first = await startSlow(args, 3000);

    const second = await discover(args, env, tmp.path);
    const resumed = await discover([...args, '--resume'], env, tmp.path);
    const during = await runs('fork:false');
    fake.setDelay(0);
    const finished = await first.done;

    for (const refused of [second, resumed]) {
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`Discovery ${first.run.id} of the same search (the same arguments but --out) is running (process ${first.child.pid} on ${os.hostname()}, started `);
      expect(refused.stderr).toContain('wait for it to finish, or stop it (SIGTERM saves its progress) and rerun this command with --resume to continue it');
      expect(refused.logs.some((line) => line.msg === 'Discovery started' || line.msg === 'Discovery resumed')).toBe(false);
    }
    expect(during).toEqual([{ id: first.run.id, status: 'running', owner: `${os.hostname()}/${NAMESPACE}:${first.child.pid}`, requests: expect.any(Number) }]);
    expect(finished.code, finished.stderr).toBe(0);
    expect(new Set((await readCsv(path.join(tmp.path, 'shared.csv'))).map((row) => row.path))).toEqual(expected);
    expect(await runs('fork:false')).toEqual([{ id: first.run.id, status: 'finished', owner: null, requests: expect.any(Number) }]);
    expect(await count('SELECT count(*)::int AS n FROM discovery_items WHERE discovery_id = $1', [first.run.id])).toBe(0);
  });

  it('of two runs started at the same moment, lets exactly one work and refuses the other', async () => {
    const args = ['--query', 'is:public', '--out', 'twins.csv'];
    fake.setDelay(3000);
    const [one, two] = [spawnCli(['discover', ...args], { env, cwd: tmp.path }), spawnCli(['discover', ...args], { env, cwd: tmp.path })];
    const [oneDone, twoDone] = [collect(one), collect(two)];

    const { result: loser, other } = await Promise.race([oneDone.then((result) => ({ result, other: twoDone })), twoDone.then((result) => ({ result, other: oneDone }))]);
    fake.setDelay(0);
    const winner = await other;

    expect(loser.code).toBe(2);
    expect(loser.stderr).toContain('of the same search (the same arguments but --out) is running');
    expect(winner.code, winner.stderr).toBe(0);
    expect(new Set((await readCsv(path.join(tmp.path, 'twins.csv'))).map((row) => row.path))).toEqual(expected);
    expect(await runs('is:public')).toEqual([{ id: expect.any(String), status: 'finished', owner: null, requests: expect.any(Number) }]);
  });

  // Containers of one Batch instance (host networking) share its hostname, not their pids: both discovers are pid 1.
  it.skipIf(!CAN_UNSHARE)('refuses a second run in another container of the same host (another pid namespace, the same pid) while the first runs', async () => {
    const args = ['--query', 'fork:false is:public', '--out', 'containers.csv'];
    const inContainer = (extra: string[] = []) => spawn('unshare', ['-pf', '--mount-proc', process.execPath, CLI, 'discover', ...args, ...extra], { env, cwd: tmp.path, stdio: ['ignore', 'pipe', 'pipe'] });
    fake.setDelay(120);
    const first = inContainer();
    const firstDone = collect(first);
    const run = await waitFor(async () => (await runs('fork:false is:public')).find((row) => row.status === 'running' && row.owner !== null && row.requests >= 3), { what: 'the first discover to save 3 answers', timeoutMs: 60_000 });
    // The second watches the first's heartbeat (every 20 s) before it decides: the first must outlast that.
    fake.setDelay(4000);

    const second = await collect(inContainer(['--resume']));
    fake.setDelay(0);
    const finished = await firstDone;

    expect(run.owner).toMatch(new RegExp(`^${os.hostname()}/\\d+:1$`));
    expect(second.code, second.stderr).toBe(2);
    expect(second.stderr).toContain(`Discovery ${run.id} of the same search (the same arguments but --out) is running (process 1 on ${os.hostname()}, started `);
    expect(finished.code, finished.stderr).toBe(0);
    expect(await runs('fork:false is:public')).toEqual([{ id: run.id, status: 'finished', owner: null, requests: expect.any(Number) }]);
  });

  it('lets --resume take over at once from a run killed with SIGKILL on this host', async () => {
    const args = ['--query', 'stars:>=0', '--out', 'killed.csv'];
    const first = await startSlow(args);
    first.child.kill('SIGKILL');
    const killed = await first.done;
    fake.setDelay(0);

    const resumed = await discover([...args, '--resume'], env, tmp.path);

    expect(killed.signal).toBe('SIGKILL');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.logs.find((line) => line.msg === 'Discovery resumed')).toMatchObject({ discoveryId: first.run.id });
    expect(new Set((await readCsv(path.join(tmp.path, 'killed.csv'))).map((row) => row.path))).toEqual(expected);
    expect(await runs('stars:>=0')).toEqual([{ id: first.run.id, status: 'finished', owner: null, requests: expect.any(Number) }]);
  });

  /** A discover killed midway, then made to look like one running on another host whose last heartbeat was `age` ago. */
  async function elsewhere(args: string[]) {
    const first = await startSlow(args);
    first.child.kill('SIGKILL');
    await first.done;
    fake.setDelay(0);
    const pretend = (age: string) => withDatabase(tmp.path, (db) => db.query("UPDATE discovery_runs SET owner = 'batch-host-7:4242', updated_at = now() - $2::interval WHERE id = $1", [first.run.id, age]), postgres.url);
    return { id: first.run.id, pretend };
  }

  it('refuses while a run on another host keeps its heartbeat, and replaces it once its heartbeat is stale', async () => {
    const args = ['--query', 'archived:false', '--out', 'elsewhere.csv'];
    const { id, pretend } = await elsewhere(args);
    await pretend('0 seconds');
    const beating = setInterval(() => void pretend('0 seconds'), 1000);

    const alive = await discover(args, env, tmp.path).finally(() => clearInterval(beating));
    await pretend('3 minutes');
    const stale = await discover(args, env, tmp.path);

    expect(alive.code).toBe(2);
    expect(alive.stderr).toContain(`Discovery ${id} of the same search (the same arguments but --out) is running (process 4242 on batch-host-7`);
    expect(alive.logs.filter((line) => line.msg === 'A discovery with these arguments ran on another host: watching its heartbeat before taking over')).toEqual([expect.objectContaining({ discoveryId: id, owner: 'batch-host-7:4242' })]);
    expect(stale.code, stale.stderr).toBe(0);
    expect(stale.logs.find((line) => line.level === 40)).toMatchObject({ dropped: 1, msg: expect.stringContaining('add --resume to continue one') });
    expect(await runs('archived:false')).toEqual([{ id: expect.not.stringMatching(id), status: 'finished', owner: null, requests: expect.any(Number) }]);
    expect(new Set((await readCsv(path.join(tmp.path, 'elsewhere.csv'))).map((row) => row.path))).toEqual(expected);
  });

  it('with --resume, takes over a run on another host whose heartbeat stops moving until it goes stale (a Batch attempt whose instance died)', async () => {
    const args = ['--query', 'archived:false is:public', '--out', 'instance-died.csv'];
    const { id, pretend } = await elsewhere(args);
    await pretend('117 seconds');

    const resumed = await discover([...args, '--resume'], env, tmp.path);

    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.logs.filter((line) => line.msg === 'A discovery with these arguments ran on another host: watching its heartbeat before taking over')).toEqual([expect.objectContaining({ discoveryId: id, owner: 'batch-host-7:4242', heartbeatAgeSeconds: expect.any(Number) })]);
    expect(resumed.logs.find((line) => line.msg === 'Discovery resumed')).toMatchObject({ discoveryId: id });
    expect(await runs('archived:false is:public')).toEqual([{ id, status: 'finished', owner: null, requests: expect.any(Number) }]);
    expect(new Set((await readCsv(path.join(tmp.path, 'instance-died.csv'))).map((row) => row.path))).toEqual(expected);
  });
});

describe('mass-ingest discover’s heartbeat and take-over', () => {
  it('stops without writing when another process took its discovery over after its heartbeat went stale', async () => {
    const args = ['--query', 'is:public fork:false', '--out', 'taken.csv'];
    const first = await startSlow(args, 1500);
    await withDatabase(tmp.path, (db) => db.query("UPDATE discovery_runs SET owner = 'batch-host-8:99', updated_at = now() - interval '3 minutes' WHERE id = $1", [first.run.id]), postgres.url);

    const second = spawnCli(['discover', ...args, '--resume'], { env, cwd: tmp.path });
    const secondDone = collect(second);
    const stopped = await first.done;
    fake.setDelay(0);
    const took = await secondDone;

    expect(stopped.code).toBe(2);
    expect(stopped.stderr).toContain(`Discovery ${first.run.id} is no longer this process's: its heartbeat stopped long enough for another discover to resume or replace it, which carries on; this one stops without writing [discover_taken_over]`);
    expect(took.code, took.stderr).toBe(0);
    expect(took.logs.find((line) => line.msg === 'Discovery resumed')).toMatchObject({ discoveryId: first.run.id });
    expect(new Set((await readCsv(path.join(tmp.path, 'taken.csv'))).map((row) => row.path))).toEqual(expected);
    expect(await runs('is:public fork:false')).toEqual([{ id: first.run.id, status: 'finished', owner: null, requests: expect.any(Number) }]);
  });

  it('keeps its heartbeat going while it waits for a rate limit to reset, when no answer is saved', async () => {
    const waiting = await startFakeGithub({ population, tokens: ['heartbeat-1616'], points: 3, windowMs: 600_000 });
    const dir = path.join(tmp.path, 'heartbeat');
    await fs.mkdir(dir);
    const child = spawnCli(['discover', '--query', '', '--out', 'repos.csv'], { env: discoverEnv(waiting, dir, 'heartbeat-1616', { DATABASE_URL: postgres.url }), cwd: dir });
    const done = collect(child);
    const beat = () => withDatabase(tmp.path, async (db) => (await db.query<{ requests: number; at: number }>("SELECT requests, extract(epoch FROM updated_at)::float8 AS at FROM discovery_runs WHERE arguments->>'query' = '' AND status = 'running'")).rows[0], postgres.url);

    // 3 points: the third answer leaves none, and the token rests until its reset, 10 minutes away.
    const before = await waitFor(async () => ((await beat())?.requests === 3 ? beat() : undefined), { what: 'discover to spend its 3 points', timeoutMs: 30_000 });
    const after = await waitFor(async () => {
      const now = await beat();
      return now && now.at > (before?.at ?? 0) ? now : undefined;
    }, { what: 'a heartbeat while waiting', timeoutMs: 40_000 });
    child.kill('SIGTERM');
    const result = await done.finally(() => waiting.stop());

    expect(after.requests).toBe(3);
    expect(waiting.requests).toHaveLength(3);
    expect(result.code).toBe(143);
    expect(result.logs.some((line) => line.msg === 'Discovery heartbeat failed' || line.msg === 'Discovery taken over by another process')).toBe(false);
  }, 90_000);
});

describe('mass-ingest discover and temporary CSV files left behind', () => {
  it('removes the temporary CSV of a dead process beside --out, and keeps a live process’s and any other file', async () => {
    const dir = path.join(tmp.path, 'leftovers');
    await fs.mkdir(dir);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const living = spawn('sleep', ['120'], { stdio: 'ignore' });
    const names = { dead: `.repos.csv.${dead}.0a1b2c3d.tmp`, live: `.repos.csv.${living.pid}.0a1b2c3d.tmp`, other: '.repos.csv.notes.tmp', otherOut: `.other.csv.${dead}.0a1b2c3d.tmp` };
    for (const name of Object.values(names)) await fs.writeFile(path.join(dir, name), 'cloneUrl,branch\n');

    const result = await discover(['--query', 'language:Go', '--out', 'repos.csv'], env, dir).finally(() => living.kill('SIGKILL'));

    expect(result.code, result.stderr).toBe(0);
    expect((await fs.readdir(dir)).sort()).toEqual([names.live, names.other, names.otherOut, 'repos.csv'].sort());
    expect(result.logs.filter((line) => line.msg === 'Removed a temporary CSV left by a process that is gone')).toEqual([expect.objectContaining({ level: 40, pid: dead, file: path.join(dir, names.dead) })]);
    expect((await readCsv(path.join(dir, 'repos.csv'))).length).toBe(eligible(population, (repo) => repo.language === 'Go').length);
  });
});
