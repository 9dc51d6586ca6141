import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * s3rver (3.7) ignores If-Match on GetObject: it serves a changed object anyway. This proxy sits in
 * front of it and answers as S3 does (API reference, GetObject: "If-Match: Return the object only
 * if its entity tag (ETag) is the same as the one specified, otherwise return a 412"): a GET or
 * HEAD whose If-Match names another ETag than the object's gets 412 PreconditionFailed with S3's
 * XML error, a ranged GET (206) as a whole one. A ranged GET of an empty object gets 416
 * InvalidRange, as from S3 (s3rver answers 206 `bytes 0-0/0` with a length of 1 and no body). Requests are forwarded unchanged (Host included, so SigV4 signatures still verify),
 * and each one is recorded with the bytes of body sent back to the client.
 *
 * s3rver ignores If-None-Match on PutObject too, and writes over an existing object. A PUT with
 * `If-None-Match: *` gets 412 here when the object exists (S3 API reference, PutObject: "Uploads
 * the object only if the object key name does not already exist"), asked of s3rver with an
 * unsigned HEAD first: one check, then the write, so two such PUTs at once may both write (S3 lets
 * one win); tests order their puts.
 */
export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
  readonly ifMatch: string | undefined;
  /** The Range header asked for. */
  readonly range: string | undefined;
  status: number;
  /** Body bytes written to the client's connection (its socket buffers included) before the response ended or the client closed it. */
  bytesSent: number;
}

export interface IfMatchProxy {
  /** `http://127.0.0.1:<port>`: the value of AWS_ENDPOINT_URL_S3. */
  readonly url: string;
  readonly requests: ProxiedRequest[];
  close(): Promise<void>;
}

const preconditionFailed = (condition: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>${condition}</Condition></Error>`;
const PRECONDITION_FAILED = preconditionFailed('If-Match');
const OBJECT_EXISTS = preconditionFailed('If-None-Match');

const INVALID_RANGE =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidRange</Code><Message>The requested range is not satisfiable</Message><RangeRequested>bytes=0-</RangeRequested><ActualObjectSize>0</ActualObjectSize></Error>';

const unquoted = (etag: string) => etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');

export async function startIfMatchProxy(upstream: string): Promise<IfMatchProxy> {
  const target = new URL(upstream);
  const requests: ProxiedRequest[] = [];
  const exists = (path: string) =>
    new Promise<boolean>((resolve, reject) => {
      http
        .request({ host: target.hostname, port: target.port, method: 'HEAD', path }, (answer) => {
          answer.resume();
          resolve(answer.statusCode === 200);
        })
        .on('error', reject)
        .end();
    });
  const server = http.createServer((request, response) => {
    if (request.method === 'PUT' && request.headers['if-none-match']?.trim() === '*') {
      request.pause();
      exists(new URL(request.url ?? '/', 'http://s3').pathname).then(
        (found) => {
          if (!found) return forward(request, response);
          requests.push({ method: 'PUT', path: request.url ?? '', ifMatch: undefined, range: undefined, status: 412, bytesSent: 0 });
          request.resume();
          response.writeHead(412, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(OBJECT_EXISTS) }).end(OBJECT_EXISTS);
        },
        () => response.destroy(),
      );
      return;
    }
    forward(request, response);
  });
  const forward = (request: http.IncomingMessage, response: http.ServerResponse) => {
    const ifMatch = request.headers['if-match'];
    const forwarded = http.request({ host: target.hostname, port: target.port, method: request.method, path: request.url, headers: request.headers }, (answer) => {
      const etag = answer.headers.etag;
      const served = answer.statusCode === 200 || answer.statusCode === 206;
      const refused = ifMatch !== undefined && served && ifMatch.trim() !== '*' && (etag === undefined || unquoted(etag) !== unquoted(ifMatch));
      const record: ProxiedRequest = { method: request.method ?? '', path: request.url ?? '', ifMatch, range: request.headers.range, status: refused ? 412 : (answer.statusCode ?? 0), bytesSent: 0 };
      requests.push(record);
      if (request.headers.range !== undefined && answer.headers['content-range'] === 'bytes 0-0/0') {
        record.status = 416;
        answer.destroy();
        response.writeHead(416, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(INVALID_RANGE) }).end(INVALID_RANGE);
        return;
      }
      if (refused) {
        answer.destroy();
        response.writeHead(412, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(PRECONDITION_FAILED) }).end(PRECONDITION_FAILED);
        return;
      }
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.on('data', (chunk: Buffer) => {
        record.bytesSent += chunk.length;
        // Backpressure: a client that stops reading stops the upstream too, as S3 does.
        if (!response.write(chunk)) {
          answer.pause();
          response.once('drain', () => answer.resume());
        }
      });
      answer.on('end', () => response.end());
      answer.on('error', () => response.destroy());
      response.on('close', () => answer.destroy());
    });
    forwarded.on('error', () => response.destroy());
    request.pipe(forwarded);
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
