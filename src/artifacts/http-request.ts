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
}

/**
 * One HTTP exchange over node:http(s). TLS is verified by Node's defaults (NODE_EXTRA_CA_CERTS adds
 * a CA); there is deliberately no switch to turn verification off. Resolves with any status;
 * rejects with a StepError when no answer arrives.
 */
export function sendHttp(call: HttpCall): Promise<HttpReply> {
  const transport = call.url.protocol === 'https:' ? https : http;
  return new Promise<HttpReply>((resolve, reject) => {
    let bodyStream: Readable | undefined;
    let bodyDone = call.body === undefined || Buffer.isBuffer(call.body);
    const fail = (err: unknown) => {
      bodyStream?.destroy();
      reject(err instanceof StepError ? err : connectionError(err, call.method, call.shownUrl));
    };
    const request = transport.request(call.url, { method: call.method, headers: call.headers, agent: call.agent, timeout: call.timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= call.maxBodyBytes) chunks.push(chunk);
      });
      response.on('error', fail);
      response.once('end', () => {
        // An early answer (401 before the body was sent): the connection is mid-body, drop it.
        if (!bodyDone) request.destroy();
        if (size > call.maxBodyBytes && call.maxBodyBytes > 0) {
          reject(new StepError('publish_response_too_large', `${call.method} ${call.shownUrl} answered more than ${call.maxBodyBytes} bytes`));
          return;
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) });
      });
    });
    request.once('timeout', () => request.destroy(Object.assign(new Error(`no data for ${call.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    request.on('error', fail);
    if (call.body === undefined || Buffer.isBuffer(call.body)) {
      request.end(call.body);
      return;
    }
    bodyStream = call.body();
    bodyStream.on('error', (err) => {
      request.destroy();
      reject(new StepError('publish_io', `Cannot read the file to upload to ${call.shownUrl}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { cause: err }));
    });
    bodyStream.once('end', () => {
      bodyDone = true;
    });
    bodyStream.pipe(request);
  });
}
