import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A GetObject-only S3 for reader tests: serves `objects` (path-style `/bucket/key`), honours
 * If-Match (412) and Range (206) as S3 does, unless `answer` says otherwise for a request
 * (the n-th GET, counted from 0): `ignore-range` answers 200 with the whole object, as some
 * S3-compatible servers and proxies do; `precondition` answers 412 whatever the ETag.
 */
export type Answer = 'normal' | 'ignore-range' | 'precondition' | 'invalid-range';

export interface ScriptedS3 {
  readonly url: string;
  readonly objects: Map<string, { body: Buffer; etag: string }>;
  readonly gets: Array<{ path: string; range: string | undefined; ifMatch: string | undefined; status: number }>;
  answer: (index: number) => Answer;
  close(): Promise<void>;
}

export async function startScriptedS3(): Promise<ScriptedS3> {
  const gets: ScriptedS3['gets'] = [];
  const objects = new Map<string, { body: Buffer; etag: string }>();
  const state: ScriptedS3 = { url: '', objects, gets, answer: () => 'normal', close: async () => undefined };
  const server = http.createServer((request, response) => {
    const index = gets.length;
    const key = decodeURIComponent((request.url ?? '').split('?')[0] ?? '');
    const range = request.headers.range;
    const ifMatch = request.headers['if-match'];
    const record = { path: key, range, ifMatch, status: 0 };
    gets.push(record);
    const answer = state.answer(index);
    const object = objects.get(key);
    const error = (status: number, code: string) => {
      record.status = status;
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${code}</Message></Error>`;
      response.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) }).end(body);
    };
    if (!object) return error(404, 'NoSuchKey');
    // `invalid-range`: Range checked before If-Match, as some S3-compatible servers do.
    if (answer === 'invalid-range') return error(416, 'InvalidRange');
    if (answer === 'precondition' || (ifMatch !== undefined && ifMatch !== object.etag)) return error(412, 'PreconditionFailed');
    const match = range === undefined || answer === 'ignore-range' ? null : /^bytes=(\d+)-(\d*)$/.exec(range);
    if (!match) {
      record.status = 200;
      response.writeHead(200, { etag: object.etag, 'content-length': object.body.length, 'content-type': 'text/csv' }).end(object.body);
      return;
    }
    const start = Number(match[1]);
    const end = match[2] ? Math.min(Number(match[2]), object.body.length - 1) : object.body.length - 1;
    if (start >= object.body.length) return error(416, 'InvalidRange');
    const part = object.body.subarray(start, end + 1);
    record.status = 206;
    response
      .writeHead(206, { etag: object.etag, 'content-length': part.length, 'content-range': `bytes ${start}-${end}/${object.body.length}`, 'content-type': 'text/csv' })
      .end(part);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
