import { killMarked, newBuildMarker } from '../build/process-tree.js';

/** How long git may print nothing before it is stopped (SimpleGitClientOptions.silenceTimeoutMs). */
export const SILENCE_TIMEOUT_MS = 300_000;

export interface SilenceWatch {
  /** For BUILD_MARKER in the environment of the command's git: its processes, all of them. */
  readonly marker: string;
  /** Aborted by the caller's signal, or once the command has been silent for the silence allowed. */
  readonly signal: AbortSignal;
  /** Call as each git command starts and whenever it prints. */
  heard(): void;
  /** True when silence, not the caller's signal, stopped the command. */
  silent(): boolean;
  /** Kills every process carrying the marker: on failure, they go with the command. */
  kill(): void;
  /** Stops watching; call once the command is over. */
  stop(): void;
}

/**
 * simple-git stops a silent git with SIGINT to it alone. A git that runs a shell script (`git
 * submodule update`, `git submodule foreach`: the script, `git submodule--helper`, a shell per
 * submodule, the clones or `git lfs pull` it starts) waits for what it started before it acts on
 * it, and they hold its output open: simple-git would wait for them until they end of their own
 * accord, past CLONE_TIMEOUT (git-lfs 3.3.0 against an LFS server that stalls mid-file tries 9
 * times, 30 s each, printing nothing). Every process of the command carries `marker`, and silence,
 * or `signal` (CLONE_TIMEOUT, SIGTERM), kills them all.
 */
export function watchSilence(signal: AbortSignal, silenceMs: number): SilenceWatch {
  const marker = newBuildMarker();
  const quiet = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const stopped = AbortSignal.any([signal, quiet.signal]);
  const kill = () => void killMarked(marker);
  stopped.addEventListener('abort', kill, { once: true });
  return {
    marker,
    signal: stopped,
    heard: () => {
      clearTimeout(timer);
      timer = setTimeout(() => quiet.abort(), silenceMs);
    },
    silent: () => quiet.signal.aborted && !signal.aborted,
    kill,
    stop: () => {
      clearTimeout(timer);
      stopped.removeEventListener('abort', kill);
    },
  };
}
