import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { StepError, UsageError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { scrubUrlSecrets } from '../logging/scrub.js';
import { withRetry, type RetryPolicy } from '../retry.js';
import { sendHttp, type HttpCall, type HttpReply } from './http-request.js';
import { isUnanswered, retryAfterMs, statusError } from './publish-errors.js';
import { DEFAULT_IDLE_MS, answerWaitMs, attemptDeadlineMs, type PublishTimeouts } from './publish-timeouts.js';
import { SKIPPED, TargetBreaker } from './target-breaker.js';
import type { ArtifactStore, FileDigests, PutOptions } from './store.js';

/**
 * Connection errors, time-outs, 5xx, 408 and 429 are retried with this schedule (tested in
 * test/artifacts/http-store.test.ts); 401/403/404 never are. Worst case ≈ 0.5+1+2 s ×(1..2),
 * plus each attempt's own time-out (./publish-timeouts.ts), unless the breaker opens first.
 */
export const PUBLISH_RETRY: RetryPolicy = Object.freeze({ retries: 3, minTimeout: 500, maxTimeout: 8000, factor: 2, randomize: true });
/** A server's `Retry-After` is honoured up to this, so one answer cannot stall a partition. */
export const RETRY_AFTER_CAP_MS = 30_000;

const METADATA_LIMIT = 16 * 1024 * 1024;
// Large reads from disk: fewer, bigger writes to the socket (bench/publish.js).
const READ_CHUNK = 1024 * 1024;

export interface HttpStoreOptions {
  /** PUBLISH_URL; credentials never go in it. */
  readonly url: string;
  readonly user?: string | undefined;
  readonly password?: string | undefined;
  /** Bearer token; wins over user/password. */
  readonly token?: string | undefined;
  readonly retry?: RetryPolicy;
  readonly retryAfterCapMs?: number;
  /** PUBLISH_TIMEOUT: no progress for this long abandons an attempt. */
  readonly timeouts?: PublishTimeouts;
  /** Shared by the processor's repositories: a target that stopped answering is skipped. */
  readonly breaker?: TargetBreaker;
  readonly log?: Logger;
  /** The processor's stop signal: requests in flight are abandoned, none is retried. */
  readonly signal?: AbortSignal;
}

/**
 * PUT/HEAD/GET against an Artifactory, Nexus or WebDAV repository (DESIGN §3). Bodies stream from
 * disk with a Content-Length; Artifactory's checksum headers go with every file.
 */
export class HttpStore implements ArtifactStore {
  readonly description: string;
  private readonly base: string;
  private readonly authorization: string | undefined;
  private readonly agent: http.Agent;
  private readonly retry: RetryPolicy;
  private readonly retryAfterCapMs: number;
  private readonly timeouts: PublishTimeouts;
  private readonly breaker: TargetBreaker;
  private readonly log: Logger | undefined;
  private readonly signal: AbortSignal | undefined;

  down(): StepError | undefined {
    return this.breaker.skipping(SKIPPED);
  }

  constructor(options: HttpStoreOptions) {
    const base = new URL(options.url);
    if (base.username || base.password) {
      throw new UsageError(
        'publish_url_credentials',
        `PUBLISH_URL ${scrubUrlSecrets(options.url)} contains credentials: remove them from the URL and set PUBLISH_USER/PUBLISH_PASSWORD or PUBLISH_TOKEN`,
      );
    }
    this.base = base.href.replace(/\/+$/, '');
    this.description = this.base;
    this.authorization = authorizationOf(options);
    this.agent = base.protocol === 'https:' ? new https.Agent({ keepAlive: true, maxSockets: 8 }) : new http.Agent({ keepAlive: true, maxSockets: 8 });
    this.retry = options.retry ?? PUBLISH_RETRY;
    this.retryAfterCapMs = options.retryAfterCapMs ?? RETRY_AFTER_CAP_MS;
    this.timeouts = options.timeouts ?? { idleMs: DEFAULT_IDLE_MS };
    this.log = options.log;
    this.breaker = options.breaker ?? new TargetBreaker(this.base, undefined, options.log);
    this.signal = options.signal;
    if (base.protocol === 'http:' && this.authorization && !LOOPBACK.test(base.hostname)) {
      this.log?.warn({ publishUrl: this.base }, 'PUBLISH_URL is http://: the credentials (PUBLISH_USER/PUBLISH_PASSWORD or PUBLISH_TOKEN) travel unencrypted; use https://');
    }
  }

  async exists(key: string): Promise<boolean> {
    const reply = await this.call('HEAD', key, { size: 0 }, [404, 410]);
    return reply.status < 300;
  }

  async read(key: string): Promise<Buffer | undefined> {
    const reply = await this.call('GET', key, { maxBodyBytes: METADATA_LIMIT, size: METADATA_LIMIT }, [404, 410]);
    return reply.status < 300 ? reply.body : undefined;
  }

  async putFile(key: string, file: string, digests: FileDigests): Promise<void> {
    const { size } = await fs.promises.stat(file);
    await this.call('PUT', key, {
      size,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': size, ...checksumHeaders(digests) },
      body: () => fs.createReadStream(file, { highWaterMark: READ_CHUNK }),
    });
  }

  /**
   * `ifAbsent` sends `If-None-Match: *` (RFC 9110 §13.1.2): a server that keeps the existing file
   * answers 412. Servers that ignore the header (nginx's WebDAV module among them) replace it.
   */
  async putBytes(key: string, body: Buffer, contentType: string, options: PutOptions = {}): Promise<boolean> {
    const condition: Record<string, string> = options.ifAbsent ? { 'If-None-Match': '*' } : {};
    const reply = await this.call('PUT', key, { size: body.length, headers: { 'Content-Type': contentType, 'Content-Length': body.length, ...condition }, body }, options.ifAbsent ? [412] : []);
    return reply.status !== 412;
  }

  url(key: string): string {
    return `${this.base}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  /**
   * One request with retries; a 2xx or an `accepted` status resolves, any other status throws.
   * `size` is what the attempt sends (or may read), which sets its deadline.
   */
  private call(method: HttpCall['method'], key: string, init: Partial<Pick<HttpCall, 'headers' | 'body' | 'maxBodyBytes'>> & { size: number }, accepted: readonly number[] = []): Promise<HttpReply> {
    const shownUrl = this.url(key);
    const headers = { ...init.headers, ...(this.authorization ? { Authorization: this.authorization } : {}) };
    const sentBytes = init.body === undefined ? 0 : init.size;
    const limits = { idleMs: this.timeouts.idleMs, answerWaitMs: answerWaitMs(this.timeouts, sentBytes), deadlineMs: attemptDeadlineMs(this.timeouts, init.size) };
    return withRetry(
      this.retry,
      async (attempt) => {
        const reply = await this.attempt({ method, url: new URL(shownUrl), shownUrl, headers, body: init.body, agent: this.agent, ...limits, maxBodyBytes: init.maxBodyBytes ?? 0, signal: this.signal });
        if ((reply.status >= 200 && reply.status < 300) || accepted.includes(reply.status)) return reply;
        const error = statusError(reply.status, method, shownUrl, redirectDetail(reply));
        if (error.retryable && attempt <= this.retry.retries) await this.honourRetryAfter(reply);
        throw error;
      },
      { signal: this.signal, onRetry: (err, attempt) => this.log?.warn({ method, url: shownUrl, attempt, err }, 'Publish request failed, retrying') },
    );
  }

  /**
   * One attempt, through the breaker: refused at once while the target is skipped. The attempt
   * whose failure makes the breaker skip the target keeps its own error, without further retries.
   */
  private async attempt(call: HttpCall): Promise<HttpReply> {
    const admitted = this.breaker.admit(`${call.method} ${call.shownUrl}`);
    try {
      const reply = await sendHttp(call);
      admitted.answered();
      return reply;
    } catch (err) {
      if (!isUnanswered(err)) admitted.abandoned();
      else if (admitted.unanswered(err)) throw withoutRetry(err as StepError);
      throw err;
    }
  }

  /** Waits what the server asked for; the policy's own backoff follows, so the wait is at least that. */
  private async honourRetryAfter(reply: HttpReply): Promise<void> {
    const header = reply.headers['retry-after'];
    const wait = retryAfterMs(Array.isArray(header) ? header[0] : header, this.retryAfterCapMs);
    if (wait !== undefined && wait > 0) await sleep(wait, undefined, { signal: this.signal });
  }
}

function withoutRetry(err: StepError): StepError {
  return new StepError(err.code, err.message, { retryable: false, status: err.status, cause: err.cause });
}

/** Hosts whose traffic never leaves the machine: plain http to them exposes no credentials. */
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** Where a 3xx points (without credentials), so the message names the address to configure. */
function redirectDetail(reply: HttpReply): string {
  const location = reply.headers.location;
  return reply.status >= 300 && reply.status < 400 && location ? `to ${scrubUrlSecrets(location)}` : '';
}

function authorizationOf(options: HttpStoreOptions): string | undefined {
  if (options.token) return `Bearer ${options.token}`;
  if (options.user !== undefined) return `Basic ${Buffer.from(`${options.user}:${options.password ?? ''}`).toString('base64')}`;
  return undefined;
}

/** Artifactory verifies the upload against these and stores them; other servers ignore them. */
function checksumHeaders(digests: FileDigests): Record<string, string> {
  return { 'X-Checksum-Sha1': digests.sha1, 'X-Checksum-Sha256': digests.sha256, 'X-Checksum-Md5': digests.md5 };
}
