import fs from 'node:fs';

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
