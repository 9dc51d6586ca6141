import fs from 'node:fs';

/**
 * Open files a processor may need: git's pipes, build logs, uploads and database connections for
 * every repository in flight (built, or cloned ahead), and the process's own. Below it, a run shows
 * repositories `crashed` on dropped database connections (ECONNRESET) or git that cannot start
 * (EMFILE), with nothing to say why: measured here (helper 47), `--concurrency 4` failed so
 * under a limit of 64 and ran under 320.
 */
export function descriptorsNeeded(concurrency: number, cloneAhead: number): number {
  return 64 + 32 * (concurrency + cloneAhead);
}

/** This process's soft limit on open files (`ulimit -n`), from /proc/self/limits; undefined where there is none to read. */
export function openFileLimit(limits = readLimits()): number | undefined {
  const line = limits?.split('\n').find((text) => text.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  if (soft === undefined || soft === 'unlimited') return undefined;
  const value = Number(soft);
  return Number.isSafeInteger(value) ? value : undefined;
}

function readLimits(): string | undefined {
  try {
    return fs.readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
}
