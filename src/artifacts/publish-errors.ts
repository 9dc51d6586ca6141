import { StepError, isUntrustedCertificate, trustRemedy } from '../errors.js';
import { seconds } from './publish-timeouts.js';

/**
 * The error codes a publish target produces (they become `repository_results.error_code`, and
 * `exitCodeOf` reads them through `publishFailureKind`).
 */
export const PUBLISH_CODES = Object.freeze({
  auth: 'publish_auth',
  unreachable: 'publish_unreachable',
  /** The target's TLS certificate is not trusted: the same on every attempt, so configuration, not an outage. */
  tls: 'publish_tls',
  notFound: 'publish_not_found',
  /** The target answers web pages, not files: PUBLISH_URL names a UI or a login page. */
  notARepository: 'publish_not_a_repository',
  /** Connected (or trying to), but no progress for PUBLISH_TIMEOUT, or past the attempt's deadline. */
  timeout: 'publish_timeout',
  /** Not sent: the target gave no answer to PUBLISH_FAIL_FAST_AFTER attempts in a row (src/artifacts/target-breaker.ts). */
  targetDown: 'publish_target_down',
});

const CONFIGURATION_CODES = new Set([PUBLISH_CODES.auth, PUBLISH_CODES.notFound, PUBLISH_CODES.notARepository, PUBLISH_CODES.tls, 'publish_denied']);
const OUTAGE_CODES = new Set([PUBLISH_CODES.unreachable, PUBLISH_CODES.timeout, PUBLISH_CODES.targetDown, 'publish_io']);

/**
 * What a publish failure says about the target (DESIGN §8, when every repository fails so):
 * `configuration` a retry cannot fix (credentials, a wrong URL or bucket, a certificate not
 * trusted, a redirect, any other refusal with a 3xx/4xx status: exit 2), `outage` worth a retry
 * (exit 3), else `other`.
 */
export function publishFailureKind(code: string): 'configuration' | 'outage' | 'other' {
  if (CONFIGURATION_CODES.has(code) || /^publish_http_[34]\d\d$/.test(code)) return 'configuration';
  if (OUTAGE_CODES.has(code)) return 'outage';
  return 'other';
}

/** A non-2xx answer for `method url` (url without credentials). 429, 408 and 5xx are worth a retry. */
export function statusError(status: number, method: string, url: string, detail = ''): StepError {
  const what = `${method} ${url} answered HTTP ${status}${detail ? ` (${detail})` : ''}`;
  if (status === 401 || status === 403) {
    return new StepError(PUBLISH_CODES.auth, `${what}: check PUBLISH_USER/PUBLISH_PASSWORD or PUBLISH_TOKEN and their write permission`, { status });
  }
  if (status === 404) {
    return new StepError(PUBLISH_CODES.notFound, `${what}: check that PUBLISH_URL names an existing repository`, { status });
  }
  if (status >= 300 && status < 400) {
    return new StepError(`publish_http_${status}`, `${what}: redirects are not followed (credentials stay with the configured host); set PUBLISH_URL to the repository's final address`, { status });
  }
  if (status === 408 || status === 429 || status >= 500) {
    return new StepError(PUBLISH_CODES.unreachable, `${what}: the publish target is unavailable`, { status, retryable: true });
  }
  return new StepError(`publish_http_${status}`, what, { status });
}

/** A request that got no answer. A certificate we do not trust is not retried: it will not change. */
export function connectionError(err: unknown, method: string, url: string): StepError {
  const code = (err as NodeJS.ErrnoException).code ?? 'ECONNECTION';
  if (isUntrustedCertificate(err)) return tlsError(`${method} ${url}`, code, err);
  return new StepError(PUBLISH_CODES.unreachable, `${method} ${url} got no answer (${code}): the publish target is unreachable`, { cause: err, retryable: true });
}

/**
 * `what` (a request or an S3 operation) refused by TLS verification with Node's `code`; `address`
 * is the setting that names the host (PUBLISH_URL, AWS_ENDPOINT_URL_S3).
 */
export function tlsError(what: string, code: string, cause: unknown, address = 'PUBLISH_URL'): StepError {
  return new StepError(
    PUBLISH_CODES.tls,
    `${what} failed TLS verification (${code}): the publish target's certificate is not trusted; ${trustRemedy(address)}`,
    { cause },
  );
}

/** Where an attempt stood when it stopped progressing (src/artifacts/http-request.ts). */
export type StallPhase = 'connect' | 'send' | 'answer' | 'receive' | 'deadline';

const STALLS: Record<StallPhase, (limit: string) => string> = {
  connect: (limit) => `could not connect within ${limit}`,
  send: (limit) => `stalled: the connection took no byte of the body for ${limit}`,
  answer: (limit) => `got no answer within ${limit} of sending the request`,
  receive: (limit) => `stalled: no byte of the answer came for ${limit}`,
  deadline: (limit) => `was still unfinished at its deadline, ${limit} (twice PUBLISH_TIMEOUT plus 4 s per MiB)`,
};

/**
 * Attempts stopped at their deadline: they were still progressing (else the no-progress limit ends
 * them first), so the target answered, only slowly. Retried, but never counted by the breaker: a
 * slow upload must not make every other repository fail with `publish_target_down`.
 */
const PROGRESSING = new WeakSet<object>();

/** No progress for the limit (counted by the breaker), or past the attempt's deadline (not counted): worth a retry. */
export function timeoutError(phase: StallPhase, method: string, url: string, limitMs: number): StepError {
  const error = new StepError(PUBLISH_CODES.timeout, `${method} ${url} ${STALLS[phase](seconds(limitMs))}: the publish target is not responding (PUBLISH_TIMEOUT sets the limit)`, { retryable: true });
  if (phase === 'deadline') markProgressing(error);
  return error;
}

/** Marks an error as an attempt that passed its deadline while still progressing (the S3 handler's own). */
export function markProgressing<E extends object>(error: E): E {
  PROGRESSING.add(error);
  return error;
}

export function passedDeadline(err: unknown): boolean {
  return typeof err === 'object' && err !== null && PROGRESSING.has(err);
}

/**
 * A failure in which the target gave no answer at all (refused, reset, timed out): what the
 * breaker counts. An answer of any status, a TLS refusal, a local I/O error or an attempt still
 * progressing at its deadline is not one.
 */
export function isUnanswered(err: unknown): boolean {
  if (!(err instanceof StepError) || !err.retryable || err.status !== undefined || passedDeadline(err)) return false;
  return err.code === PUBLISH_CODES.unreachable || err.code === PUBLISH_CODES.timeout;
}

/** `Retry-After` (seconds or an HTTP date) in ms, capped; undefined when absent or unreadable. */
export function retryAfterMs(header: string | undefined, capMs: number, now = Date.now()): number | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(capMs, Math.max(0, Math.round(ms)));
}
