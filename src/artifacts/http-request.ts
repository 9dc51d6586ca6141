import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { StepError } from '../errors.js';
import { connectionError, timeoutError, type StallPhase } from './publish-errors.js';

export interface HttpReply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** The response body when asked for (`maxBodyBytes` > 0), else empty. */
  readonly body: Buffer;
}

export interface HttpCall {
  readonly method: 'GET' | 'HEAD' | 'PUT';
  readonly url: URL;
  /** For messages: the URL without credentials. */
  readonly shownUrl: string;
  readonly headers: Readonly<Record<string, string | number>>;
  /** A buffer, or a fresh stream per attempt (a file read from disk, never held in memory). */
  readonly body?: Buffer | (() => Readable);
  readonly agent: http.Agent;
  /** No progress for this long abandons the attempt: no connection, no byte of the body taken, no byte of the answer. */
  readonly idleMs: number;
  /** Once the body is sent whole, how long the answer may take to begin (the server stores the file first). */
  readonly answerWaitMs: number;
  /** The attempt is abandoned at this, progressing or not (a transfer trickling just fast enough). */
  readonly deadlineMs: number;
  readonly maxBodyBytes: number;
  /** A termination signal: the request is abandoned at once (an upload in flight included). */
  readonly signal?: AbortSignal | undefined;
}

/**
 * How long a streamed upload waits for `100 Continue` before sending its body anyway (curl's
 * default too), for servers that ignore `Expect`.
 */
export const EXPECT_CONTINUE_TIMEOUT_MS = 1000;

/**
 * One HTTP exchange over node:http(s). TLS is verified by Node's defaults (NODE_EXTRA_CA_CERTS adds
 * a CA); there is deliberately no switch to turn verification off. Resolves with any status once
 * the answer is read; rejects with a StepError when no answer arrives (`publish_timeout` when the
 * exchange stops progressing or passes its deadline, see ./publish-timeouts.ts).
 *
 * A streamed body is sent with `Expect: 100-continue`, as curl does: a server that refuses the
 * upload (401/403/404) says so before the body leaves, instead of after it, or instead of
 * resetting the connection mid-body (which would look like a network error worth retrying).
 */
export function sendHttp(call: HttpCall): Promise<HttpReply> {
  const transport = call.url.protocol === 'https:' ? https : http;
  const streamed = typeof call.body === 'function' ? call.body : undefined;
  return new Promise<HttpReply>((resolve, reject) => {
    if (call.signal?.aborted) {
      reject(abortedError(call));
      return;
    }
    let bodyStream: Readable | undefined;
    let bodySent = !streamed;
    let answered = false;
    let settled = false;
    let waitForContinue: NodeJS.Timeout | undefined;
    const settle = (action: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(waitForContinue);
      clearTimeout(deadline);
      action();
    };
    const fail = (err: unknown) =>
      settle(() => {
        bodyStream?.destroy();
        reject(err instanceof StepError ? err : connectionError(err, call.method, call.shownUrl));
      });
    const headers = streamed ? { ...call.headers, Expect: '100-continue' } : call.headers;
    const request = transport.request(call.url, { method: call.method, headers, agent: call.agent, timeout: call.idleMs }, (response) => {
      answered = true;
      clearTimeout(waitForContinue);
      progress.answered();
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= call.maxBodyBytes) chunks.push(chunk);
      });
      response.on('error', fail);
      response.once('end', () => {
        // An answer before the whole body was sent (a refusal): the connection is mid-request, drop it.
        if (!bodySent) {
          bodyStream?.destroy();
          request.destroy();
        }
        if (size > call.maxBodyBytes && call.maxBodyBytes > 0) {
          fail(new StepError('publish_response_too_large', `${call.method} ${call.shownUrl} answered more than ${call.maxBodyBytes} bytes`));
          return;
        }
        settle(() => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      });
    });
    const stop = (err: StepError) => {
      fail(err);
      request.destroy();
    };
    const progress = watchProgress(request, call, (phase, limitMs) => stop(timeoutError(phase, call.method, call.shownUrl, limitMs)));
    const deadline = setTimeout(() => stop(timeoutError('deadline', call.method, call.shownUrl, call.deadlineMs)), call.deadlineMs);
    request.on('error', fail);
    const onAbort = () => stop(abortedError(call));
    call.signal?.addEventListener('abort', onAbort, { once: true });
    request.once('close', () => call.signal?.removeEventListener('abort', onAbort));
    if (!streamed) {
      request.end(call.body);
      return;
    }
    const sendBody = () => {
      if (bodyStream || answered || settled) return;
      clearTimeout(waitForContinue);
      bodyStream = streamed();
      bodyStream.on('error', (err) => {
        stop(new StepError('publish_io', `Cannot read the file to upload to ${call.shownUrl}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { cause: err }));
      });
      bodyStream.once('end', () => {
        bodySent = true;
      });
      bodyStream.pipe(request);
    };
    request.once('continue', sendBody);
    request.flushHeaders();
    // Within the no-progress limit: a server that ignores `Expect` is slow to no one's fault.
    waitForContinue = setTimeout(sendBody, Math.min(EXPECT_CONTINUE_TIMEOUT_MS, call.idleMs / 2));
  });
}

/**
 * The no-progress limit, phase by phase. The socket's own inactivity timer measures it: Node
 * holds it off while a write is still draining into the connection, so a body the server does
 * not read trips it, and one it reads slowly does not. Once the request is sent whole, the wait
 * for the answer is `answerWaitMs`; once the answer begins, `idleMs` again.
 */
function watchProgress(request: http.ClientRequest, call: HttpCall, onStall: (phase: StallPhase, limitMs: number) => void): { answered(): void } {
  let phase: StallPhase = 'connect';
  let limitMs = call.idleMs;
  request.once('socket', (socket) => {
    if (socket.connecting) socket.once('connect', () => phase === 'connect' && (phase = 'send'));
    else if (phase === 'connect') phase = 'send';
  });
  request.once('finish', () => {
    if (phase === 'receive') return;
    phase = 'answer';
    limitMs = call.answerWaitMs;
    request.setTimeout(limitMs);
  });
  request.on('timeout', () => onStall(phase, limitMs));
  return {
    answered: () => {
      phase = 'receive';
      if (limitMs !== call.idleMs) request.setTimeout((limitMs = call.idleMs));
    },
  };
}

/** Not retried; the pipeline records the repository `aborted` (the signal is what it checks). */
function abortedError(call: HttpCall): StepError {
  return new StepError('aborted', `${call.method} ${call.shownUrl} abandoned: the processor received a termination signal`);
}
