import type { Readable } from 'node:stream';
import type { HttpHandlerOptions, HttpRequest, HttpResponse, RequestHandlerOutput } from '@smithy/types';
import { StepError, errorMessage } from '../errors.js';
import { classifyS3Error, type S3RequestHandler } from '../aws/s3.js';
import { PUBLISH_CODES, markProgressing, passedDeadline } from './publish-errors.js';
import { attemptDeadlineMs, seconds, type PublishTimeouts } from './publish-timeouts.js';
import type { BreakerAttempt, TargetBreaker } from './target-breaker.js';

/**
 * The S3 client's request handler for publishing, around the SDK's own: every attempt (the SDK
 * retries below lib-storage and above this) goes through the target's breaker, and has a deadline
 * that grows with its body (a part is at most the part size). The SDK's handler keeps the
 * no-progress limit itself (`socketTimeout`, `connectionTimeout`: see createS3Client).
 */
export class PublishAttempts implements S3RequestHandler {
  constructor(
    private readonly inner: S3RequestHandler,
    private readonly breaker: TargetBreaker,
    private readonly timeouts: PublishTimeouts,
  ) {}

  get metadata() {
    return this.inner.metadata;
  }

  destroy(): void {
    this.inner.destroy?.();
  }

  updateHttpClientConfig(key: never, value: never): void {
    this.inner.updateHttpClientConfig?.(key, value);
  }

  httpHandlerConfigs(): object {
    return this.inner.httpHandlerConfigs?.() ?? {};
  }

  async handle(request: HttpRequest, options: HttpHandlerOptions = {}): Promise<RequestHandlerOutput<HttpResponse>> {
    const what = `${request.method} ${request.protocol}//${request.hostname}${request.port ? `:${request.port}` : ''}${request.path}`;
    // Throws publish_target_down: a StepError, which the SDK does not retry.
    const admitted = this.breaker.admit(what);
    try {
      const output = await this.withDeadline(request, options, what);
      settleWithBody(output.response.body as Readable | undefined, admitted);
      return output;
    } catch (err) {
      // Past its deadline, the attempt was still moving: the target answers, slowly (publish-errors.ts).
      if (options.abortSignal?.aborted || !unanswered(err) || passedDeadline(err)) {
        admitted.abandoned();
        throw err;
      }
      // The attempt that makes the breaker skip the target ends the SDK's retries with its own failure.
      const failure = noAnswerError(err, what, this.timeouts);
      if (admitted.unanswered(failure)) throw failure;
      throw err;
    }
  }

  /** Until the answer's headers; a stalled answer body is the socket's no-progress limit's. */
  private withDeadline(request: HttpRequest, options: HttpHandlerOptions, what: string): Promise<RequestHandlerOutput<HttpResponse>> {
    const deadlineMs = attemptDeadlineMs(this.timeouts, Number(request.headers['content-length'] ?? 0) || 0);
    const timer = new AbortController();
    const signal = options.abortSignal ? AbortSignal.any([options.abortSignal as AbortSignal, timer.signal]) : timer.signal;
    return new Promise((resolve, reject) => {
      const clock = setTimeout(() => {
        // Named and coded as the SDK's own time-outs, so that it retries this one like them.
        reject(markProgressing(Object.assign(new Error(`${what} was still unfinished at its deadline, ${seconds(deadlineMs)}`), { name: 'TimeoutError', code: 'ETIMEDOUT' })));
        timer.abort();
      }, deadlineMs);
      this.inner.handle(request, { ...options, abortSignal: signal }).then(resolve, reject).finally(() => clearTimeout(clock));
    });
  }
}

/**
 * An answer counts once its body has been read: a body that stalls after the headers is no
 * answer. A probe's verdict is its headers, so that a body nobody reads cannot hold the breaker.
 */
function settleWithBody(body: Readable | undefined, admitted: BreakerAttempt): void {
  if (!body || typeof body.once !== 'function' || body.readableEnded || admitted.probe) admitted.answered();
  if (!body || typeof body.once !== 'function') return;
  body.once('end', () => admitted.answered());
  body.once('error', (err) => (unanswered(err) ? admitted.unanswered(err) : admitted.abandoned()));
  body.once('close', () => admitted.abandoned());
}

function unanswered(err: unknown): boolean {
  const { kind, status } = classifyS3Error(err);
  return kind === 'unreachable' && status === undefined;
}

function noAnswerError(err: unknown, what: string, timeouts: PublishTimeouts): StepError {
  const { name } = classifyS3Error(err);
  if (name === 'TimeoutError') {
    return new StepError(PUBLISH_CODES.timeout, `${what} made no progress within ${seconds(timeouts.idleMs)} or passed its deadline (${errorMessage(err)}): S3 is not responding (PUBLISH_TIMEOUT sets the limit)`, {
      cause: err,
    });
  }
  return new StepError(PUBLISH_CODES.unreachable, `${what} got no answer (${name}): S3 is unreachable`, { cause: err });
}
