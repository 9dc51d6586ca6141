import { cpSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { InfrastructureError, UsageError, isDiskFull } from '../errors.js';
import { acquireDirectoryLock, assertUnlocked } from './directory-lock.js';

/**
 * shared_buffers of 16 MB keeps a local run's peak RSS near 200 MiB instead of 300+ (bench/db-startup).
 * wal_buffers defaults to 1/32 of that, 512 kB: in single-user mode there is no WAL writer, so a
 * full buffer is written out by the statement itself, 8 kB at a time (~10,000 writes through
 * PGlite's file system for 100,000 recorded outcomes, ~77 MB of WAL). 8 MB cuts them to ~400
 * larger ones; what reaches the files is the same, so a crash loses nothing more (bench/recording).
 */
export const PGLITE_START_PARAMS = [
  '--single', '-F', '-O', '-j',
  '-c', 'search_path=public', '-c', 'exit_on_error=false', '-c', 'log_checkpoints=false',
  '-c', 'max_worker_processes=0', '-c', 'max_parallel_workers=0', '-c', 'max_parallel_workers_per_gather=0',
  '-c', 'io_method=sync', '-c', 'max_parallel_maintenance_workers=0',
  '-c', 'shared_buffers=16MB', '-c', 'wal_buffers=8MB',
];

/**
 * PostgreSQL keeps data files open, up to max_files_per_process (1000). In PGlite each is a
 * descriptor of the process that hosts it, which PostgreSQL cannot count (its probe, dup(), runs
 * on the WebAssembly file system): under a lower `ulimit -n` the files took every descriptor left,
 * and the embedded database's host then dropped each connection it could not accept (libuv
 * accepts and closes it), which the processor saw as `Connection terminated unexpectedly` and
 * recorded as `crashed` rows. The files get half the limit (PostgreSQL takes no fewer than 64);
 * the rest is node's own and the connections'.
 */
export function fileCacheParams(fileLimit: number | undefined): string[] {
  if (fileLimit === undefined) return [];
  return ['-c', `max_files_per_process=${Math.min(1000, Math.max(64, Math.floor(fileLimit / 2)))}`];
}

export interface OpenedPglite {
  readonly db: PGlite;
  /** the directory had no database: it was seeded from the build's template (or initdb'd). */
  readonly fresh: boolean;
  /** PGlite.create's own time. */
  readonly createMs: number;
  close(): Promise<void>;
}

/**
 * Opens the embedded database in this process: takes the directory lock (one process per
 * directory), seeds a fresh directory from the pre-migrated template, starts PGlite. `fileLimit`:
 * the process's `ulimit -n`, which the database's open files must leave room in.
 */
export async function openPglite(dataDir: string, options: { fileLimit?: number | undefined } = {}): Promise<OpenedPglite> {
  await fs.mkdir(path.dirname(dataDir), { recursive: true });
  const lock = await acquireDirectoryLock(lockPathOf(dataDir));
  try {
    const fresh = !(await exists(path.join(dataDir, 'PG_VERSION')));
    if (fresh) {
      await assertNewDirectory(dataDir);
      await seedFromTemplate(dataDir);
    }
    // The template's files are 0666: only this user may reach them (a build run as BUILD_USER
    // could otherwise rewrite the results).
    await fs.chmod(dataDir, 0o700).catch(() => undefined);
    const { PGlite } = await import('@electric-sql/pglite');
    const started = Date.now();
    const db = await PGlite.create(dataDir, { startParams: [...PGLITE_START_PARAMS, ...fileCacheParams(options.fileLimit)], relaxedDurability: false });
    return {
      db,
      fresh,
      createMs: Date.now() - started,
      close: async () => {
        try {
          await db.close();
        } finally {
          await lock.release();
        }
      },
    };
  } catch (err) {
    await lock.release();
    throw await explainFullDisk(dataDir, err);
  }
}

/** PostgreSQL's write-ahead log grows by segments of this size: starting makes one. */
const WAL_SEGMENT_BYTES = 16 * 1024 * 1024;

/**
 * PGlite that cannot start says only "failed to initialize properly". On a file system with less
 * room than one WAL segment (a run that filled it, even once space was freed short of that), that
 * is why: said, with what to do. Any other failure passes as it is.
 */
async function explainFullDisk(dataDir: string, err: unknown): Promise<unknown> {
  const stats = await fs.statfs(path.dirname(dataDir)).catch(() => undefined);
  const free = stats ? stats.bavail * stats.bsize : undefined;
  if (!isDiskFull(err) && (free === undefined || free >= WAL_SEGMENT_BYTES)) return err;
  const room = free === undefined ? 'is full' : `has ${(free / 1024 / 1024).toFixed(1)} MiB free`;
  return new InfrastructureError(
    'db_disk_full',
    `The embedded database in ${dataDir} cannot start: its file system ${room}, and PostgreSQL needs ${WAL_SEGMENT_BYTES / 1024 / 1024} MiB or more for its write-ahead log; free space there (MASS_INGEST_DATA_DIR), then run again. What was recorded is kept.`,
    err,
  );
}

/** Fails (db_locked) when another live process has the directory open; a quick look, not a claim. */
export function assertEmbeddedUnlocked(dataDir: string): Promise<void> {
  return assertUnlocked(lockPathOf(dataDir));
}

const lockPathOf = (dataDir: string) => `${dataDir}.lock`;

/**
 * A fresh PGlite directory costs ~8 s and ~850 MiB to initdb; copying the directory made at
 * build time (scripts/pglite-template.js) costs a fraction of that. Without a template PGlite
 * runs initdb itself.
 */
async function seedFromTemplate(dataDir: string): Promise<void> {
  const candidates = ['../pglite-template', '../../dist/pglite-template'].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  const template = (await Promise.all(candidates.map(async (dir) => ((await exists(path.join(dir, 'PG_VERSION'))) ? dir : undefined)))).find(Boolean);
  if (!template) return;
  // Copied beside it, then renamed into place (over an empty directory too): a copy cut short
  // (kill -9) leaves only `<dir>.seeding`, ours to replace under the lock, never a half database.
  const seeding = `${dataDir}.seeding`;
  await fs.rm(seeding, { recursive: true, force: true });
  // cpSync copies the ~400 small files about 1.6x faster than the promise-based cp.
  cpSync(template, seeding, { recursive: true });
  await fs.rename(seeding, dataDir);
}

/**
 * A directory without a database becomes one only when it is new or empty: anything else named by
 * MASS_INGEST_DATA_DIR (a project directory, /data, a file) is the user's, and is left as it is.
 */
async function assertNewDirectory(dataDir: string): Promise<void> {
  const stat = await fs.lstat(dataDir).catch(() => undefined);
  if (!stat) return;
  const entries = stat.isDirectory() ? await fs.readdir(dataDir) : undefined;
  if (entries?.length === 0) return;
  const what = entries ? `a directory holding ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} but no database (no PG_VERSION)` : 'not a directory';
  throw new UsageError(
    'db_dir_not_embedded',
    `The embedded database directory ${dataDir} (MASS_INGEST_DATA_DIR, default .mass-ingest/db) is ${what}: name a new or empty directory, or one mass-ingest created. Nothing in it was changed.`,
  );
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}
