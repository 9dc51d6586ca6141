import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimDiscovery, heartbeat, release, type Owner } from '../../src/discovery/discovery-claim.js';
import { openDatabase, type Database } from '../../src/results/database.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

const HERE: Owner = { host: 'host-a', pid: 100, namespace: '4026531836' };
const OTHER_HOST: Owner = { host: 'host-b', pid: 100, namespace: '4026531836' };
const alive = () => true;
const dead = () => false;

describe('claimDiscovery', () => {
  let dir: TempDir;
  let database: Database;
  let sequence = 0;

  beforeAll(async () => {
    dir = await createTempDir('discovery-claim-');
    database = await openDatabase({ databaseUrl: undefined, dataDir: path.join(dir.path, 'db') }, pino({ level: 'silent' }));
  });

  afterAll(async () => {
    await database?.close();
    await dir?.remove();
  });

  /** A discovery started by `owner`, its heartbeat `ageSeconds` old. */
  async function running(owner: Owner, ageSeconds = 0): Promise<{ id: string; fingerprint: string }> {
    sequence += 1;
    const request = { id: `d-${sequence}`, fingerprint: `fp-${sequence}`, args: { orgs: ['acme'] }, resume: false, owner, isAlive: alive };
    const claim = await claimDiscovery(database, request);
    await database.query("UPDATE discovery_runs SET updated_at = now() - make_interval(secs => $2) WHERE id = $1", [claim.id, ageSeconds]);
    return { id: claim.id, fingerprint: request.fingerprint };
  }

  it('refuses a second run on this host while the first one’s process lives, naming it', async () => {
    const first = await running({ ...HERE, pid: 200 });

    const refused = claimDiscovery(database, { id: 'd-second', fingerprint: first.fingerprint, args: {}, resume: true, owner: HERE, isAlive: alive });

    await expect(refused).rejects.toMatchObject({ code: 'discover_already_running', message: expect.stringContaining('process 200 on host-a') });
  });

  it('resumes at once a run of this host whose process is gone; the old process can then neither beat nor release it', async () => {
    const first = await running({ ...HERE, pid: 200 });

    const claim = await claimDiscovery(database, { id: 'd-unused', fingerprint: first.fingerprint, args: {}, resume: true, owner: HERE, isAlive: dead });

    expect(claim).toMatchObject({ id: first.id, resumed: true, owner: 'host-a/4026531836:100' });
    expect(await heartbeat(database, first.id, 'host-a/4026531836:200')).toBe(false);
    await release(database, first.id, 'host-a/4026531836:200');
    expect(await heartbeat(database, first.id, claim.owner)).toBe(true);
  });

  it('replaces a run on another host whose heartbeat went stale, dropping its progress, on a fresh start', async () => {
    const first = await running(OTHER_HOST, 200);

    const claim = await claimDiscovery(database, { id: `d-fresh-${sequence}`, fingerprint: first.fingerprint, args: {}, resume: false, owner: HERE, isAlive: alive });

    expect(claim).toMatchObject({ resumed: false, dropped: 1 });
    const { rows } = await database.query<{ id: string }>('SELECT id FROM discovery_runs WHERE fingerprint = $1', [first.fingerprint]);
    expect(rows.map((row) => row.id)).toEqual([claim.id]);
  });

  it('watches a run on another host and refuses once its heartbeat moves', async () => {
    const first = await running(OTHER_HOST, 10);
    const watched: unknown[] = [];

    const claiming = claimDiscovery(database, { id: 'd-watcher', fingerprint: first.fingerprint, args: {}, resume: true, owner: HERE, isAlive: alive, onWatch: (run) => void watched.push(run) });
    await expect.poll(() => watched.length).toBe(1);
    expect(await heartbeat(database, first.id, 'host-b/4026531836:100')).toBe(true);

    await expect(claiming).rejects.toMatchObject({ code: 'discover_already_running' });
    expect(watched).toEqual([{ discoveryId: first.id, owner: 'host-b/4026531836:100', heartbeatAgeSeconds: 10 }]);
  });

  it('stops watching when the run is stopped', async () => {
    const first = await running(OTHER_HOST, 10);
    const stop = new AbortController();

    const claiming = claimDiscovery(database, { id: 'd-stopped', fingerprint: first.fingerprint, args: {}, resume: true, owner: HERE, isAlive: alive, signal: stop.signal, onWatch: () => stop.abort() });

    await expect(claiming).rejects.toMatchObject({ code: 'aborted' });
  });

  it('lets a released run be resumed from another host at once, its heartbeat fresh or not', async () => {
    const first = await running(OTHER_HOST);
    await release(database, first.id, 'host-b/4026531836:100');

    const claim = await claimDiscovery(database, { id: 'd-unused', fingerprint: first.fingerprint, args: {}, resume: true, owner: HERE, isAlive: alive });

    expect(claim).toMatchObject({ id: first.id, resumed: true });
  });
});
