/**
 * The few error classes of mass-ingest. Callers tell them apart with `instanceof` and `code`,
 * never by message text. The exit code of a command follows from the class (DESIGN §8).
 */
export const EXIT = Object.freeze({
  ok: 0,
  strictFailures: 1,
  usage: 2,
  infrastructure: 3,
  terminated: 143,
});

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class MassIngestError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly exitCode: ExitCode;

  constructor(code: string, message: string, options: { retryable?: boolean; exitCode?: ExitCode; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.exitCode = options.exitCode ?? EXIT.usage;
  }
}

/** Usage, configuration or input problem: Batch must not retry (exit 2). */
export class UsageError extends MassIngestError {
  readonly problems: readonly string[];

  constructor(code: string, message: string, problems: readonly string[] = [], cause?: unknown) {
    super(code, problems.length > 1 ? `${message}\n  - ${problems.join('\n  - ')}` : message, {
      exitCode: EXIT.usage,
      cause,
    });
    this.problems = problems;
  }

  /** `<lead>: <problem>` for one problem; `<lead> (N problems):` over the list for several: each said once. */
  static listing(code: string, lead: string, problems: readonly string[]): UsageError {
    return new UsageError(code, problems.length === 1 ? `${lead}: ${problems[0]}` : `${lead} (${problems.length} problems):`, problems);
  }
}

/** A file system error of a disk (or quota) that is full: the machine's trouble, not the data's. */
export function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * Node's codes for a TLS certificate it does not trust (OpenSSL's verify results, and a name the
 * certificate does not cover). Another attempt meets the same certificate: the remedy is
 * configuration (NODE_EXTRA_CA_CERTS, the right host name), not a retry.
 */
const UNTRUSTED_CERTIFICATE_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** A connection refused because the server's certificate is not trusted (fetch puts the code on its cause). */
export function isUntrustedCertificate(err: unknown): boolean {
  return untrustedCertificateCode(err) !== undefined;
}

/**
 * Node's code for the certificate it did not trust, on the error or in its causes: fetch puts it
 * on its cause, and Octokit wraps fetch's error once more.
 */
export function untrustedCertificateCode(err: unknown): string | undefined {
  return codeInCauses(err, (code) => UNTRUSTED_CERTIFICATE_CODES.has(code));
}

/** What to do about a certificate not trusted, for a server whose host `address` names (a setting). */
export function trustRemedy(address: string): string {
  return `give its CA to Node with NODE_EXTRA_CA_CERTS=/path/ca.pem, or check the host name in ${address}`;
}

/** The first `code` on the error or its causes (a few deep: libraries wrap) that `wanted` accepts. */
function codeInCauses(err: unknown, wanted: (code: string) => boolean): string | undefined {
  for (let cause = err, depth = 0; typeof cause === 'object' && cause !== null && depth < 8; cause = (cause as { cause?: unknown }).cause, depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && wanted(code)) return code;
  }
  return undefined;
}

/**
 * The processor (this process, or the embedded database's host) has no file descriptor left:
 * EMFILE (its `ulimit -n`) or ENFILE (the machine's), on the error or anywhere in its causes (a
 * publish error's, a database error's). The machine's trouble, not the repository's.
 */
export function isOutOfDescriptors(err: unknown): boolean {
  return codeInCauses(err, (code) => code === 'EMFILE' || code === 'ENFILE') !== undefined;
}

/** The error code of a repository that met the limit on open files, and what to do about it. */
export const FD_EXHAUSTED = 'fd_exhausted';
export const FD_EXHAUSTED_REMEDY = 'raise the limit on open files (ulimit -n; nofile in a container\'s ulimits) or lower --concurrency and --clone-ahead';

/** `what` (say, "git could not start") for want of a file descriptor; `cause` keeps the system's error. */
export function outOfDescriptors(what: string, cause: unknown): StepError {
  return new StepError(FD_EXHAUSTED, `${what}: the processor ran out of file descriptors (${errorMessage(cause)}): ${FD_EXHAUSTED_REMEDY}`, { cause });
}

/** Something outside us is down (database, inventory host, publish target): worth a retry (exit 3). */
export class InfrastructureError extends MassIngestError {
  constructor(code: string, message: string, cause?: unknown) {
    super(code, message, { retryable: true, exitCode: EXIT.infrastructure, cause });
  }
}

/** A step of one repository failed; `code` becomes `repository_results.error_code`. */
export class StepError extends MassIngestError {
  constructor(code: string, message: string, options: { retryable?: boolean; cause?: unknown; status?: number } = {}) {
    super(code, message, { retryable: options.retryable ?? false, exitCode: EXIT.ok, cause: options.cause });
    this.status = options.status;
    // A repository's failure is data, not the command's exit: a logged StepError (`Clone failed,
    // retrying`) must not read `exitCode: 0`. The value stays readable for code that asks.
    Object.defineProperty(this, 'exitCode', { enumerable: false });
  }

  readonly status: number | undefined;
}

/** Raised inside the pipeline when SIGTERM/SIGINT asked us to stop. */
export class AbortedError extends MassIngestError {
  constructor(message = 'Stopped by a termination signal') {
    super('aborted', message, { exitCode: EXIT.terminated });
  }
}

/** The line the CLI writes when a signal stops it (src/cli.ts); `chunk --local` drops its children's. */
export function signalNotice(signal: NodeJS.Signals): string {
  return `mass-ingest: ${signal} received: no new work starts; what is running is stopped and recorded`;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
