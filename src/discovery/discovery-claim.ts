import { readlinkSync } from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortedError, UsageError } from '../errors.js';
import type { Database } from '../results/database.js';
import { isAlive as processAlive } from '../build/process-tree.js';

/**
 * One process per discovery. A running discovery's process refreshes `updated_at` every
 * HEARTBEAT_MS and records itself as `owner` (`host/pid-namespace:pid`, NULL once it stopped).
 * Another `discover` with the same arguments, with or without --resume, refuses to start while
 * that discovery is live: owned, a heartbeat younger than STALE_AFTER_SECONDS, and — in the same
 * pid namespace of the same host — its process alive. Containers of one Batch instance share its
 * hostname (host networking) but not their pids: another namespace is watched like another host.
 * A dead one is resumed (--resume) or dropped (a fresh start). The check and the claim happen
 * under an advisory lock on the arguments' fingerprint: two starting at once cannot both win.
 */
export const HEARTBEAT_MS = 20_000;
export const STALE_AFTER_SECONDS = 120;
/** How often a run on another host is looked at again while discover watches its heartbeat. */
const WATCH_POLL_MS = 5_000;
/** First key of the advisory lock (the second is the fingerprint's hash): "discover". */
const LOCK_CLASS = 0x64697363;

export interface Owner {
  readonly host: string;
  readonly pid: number;
  /** The pid namespace (inode of /proc/self/ns/pid): pids name processes only within it. */
  readonly namespace?: string | undefined;
}

export interface ClaimRequest {
  readonly id: string;
  readonly fingerprint: string;
  readonly args: unknown;
  readonly resume: boolean;
  readonly owner?: Owner;
  readonly isAlive?: (pid: number) => boolean;
  readonly signal?: AbortSignal;
  /** Called once per run on another host that discover watches before deciding. */
  readonly onWatch?: (run: { discoveryId: string; owner: string | null; heartbeatAgeSeconds: number }) => void;
}

export interface Claim {
  readonly id: string;
  readonly resumed: boolean;
  /** Dead discoveries with these arguments that a fresh start dropped. */
  readonly dropped: number;
  readonly owner: string;
}

interface RunningRow {
  id: string;
  owner: string | null;
  created_at: string | Date;
  age: number;
  /** updated_at, in epoch seconds. */
  beat: number;
}

export function currentOwner(): Owner {
  return { host: os.hostname(), pid: process.pid, namespace: pidNamespace() };
}

function pidNamespace(): string | undefined {
  try {
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1];
  } catch {
    return undefined;
  }
}

/** How an owner is recorded: `host/namespace:pid`, or `host:pid` where the namespace is unknown. */
export function ownerText(owner: Owner): string {
  return `${owner.host}${owner.namespace === undefined ? '' : `/${owner.namespace}`}:${owner.pid}`;
}

/** Same host and same pid namespace (both known): there, the process table says whether a pid lives. */
function sameProcessTable(owner: Owner, here: Owner): boolean {
  return owner.host === here.host && owner.namespace !== undefined && owner.namespace === here.namespace;
}

/**
 * On this host the process table tells at once whether the owner lives. A run on another host
 * (a Batch attempt whose instance died, or a colleague's machine) is alive only if its heartbeat
 * moves: discover watches it, at most until it would count as dead, and then takes over.
 */
export async function claimDiscovery(db: Database, request: ClaimRequest): Promise<Claim> {
  const here = request.owner ?? currentOwner();
  const firstBeat = new Map<string, number>();
  for (;;) {
    const attempt = await tryClaim(db, request, here);
    if ('claim' in attempt) return attempt.claim;
    const { live } = attempt;
    const first = firstBeat.get(live.id);
    if (sameProcessTable(parseOwner(live.owner ?? ':'), here) || (first !== undefined && live.beat > first)) throw alreadyRunning(live);
    if (first === undefined) {
      firstBeat.set(live.id, live.beat);
      request.onWatch?.({ discoveryId: live.id, owner: live.owner, heartbeatAgeSeconds: Math.round(live.age) });
    }
    await sleep(Math.max(100, Math.min(WATCH_POLL_MS, (STALE_AFTER_SECONDS - live.age) * 1000 + 500)), undefined, { signal: request.signal }).catch(() => {
      throw new AbortedError();
    });
  }
}

async function tryClaim(db: Database, request: ClaimRequest, here: Owner): Promise<{ claim: Claim } | { live: RunningRow }> {
  return db.session(async (connection) => {
    await connection.query('BEGIN');
    try {
      await connection.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2::text))', [LOCK_CLASS, request.fingerprint]);
      const { rows } = await connection.query<RunningRow>(
        `SELECT id, owner, created_at, EXTRACT(EPOCH FROM now() - updated_at)::float8 AS age, EXTRACT(EPOCH FROM updated_at)::float8 AS beat
         FROM discovery_runs WHERE fingerprint = $1 AND status = 'running' ORDER BY created_at DESC FOR UPDATE`,
        [request.fingerprint],
      );
      const live = rows.find((row) => isLive(row, here, request.isAlive ?? processAlive));
      if (live) {
        await connection.query('ROLLBACK');
        return { live };
      }
      const claim = await claimIn(connection, request, rows, ownerText(here));
      await connection.query('COMMIT');
      return { claim };
    } catch (err) {
      await connection.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}

async function claimIn(connection: Pick<Database, 'query'>, request: ClaimRequest, rows: readonly RunningRow[], owner: string): Promise<Claim> {
  const latest = rows[0];
  if (request.resume && latest) {
    await connection.query('UPDATE discovery_runs SET owner = $2, updated_at = now() WHERE id = $1', [latest.id, owner]);
    return { id: latest.id, resumed: true, dropped: 0, owner };
  }
  await connection.query("DELETE FROM discovery_runs WHERE fingerprint = $1 AND status = 'running'", [request.fingerprint]);
  await connection.query("INSERT INTO discovery_runs (id, fingerprint, arguments, status, owner) VALUES ($1, $2, $3::jsonb, 'running', $4)", [request.id, request.fingerprint, JSON.stringify(request.args), owner]);
  return { id: request.id, resumed: false, dropped: rows.length, owner };
}

/** Live: owned, heartbeat fresh, and not a process of this host and pid namespace that is gone (or this very pid, reused). */
export function isLive(run: { owner: string | null; age: number }, here: Owner, isAlive: (pid: number) => boolean): boolean {
  if (run.owner === null || !(run.age < STALE_AFTER_SECONDS)) return false;
  const owner = parseOwner(run.owner);
  if (!sameProcessTable(owner, here)) return true;
  return owner.pid !== here.pid && isAlive(owner.pid);
}

function parseOwner(owner: string): Owner {
  const colon = owner.lastIndexOf(':');
  const where = owner.slice(0, colon);
  const slash = where.lastIndexOf('/');
  const pid = Number(owner.slice(colon + 1));
  return slash < 0 ? { host: where, pid } : { host: where.slice(0, slash), pid, namespace: where.slice(slash + 1) };
}

function alreadyRunning(run: RunningRow): UsageError {
  const { host, pid } = parseOwner(run.owner ?? ':');
  const started = (run.created_at instanceof Date ? run.created_at : new Date(run.created_at)).toISOString();
  return new UsageError(
    'discover_already_running',
    `Discovery ${run.id} of the same search (the same arguments but --out) is running (process ${pid} on ${host}, started ${started}, last heartbeat ${Math.round(run.age)} s ago): ` +
      `wait for it to finish, or stop it (SIGTERM saves its progress) and rerun this command with --resume to continue it. ` +
      `A discovery whose heartbeat stops for ${STALE_AFTER_SECONDS} s counts as dead and can be resumed from anywhere.`,
  );
}

/** Keeps `updated_at` fresh while the process works (or waits out a rate limit); false once the run is no longer ours. */
export async function heartbeat(db: Database, id: string, owner: string): Promise<boolean> {
  const { rows } = await db.query<{ id: string }>("UPDATE discovery_runs SET updated_at = now() WHERE id = $1 AND owner = $2 AND status = 'running' RETURNING id", [id, owner]);
  return rows.length > 0;
}

/** The process stops (finished, failed, signalled): the discovery is no longer live, --resume may take it at once. */
export async function release(db: Database, id: string, owner: string): Promise<void> {
  await db.query('UPDATE discovery_runs SET owner = NULL WHERE id = $1 AND owner = $2', [id, owner]);
}
