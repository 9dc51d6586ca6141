import fs from 'node:fs';
import { randomUUID } from 'node:crypto';

/**
 * A build's processes carry this variable, so those that left its process group (`setsid`, a
 * double-forked daemon) are found and killed too: DESIGN §5 kills the build's whole tree, and one
 * left holding the build's output pipe would otherwise keep the processor waiting for ever.
 */
export const BUILD_MARKER = 'MASS_INGEST_BUILD';

/**
 * The processor's pid namespace and pid first: a later processor finds the builds of one that was
 * killed, and never takes a pid of another namespace (a container's processes are visible from
 * its host under other numbers) for one of its own.
 */
export function newBuildMarker(): string {
  return `${PID_NAMESPACE}:${process.pid}:${randomUUID()}`;
}

/** This process's pid namespace (the number in /proc/self/ns/pid), or `unknown`. */
export const PID_NAMESPACE = (() => {
  try {
    return /\[(\d+)\]/.exec(fs.readlinkSync('/proc/self/ns/pid'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
})();

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
 * nothing is found).
 */
export function killMarked(marker: string): number {
  return killWhile(() => processesMarked((value) => value === marker));
}

/**
 * SIGKILLs the builds of processors that are gone (killed with SIGKILL, by the OOM killer: they
 * could not end their builds), found by the processor's pid in their marker. A pid that lives
 * again as another process keeps its builds: never a live processor's.
 */
export function killOrphanedBuilds(): number {
  return killWhile(() => processesMarked((value) => {
    const [namespace, pid] = value.split(':');
    const owner = Number(pid);
    return namespace === PID_NAMESPACE && Number.isInteger(owner) && owner > 0 && !isAlive(owner);
  }));
}

/**
 * With BUILD_USER: SIGKILLs the processes of that user, started since this processor, that belong
 * to no running build: neither they nor their process group's leader carry a build marker. So a
 * process a build left in a session of its own with its environment cleared (out of reach of
 * killGroup and killMarked) cannot change the files of later builds. BUILD_USER should therefore
 * be a user of the builds alone (README, "What a build can reach").
 */
export function killStrays(uid: number): number {
  return killWhile(() => {
    const candidates = processesOf(uid).filter((info) => info.startTicks >= STARTED_TICKS);
    return candidates.filter((info) => !hasMarker(info.pid) && !hasMarker(info.pgid)).map((info) => info.pid);
  });
}

interface ProcessInfo {
  readonly pid: number;
  readonly pgid: number;
  /** Start time in clock ticks after boot (/proc/<pid>/stat, field 22). */
  readonly startTicks: number;
}

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function statFields(pid: number | 'self'): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** This processor's own start: field 22 is the 20th after the name (state is the 3rd field). */
const STARTED_TICKS = Number(statFields('self')?.[19] ?? 0);

function processesOf(uid: number): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const pid of otherPids()) {
    let owner: number;
    try {
      owner = fs.statSync(`/proc/${pid}`).uid;
    } catch {
      continue;
    }
    if (owner !== uid) continue;
    const fields = statFields(pid);
    if (!fields) continue;
    found.push({ pid, pgid: Number(fields[2]), startTicks: Number(fields[19]) });
  }
  return found;
}

/** Every process /proc shows but this one (none where there is no /proc). */
function otherPids(): number[] {
  try {
    return fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid).map(Number);
  } catch {
    return [];
  }
}

function hasMarker(pid: number): boolean {
  try {
    return markerValue(fs.readFileSync(`/proc/${pid}/environ`)) !== undefined;
  } catch {
    return false;
  }
}

/** A few passes catch what forked while the previous pass killed. */
function killWhile(find: () => number[]): number {
  // Distinct processes: one SIGKILLed may still be found by the next pass, before it has died.
  const killed = new Set<number>();
  for (let pass = 0; pass < MAX_PASSES; pass += 1) {
    const pids = find();
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        killed.add(pid);
      } catch {
        // Gone meanwhile.
      }
    }
  }
  return killed.size;
}

/** True while a process of this pid namespace has the pid (EPERM: it lives, as another user's). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const MARKER_ENTRY = Buffer.from(`${BUILD_MARKER}=`);

/**
 * The processes (other than this one) whose marker value `matches`. Synchronous on purpose: every
 * build ends with a pass, and /proc's files are in memory. Read one by one with promises, ~70 of
 * them took 15–23 ms per build here; read in one go, 2–5 ms.
 */
function processesMarked(matches: (value: string) => boolean): number[] {
  const found: number[] = [];
  for (const pid of otherPids()) {
    let environ: Buffer;
    try {
      environ = fs.readFileSync(`/proc/${pid}/environ`);
    } catch {
      continue;
    }
    const value = markerValue(environ);
    if (value !== undefined && matches(value)) found.push(pid);
  }
  return found;
}

/** The value of the marker in a NUL-separated environment, if it holds one. */
function markerValue(environ: Buffer): string | undefined {
  let start = environ.subarray(0, MARKER_ENTRY.length).equals(MARKER_ENTRY) ? 0 : -1;
  if (start < 0) {
    const inner = environ.indexOf(Buffer.concat([Buffer.from([0]), MARKER_ENTRY]));
    if (inner < 0) return undefined;
    start = inner + 1;
  }
  const valueStart = start + MARKER_ENTRY.length;
  const end = environ.indexOf(0, valueStart);
  return environ.toString('latin1', valueStart, end < 0 ? environ.length : end);
}
