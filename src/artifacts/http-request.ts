import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { StepError } from '../errors.js';
import { connectionError } from './publish-errors.js';

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
  /** Idle socket time before the request is abandoned (and retried). */
  readonly timeoutMs: number;
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
 * a CA); there is deliberately no switch to turn verification off. Resolves with any status;
 * rejects with a StepError when no answer arrives.
 *
 * A streamed body is sent with `Expect: 100-continue`, as curl does: a server that refuses the
 * upload (401/403/404) says so before the body leaves, instead of after it, or instead of
 * resetting the connection mid-body (which would look like a network error worth retrying).
 */
export function sendHttp(call: HttpCall): Promise<HttpReply> {
  const transport = call.url.protocol === 'https:' ? https : http;
  const streamed = typeof call.body === 'function' ? call.body : undefined;
  return new Promise<HttpReply>((resolve, reject) => {
    let bodyStream: Readable | undefined;
    let bodySent = !streamed;
    let answered = false;
    let waitForContinue: NodeJS.Timeout | undefined;
    const fail = (err: unknown) => {
      clearTimeout(waitForContinue);
      bodyStream?.destroy();
      reject(err instanceof StepError ? err : connectionError(err, call.method, call.shownUrl));
    };
    if (call.signal?.aborted) {
      reject(abortedError(call));
      return;
    }
    const headers = streamed ? { ...call.headers, Expect: '100-continue' } : call.headers;
    const request = transport.request(call.url, { method: call.method, headers, agent: call.agent, timeout: call.timeoutMs }, (response) => {
      answered = true;
      clearTimeout(waitForContinue);
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
          reject(new StepError('publish_response_too_large', `${call.method} ${call.shownUrl} answered more than ${call.maxBodyBytes} bytes`));
          return;
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) });
      });
    });
    request.once('timeout', () => request.destroy(Object.assign(new Error(`no data for ${call.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    request.on('error', fail);
    const onAbort = () => request.destroy(abortedError(call));
    call.signal?.addEventListener('abort', onAbort, { once: true });
    request.once('close', () => call.signal?.removeEventListener('abort', onAbort));
    if (!streamed) {
      request.end(call.body);
      return;
    }
    const sendBody = () => {
      if (bodyStream || answered) return;
      clearTimeout(waitForContinue);
      bodyStream = streamed();
      bodyStream.on('error', (err) => {
        request.destroy();
        reject(new StepError('publish_io', `Cannot read the file to upload to ${call.shownUrl}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { cause: err }));
      });
      bodyStream.once('end', () => {
        bodySent = true;
      });
      bodyStream.pipe(request);
    };
    request.once('continue', sendBody);
    request.flushHeaders();
    waitForContinue = setTimeout(sendBody, EXPECT_CONTINUE_TIMEOUT_MS);
  });
}

/** Not retried; the pipeline records the repository `aborted` (the signal is what it checks). */
function abortedError(call: HttpCall): StepError {
  return new StepError('aborted', `${call.method} ${call.shownUrl} abandoned: the processor received a termination signal`);
}
