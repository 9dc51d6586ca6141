import fs from 'node:fs';
import { randomUUID } from 'node:crypto';

/**
 * A build's processes carry this variable, so those that left its process group (`setsid`, a
 * double-forked daemon) are found and killed too: DESIGN §5 kills the build's whole tree, and one
 * left holding the build's output pipe would otherwise keep the processor waiting for ever.
 */
export const BUILD_MARKER = 'MASS_INGEST_BUILD';

export function newBuildMarker(): string {
  return randomUUID();
}

const MAX_PASSES = 5;

export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * SIGKILLs every process whose environment holds the build's marker (Linux `/proc`; elsewhere
 * nothing is found). A few passes catch what forked while the previous pass killed.
 */
export function killMarked(marker: string): number {
  const entry = Buffer.from(`${BUILD_MARKER}=${marker}\0`);
  let killed = 0;
  for (let pass = 0; pass < MAX_PASSES; pass += 1) {
    const pids = markedProcesses(entry);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        killed += 1;
      } catch {
        // Gone meanwhile.
      }
    }
  }
  return killed;
}

/**
 * Synchronous on purpose: every build ends with a pass, and /proc's files are in memory. Read one
 * by one with promises, ~70 of them took 15–23 ms per build here; read in one go, 2–5 ms.
 */
function markedProcesses(entry: Buffer): number[] {
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const inner = Buffer.concat([Buffer.from([0]), entry]);
  const found: number[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let environ: Buffer;
    try {
      environ = fs.readFileSync(`/proc/${name}/environ`);
    } catch {
      continue;
    }
    if (environ.subarray(0, entry.length).equals(entry) || environ.includes(inner)) found.push(Number(name));
  }
  return found;
}
