import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ChecksumSidecarStore } from '../../src/artifacts/checksum-sidecars.js';
import { HttpStore, PUBLISH_RETRY } from '../../src/artifacts/http-store.js';
import type { ArtifactStore } from '../../src/artifacts/store.js';
import { digestFile } from '../../src/artifacts/digests.js';
import { StepError, UsageError } from '../../src/errors.js';
import { retryDelays, type RetryPolicy } from '../../src/retry.js';
import { findFreePort } from '../harness/free-port.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { startNginxWebdav } from '../harness/nginx.js';
import { startFaultServer, type FaultServer } from '../fakes/fault-server.js';
import { mismatchedArtifacts, publishTwoAtOnce, RACED_DIR, twoBuildsOfOneCommit, type ManifestOrder } from '../fakes/interleaving-store.js';
import { selfSignedCertificate } from '../fakes/tls.js';

const FAST: RetryPolicy = { retries: 3, minTimeout: 10, maxTimeout: 50, factor: 2, randomize: false };
const BASIC = `Basic ${Buffer.from('deployer:s3cret-pw').toString('base64')}`;

let tmp: TempDir;
let server: FaultServer;
let file: string;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-http-store-');
  file = path.join(tmp.path, 'lib.jar');
  await fs.writeFile(file, randomBytes(3 * 1024 * 1024 + 17));
});

afterAll(async () => {
  await tmp.remove();
});

afterEach(async () => {
  await server?.stop();
});

async function start(options: Parameters<typeof startFaultServer>[0] = { authorization: BASIC }): Promise<HttpStore> {
  server = await startFaultServer(options);
  return new HttpStore({ url: `${server.baseUrl}/repo`, user: 'deployer', password: 's3cret-pw', retry: FAST });
}

async function putError(store: HttpStore, key = 'g/lib.jar'): Promise<StepError> {
  const error = await store.putFile(key, file, await digestFile(file)).catch((err: unknown) => err);
  expect(error).toBeInstanceOf(StepError);
  return error as StepError;
}

describe('HttpStore', () => {
  it('streams a file with basic auth, Content-Length and Artifactory checksum headers', async () => {
    const store = await start();
    const digests = await digestFile(file);

    await store.putFile('com/acme/lib.jar', file, digests);

    expect(server.files.get('/repo/com/acme/lib.jar')?.equals(await fs.readFile(file))).toBe(true);
    const [put] = server.requests;
    expect(put?.headers).toMatchObject({
      authorization: BASIC,
      'content-length': String(digests.size),
      'x-checksum-sha1': digests.sha1,
      'x-checksum-sha256': digests.sha256,
      'x-checksum-md5': digests.md5,
    });
    expect(put?.headers['transfer-encoding']).toBeUndefined();
  });

  it('sends a bearer token when PUBLISH_TOKEN is set, in preference to user and password', async () => {
    server = await startFaultServer({ authorization: 'Bearer tok-123' });
    const store = new HttpStore({ url: `${server.baseUrl}/repo/`, user: 'u', password: 'p', token: 'tok-123', retry: FAST });

    await store.putBytes('a/manifest.json', Buffer.from('{}'), 'application/json');

    expect(server.files.get('/repo/a/manifest.json')?.toString()).toBe('{}');
  });

  it('sends If-None-Match: * on a put only-if-absent and answers false when the server keeps its file (412)', async () => {
    const store = await start();

    const first = await store.putBytes('a/manifest.json', Buffer.from('{"first":1}'), 'application/json', { ifAbsent: true });
    const second = await store.putBytes('a/manifest.json', Buffer.from('{"second":2}'), 'application/json', { ifAbsent: true });

    expect([first, second]).toEqual([true, false]);
    expect(server.requests.map((request) => [request.headers['if-none-match'], request.result])).toEqual([
      ['*', 201],
      ['*', 412],
    ]);
    expect(server.files.get('/repo/a/manifest.json')?.toString()).toBe('{"first":1}');
  });

  it('answers exists and read from HEAD and GET, treating 404 as absent', async () => {
    const store = await start();
    await store.putBytes('a/b.txt', Buffer.from('hello'), 'text/plain');

    const found = [await store.exists('a/b.txt'), await store.exists('a/none.txt')];
    const read = [(await store.read('a/b.txt'))?.toString(), await store.read('a/none.txt')];

    expect(found).toEqual([true, false]);
    expect(read).toEqual(['hello', undefined]);
  });

  it('retries a 503 and succeeds on the next attempt', async () => {
    const store = await start();
    server.addFault({ method: 'PUT', times: 1, fault: { kind: 'status', status: 503 } });

    await store.putFile('g/lib.jar', file, await digestFile(file));

    expect(server.requests.map((request) => request.result)).toEqual([503, 201]);
  });

  it('retries a connection dropped mid-body and stores the whole file on the retry', async () => {
    const store = await start();
    server.addFault({ method: 'PUT', times: 2, fault: { kind: 'drop-mid-body' } });

    await store.putFile('g/lib.jar', file, await digestFile(file));

    expect(server.requests.map((request) => request.result)).toEqual(['dropped', 'dropped', 201]);
    expect(createHash('sha256').update(server.files.get('/repo/g/lib.jar')!).digest('hex')).toBe((await digestFile(file)).sha256);
  });

  it('waits at least the Retry-After of a 429 before the next attempt', async () => {
    const store = await start();
    server.addFault({ method: 'PUT', times: 1, fault: { kind: 'status', status: 429, headers: { 'Retry-After': '1' } } });

    await store.putBytes('g/x.txt', Buffer.from('x'), 'text/plain');

    const [first, second] = server.requests;
    expect([first?.result, second?.result]).toEqual([429, 201]);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1000);
  });

  it('caps a Retry-After that asks for an hour', async () => {
    server = await startFaultServer();
    const store = new HttpStore({ url: server.baseUrl, retry: FAST, retryAfterCapMs: 20 });
    server.addFault({ times: 1, fault: { kind: 'status', status: 429, headers: { 'Retry-After': '3600' } } });

    await store.putBytes('x.txt', Buffer.from('x'), 'text/plain');

    expect(server.requests.map((request) => request.result)).toEqual([429, 201]);
  });

  it('does not retry a 401: one request, publish_auth with the status and the URL without credentials', async () => {
    server = await startFaultServer({ authorization: BASIC });
    const store = new HttpStore({ url: `${server.baseUrl}/repo`, user: 'deployer', password: 'wrong-password', retry: FAST });

    const error = await putError(store);

    expect(server.requests).toHaveLength(1);
    expect([error.code, error.status, error.retryable]).toEqual(['publish_auth', 401, false]);
    expect(error.message).toContain(`PUT ${server.baseUrl}/repo/g/lib.jar answered HTTP 401`);
    expect(error.message).not.toContain('wrong-password');
  });

  it('asks for 100-continue and sends no body when the server refuses the PUT at once', async () => {
    const store = await start();
    server.addFault({ method: 'PUT', fault: { kind: 'status', status: 401, early: true } });

    const error = await putError(store);

    expect([error.code, error.status]).toEqual(['publish_auth', 401]);
    expect(server.requests.map((request) => request.headers.expect)).toEqual(['100-continue']);
  });

  it('maps 403 to publish_auth, 404 to publish_not_found and other 4xx to publish_http_<status>, without retrying', async () => {
    const store = await start();
    server.addFault({ path: 'forbidden', fault: { kind: 'status', status: 403 } });
    server.addFault({ path: 'missing', fault: { kind: 'status', status: 404 } });
    server.addFault({ path: 'conflict', fault: { kind: 'status', status: 409 } });

    const codes = [(await putError(store, 'forbidden/a')).code, (await putError(store, 'missing/a')).code, (await putError(store, 'conflict/a')).code];

    expect(codes).toEqual(['publish_auth', 'publish_not_found', 'publish_http_409']);
    expect(server.requests).toHaveLength(3);
  });

  it('does not follow a redirect: publish_http_302 naming the Location without its credentials, one request', async () => {
    const store = await start();
    server.addFault({ fault: { kind: 'status', status: 302, headers: { Location: 'https://user:hidden-pw@repo.test/repo/g/lib.jar' } } });

    const error = await putError(store);

    expect(server.requests).toHaveLength(1);
    expect([error.code, error.retryable]).toEqual(['publish_http_302', false]);
    expect(error.message).toContain('answered HTTP 302 (to https://***@repo.test/repo/g/lib.jar)');
    expect(error.message).not.toContain('hidden-pw');
  });

  it('abandons an upload in flight when the stop signal fires, and does not retry it', async () => {
    server = await startFaultServer({ authorization: BASIC });
    server.addFault({ method: 'PUT', fault: { kind: 'stall' } });
    const stop = new AbortController();
    const store = new HttpStore({ url: `${server.baseUrl}/repo`, user: 'deployer', password: 's3cret-pw', retry: FAST, signal: stop.signal });

    const pending = putError(store);
    await server.nextStall();
    stop.abort();
    const error = await pending;

    expect([error.code, error.retryable]).toEqual(['aborted', false]);
    expect(server.requests.map((request) => request.result)).toEqual(['stalled']);
  });

  it('gives up on a target that keeps answering 500 after the bounded retries', async () => {
    const store = await start();
    server.addFault({ fault: { kind: 'status', status: 500 } });

    const error = await putError(store);

    expect([error.code, error.status]).toEqual(['publish_unreachable', 500]);
    expect(server.requests).toHaveLength(FAST.retries + 1);
  });

  it('reports a refused connection as publish_unreachable', async () => {
    const port = await findFreePort();
    const store = new HttpStore({ url: `http://127.0.0.1:${port}/repo`, retry: FAST });

    const error = await putError(store);

    expect(error.code).toBe('publish_unreachable');
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('verifies TLS: a certificate it does not trust fails at once and names NODE_EXTRA_CA_CERTS', async () => {
    const cert = selfSignedCertificate(tmp.path);
    server = await startFaultServer({ tls: cert });
    const store = new HttpStore({ url: `${server.baseUrl}/repo`, retry: FAST });

    const error = await putError(store);

    expect([error.code, error.retryable]).toEqual(['publish_tls', false]);
    expect(error.message).toContain('failed TLS verification (DEPTH_ZERO_SELF_SIGNED_CERT)');
    expect(error.message).toContain('NODE_EXTRA_CA_CERTS=/path/ca.pem');
    expect(server.requests).toHaveLength(0);
  });

  it('refuses a PUBLISH_URL that carries credentials, without echoing them', () => {
    const create = () => new HttpStore({ url: 'https://user:hunter22@repo.example.test/maven' });

    expect(create).toThrow(UsageError);
    expect(create).toThrow(/PUBLISH_USER/);
    expect(create).not.toThrow(/hunter22/);
  });

  it('returns URLs without credentials, with each path segment encoded', async () => {
    const store = new HttpStore({ url: 'https://repo.example.test/artifactory/libs/', user: 'u', password: 'p' });

    const url = store.url('github.com/acme/my widget/build.log');

    expect(url).toBe('https://repo.example.test/artifactory/libs/github.com/acme/my%20widget/build.log');
  });

  it('uses a retry schedule of 0.5 s, 1 s and 2 s before jitter', () => {
    const delays = retryDelays(PUBLISH_RETRY);

    expect(delays).toEqual([500, 1000, 2000]);
  });

  it('warns once that credentials travel unencrypted to an http:// repository on another host', () => {
    const lines: Array<{ msg: string; publishUrl?: string }> = [];
    const log = pino({ level: 'warn' }, new Writable({
      write: (chunk, _encoding, done) => {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }));

    new HttpStore({ url: 'http://repo.example.test/artifactory/libs', user: 'deployer', password: 's3cret-pw', log });
    new HttpStore({ url: 'http://127.0.0.1:8081/libs', user: 'deployer', password: 's3cret-pw', log });
    new HttpStore({ url: 'https://repo.example.test/libs', token: 'tok-123456', log });
    new HttpStore({ url: 'http://repo.example.test/anonymous', log });

    expect(lines.map((line) => [line.msg, line.publishUrl])).toEqual([
      ['PUBLISH_URL is http://: the credentials (PUBLISH_USER/PUBLISH_PASSWORD or PUBLISH_TOKEN) travel unencrypted; use https://', 'http://repo.example.test/artifactory/libs'],
    ]);
    expect(JSON.stringify(lines)).not.toContain('s3cret-pw');
  });
});

/** The manifest, and a file's checksum file, against the bytes stored beside them. */
async function mismatches(store: ArtifactStore): Promise<string[]> {
  const sha256 = (body: Buffer | undefined) => (body ? createHash('sha256').update(body).digest('hex') : undefined);
  const sidecars = await Promise.all(
    ['widget.jar', 'manifest.json'].map(async (name) => ((await store.read(`${RACED_DIR}/${name}.sha256`))?.toString() === sha256(await store.read(`${RACED_DIR}/${name}`)) ? [] : [`${name}.sha256`])),
  );
  return [...(await mismatchedArtifacts(store, RACED_DIR)), ...sidecars.flat()];
}

const ORDERS: ManifestOrder[] = ['first-manifest-first', 'second-manifest-first'];

describe('two publishes of one commit from other bytes at once, over HTTP with checksum files', () => {
  it.each(ORDERS)('in one processor, on nginx WebDAV: the second finds the commit published and the first\'s files stay (%s)', async (order) => {
    const root = await createTempDir('mass-ingest-http-race-');
    const nginx = await startNginxWebdav({ root: root.path, user: 'deployer', password: 's3cret-pw', token: 'tok-123' });
    const builds = await twoBuildsOfOneCommit(path.join(tmp.path, `race-nginx-${order}`));
    const store = new ChecksumSidecarStore(new HttpStore({ url: `${nginx.baseUrl}/open`, retry: FAST }));

    const published = await publishTwoAtOnce(store, builds.main, builds.release, { processors: 1, order });
    const found = [await mismatches(store), published[1].alreadyPublished, (await store.read(`${RACED_DIR}/widget.jar`))?.toString()];
    await nginx.stop();
    await root.remove();

    expect(found).toEqual([[], true, 'jar built on main']);
  });

  // nginx writes over an existing file whatever If-None-Match says: two processors are only kept
  // apart by a server that answers 412 (here the fault server, as RFC 9110 servers do).
  it.each(ORDERS)('in two processors, on a server that honours If-None-Match: the manifest and checksum files describe the files beside them (%s)', async (order) => {
    server = await startFaultServer({});
    const builds = await twoBuildsOfOneCommit(path.join(tmp.path, `race-fault-${order}`));
    const store = new ChecksumSidecarStore(new HttpStore({ url: `${server.baseUrl}/repo`, retry: FAST }));

    await publishTwoAtOnce(store, builds.main, builds.release, { processors: 2, order });

    expect(await mismatches(store)).toEqual([]);
  });

  it('in two processors that built the same bytes, keeps the first manifest with its own checksum files', async () => {
    server = await startFaultServer({});
    const builds = await twoBuildsOfOneCommit(path.join(tmp.path, 'race-fault-reproduced'));
    const store = new ChecksumSidecarStore(new HttpStore({ url: `${server.baseUrl}/repo`, retry: FAST }));

    const published = await publishTwoAtOnce(store, builds.main, builds.releaseReproduced, { processors: 2, order: 'first-manifest-first' });

    expect(await mismatches(store)).toEqual([]);
    expect(published[1].alreadyPublished).toBe(true);
  });
});
