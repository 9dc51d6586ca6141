/**
 * How long one publish request may take. Two limits, so that a dead target is given up on quickly
 * while a large upload that keeps moving is left alone:
 * - no progress (`idleMs`, PUBLISH_TIMEOUT): no connection, no byte of the body taken by the
 *   connection, no answer, or no byte of the answer, for that long;
 * - a deadline per attempt that grows with the bytes sent, so that a transfer trickling just fast
 *   enough to dodge the first limit still ends.
 */
export interface PublishTimeouts {
  readonly idleMs: number;
}

export const DEFAULT_IDLE_MS = 30_000;

/** The slowest upload a deadline allows for: 1 GiB has 68 min (plus twice the idle limit). */
export const SLOWEST_UPLOAD_BYTES_PER_S = 256 * 1024;

/**
 * Once the whole body is sent, the server may store it before it answers (Artifactory moves it to
 * its filestore, Nexus completes its blob): the wait for the answer grows by this rate's worth.
 */
export const SLOWEST_STORING_BYTES_PER_S = 16 * 1024 * 1024;

/** The deadline of one attempt that sends (or reads, at most) `bytes`. */
export function attemptDeadlineMs(timeouts: PublishTimeouts, bytes: number): number {
  return 2 * timeouts.idleMs + Math.ceil((Math.max(0, bytes) * 1000) / SLOWEST_UPLOAD_BYTES_PER_S);
}

/**
 * What of a body "sent" may still be on its way: the kernel's send buffer (Linux grows it to 4 MiB)
 * and the server's receive buffer hold bytes the connection has taken but the server not yet read.
 */
export const IN_FLIGHT_BYTES = 8 * 1024 * 1024;

/**
 * How long the answer may take once a body of `bytes` has been sent whole: the bytes still in
 * flight drain at the slowest rate a deadline allows for, then the server stores the body. (Without
 * the first part, an upload moving at 200 KiB/s was cut after its last write: 4 MiB of buffers
 * take 20 s to drain, with no progress to see.)
 */
export function answerWaitMs(timeouts: PublishTimeouts, bytes: number): number {
  const sent = Math.max(0, bytes);
  const draining = Math.ceil((Math.min(sent, IN_FLIGHT_BYTES) * 1000) / SLOWEST_UPLOAD_BYTES_PER_S);
  return timeouts.idleMs + draining + Math.ceil((sent * 1000) / SLOWEST_STORING_BYTES_PER_S);
}

/** `1.5 s`, `30 s`, `4 min 10 s`: a duration as messages show it. */
export function seconds(ms: number): string {
  const total = ms / 1000;
  if (total < 60) return `${Number.isInteger(total) ? total : total.toFixed(1)} s`;
  const minutes = Math.floor(total / 60);
  const rest = Math.round(total - minutes * 60);
  return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
}
