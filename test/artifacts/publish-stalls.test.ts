import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HttpStore } from '../../src/artifacts/http-store.js';
import { sendHttp } from '../../src/artifacts/http-request.js';
import { S3Store } from '../../src/artifacts/s3-store.js';
import { TargetBreaker } from '../../src/artifacts/target-breaker.js';
import { StepError } from '../../src/errors.js';
import type { RetryPolicy } from '../../src/retry.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { startSilentServer, type SilentServer } from '../fakes/silent-server.js';
import { startFaultServer } from '../fakes/fault-server.js';

// Every attempt below ends by the no-progress limit (0.3 s) or its deadline; the retries are bounded.
const IDLE = { idleMs: 300 };
const FAST: RetryPolicy = { retries: 3, minTimeout: 10, maxTimeout: 50, factor: 2, randomize: false };
const DIGESTS = { size: 0, sha256: 'x', sha1: 'x', md5: 'x' };

let tmp: TempDir;
let server: SilentServer | undefined;
const savedEnv = { ...process.env };

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-publish-stalls-');
});

afterEach(async () => {
  process.env = { ...savedEnv };
  await server?.stop();
  server = undefined;
});

afterAll(async () => {
  await tmp.remove();
});

function logLines() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, new Writable({
      write: (chunk, _encoding, done) => {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }));
  return { log, messages: () => lines.map((line) => line.msg) };
}

function httpStore(url: string, threshold: number, log = logLines().log): HttpStore {
  return new HttpStore({ url, retry: FAST, timeouts: IDLE, log, breaker: new TargetBreaker(url, { threshold, cooldownMs: 600_000 }, log) });
}

/** An S3 store whose client the store builds itself (limits and breaker included), pointed at `endpoint`. */
function s3Store(endpoint: string, log = logLines().log): S3Store {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test-secret-key',
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  return new S3Store({ url: 's3://artifacts/builds', s3: { forcePathStyle: true }, timeouts: IDLE, breaker: new TargetBreaker('s3://artifacts/builds', { threshold: 4, cooldownMs: 600_000 }, log) });
}

async function failure(pending: Promise<unknown>): Promise<StepError> {
  const error = await pending.then(() => undefined, (err: unknown) => err);
  expect(error).toBeInstanceOf(StepError);
  return error as StepError;
}

describe('publishing over HTTP to a target that stops making progress', () => {
  it('gives up on a server that accepts and never answers after the retries, then fails at once without connecting', async () => {
    server = await startSilentServer();
    const { log, messages } = logLines();
    const store = httpStore(`${server.baseUrl}/repo`, 4, log);

    const first = await failure(store.exists('a/manifest.json'));
    const connectionsAfterFirst = server.connections();
    const next = await failure(store.putBytes('b/manifest.json', Buffer.from('{}'), 'application/json'));

    expect([first.code, first.retryable]).toEqual(['publish_timeout', false]);
    expect(first.message).toBe(`HEAD ${server.baseUrl}/repo/a/manifest.json got no answer within 0.3 s of sending the request: the publish target is not responding (PUBLISH_TIMEOUT sets the limit)`);
    expect(connectionsAfterFirst).toBe(4);
    expect(next.code).toBe('publish_target_down');
    expect(next.message).toContain(`PUT ${server.baseUrl}/repo/b/manifest.json not sent: the publish target ${server.baseUrl}/repo gave no answer to 4 attempts in a row`);
    expect(server.connections()).toBe(4);
    expect(messages()).toEqual(['Publish request failed, retrying', 'Publish request failed, retrying', 'Publish request failed, retrying', 'Publish target not answering, failing fast']);
  });

  it('abandons an upload the server stops reading: no byte of the body taken for the limit', async () => {
    server = await startSilentServer();
    const file = path.join(tmp.path, 'big.bin');
    // Larger than what the kernel buffers of a loopback connection absorb (about 4 MiB here).
    await fs.writeFile(file, '');
    await fs.truncate(file, 16 * 1024 * 1024);
    const store = httpStore(`${server.baseUrl}/repo`, 1);

    const error = await failure(store.putFile('g/big.bin', file, { ...DIGESTS, size: 16 * 1024 * 1024 }));

    expect(error.code).toBe('publish_timeout');
    expect(error.message).toBe(`PUT ${server.baseUrl}/repo/g/big.bin stalled: the connection took no byte of the body for 0.3 s: the publish target is not responding (PUBLISH_TIMEOUT sets the limit)`);
    expect(server.connections()).toBe(1);
  });

  it('waits for a server reading a body slowly after the last byte went into the connection, and publishes it', async () => {
    // 2 MiB at 640 KiB/s: the connection takes the whole body at once (loopback buffers hold ~4 MiB), the server reads it in ~3 s.
    const slow = http.createServer((request, response) => {
      const reader = setInterval(() => request.read(64 * 1024) ?? request.read(), 100);
      request.on('end', () => {
        clearInterval(reader);
        response.writeHead(201).end();
      });
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(slow.address() as { port: number }).port}/repo`;
    const file = path.join(tmp.path, 'slowly-read.bin');
    await fs.writeFile(file, Buffer.alloc(2 * 1024 * 1024, 7));
    const store = httpStore(url, 1);

    const published = await store.putFile('g/slowly-read.bin', file, { ...DIGESTS, size: 2 * 1024 * 1024 }).then(() => 'published', (err: unknown) => (err as StepError).message);

    slow.closeAllConnections();
    await new Promise((resolve) => slow.close(resolve));
    expect(published).toBe('published');
  });

  it('gives up on an answer whose body stalls after the headers', async () => {
    server = await startSilentServer({ kind: 'stall-body', firstBytes: '<?xml version="1.0"?>' });
    const store = httpStore(`${server.baseUrl}/repo`, 1);

    const error = await failure(store.read('g/maven-metadata.xml'));

    expect(error.code).toBe('publish_timeout');
    expect(error.message).toBe(`GET ${server.baseUrl}/repo/g/maven-metadata.xml stalled: no byte of the answer came for 0.3 s: the publish target is not responding (PUBLISH_TIMEOUT sets the limit)`);
  });

  it('retries an exchange still progressing at its deadline without counting it as no answer: a slow target is not skipped', async () => {
    // Answers at once, then one byte of the body every 50 ms: within the no-progress limit, past the deadline (0.6 s).
    server = await startSilentServer({ kind: 'trickle-body', trickleMs: 50 });
    const url = `${server.baseUrl}/repo`;
    const breaker = new TargetBreaker(url, { threshold: 1, cooldownMs: 600_000 });
    const store = new HttpStore({ url, retry: FAST, timeouts: IDLE, breaker });

    const error = await failure(store.putBytes('s/slow.json', Buffer.from('{}'), 'application/json'));

    expect([error.code, error.message]).toEqual(['publish_timeout', `PUT ${url}/s/slow.json was still unfinished at its deadline, 0.6 s (twice PUBLISH_TIMEOUT plus 4 s per MiB): the publish target is not responding (PUBLISH_TIMEOUT sets the limit)`]);
    expect(server.connections()).toBe(4);
    expect(breaker.skipping('Not cloned or built')).toBeUndefined();
  });

  it('tries a skipped target again after the cool-down with one request, and uses it normally once it answers', async () => {
    const faulty = await startFaultServer();
    faulty.addFault({ times: 1, fault: { kind: 'stall' } });
    const clock = { now: Date.now() };
    const { log, messages } = logLines();
    const url = `${faulty.baseUrl}/repo`;
    const store = new HttpStore({ url, retry: FAST, timeouts: IDLE, log, breaker: new TargetBreaker(url, { threshold: 1, cooldownMs: 60_000 }, log, () => clock.now) });

    try {
      const stalled = await failure(store.exists('a/manifest.json'));
      const skipped = await failure(store.exists('a/manifest.json'));
      clock.now += 60_000;
      const probed = await store.exists('a/manifest.json');
      await store.putBytes('a/manifest.json', Buffer.from('{}'), 'application/json');

      expect([stalled.code, skipped.code, probed]).toEqual(['publish_timeout', 'publish_target_down', false]);
      expect(faulty.files.get('/repo/a/manifest.json')?.toString()).toBe('{}');
      expect(faulty.requests.map((request) => [request.method, request.result])).toEqual([
        ['HEAD', 'stalled'],
        ['HEAD', 404],
        ['PUT', 201],
      ]);
      expect(messages()).toEqual(['Publish target not answering, failing fast', 'Publish target answering again']);
    } finally {
      await faulty.stop();
    }
  });

  it('ends an exchange that trickles just fast enough to dodge the no-progress limit at its deadline', async () => {
    server = await startSilentServer({ kind: 'trickle-body', trickleMs: 50 });
    const url = new URL(`${server.baseUrl}/repo/slow.bin`);

    const error = await failure(sendHttp({ method: 'GET', url, shownUrl: url.href, headers: {}, agent: new http.Agent(), idleMs: 1000, answerWaitMs: 1000, deadlineMs: 400, maxBodyBytes: 1 }));

    expect([error.code, error.retryable]).toEqual(['publish_timeout', true]);
    expect(error.message).toContain(`GET ${url.href} was still unfinished at its deadline, 0.4 s`);
  });
});

describe('publishing to S3 when the endpoint stops making progress', () => {
  it('gives up on an endpoint that accepts and never answers after the SDK retries, then fails at once without connecting', async () => {
    server = await startSilentServer();
    const { log, messages } = logLines();
    const store = s3Store(server.baseUrl, log);

    const first = await failure(store.exists('a/manifest.json'));
    const connectionsAfterFirst = server.connections();
    const next = await failure(store.putBytes('b/manifest.json', Buffer.from('{}'), 'application/json', { ifAbsent: true }));

    expect([first.code, first.retryable]).toEqual(['publish_timeout', false]);
    expect(first.message).toContain(`GET ${server.baseUrl}/artifacts`);
    expect(first.message).toContain('made no progress within 0.3 s');
    expect(connectionsAfterFirst).toBe(4);
    expect(next.code).toBe('publish_target_down');
    expect(next.message).toContain('not sent: the publish target s3://artifacts/builds gave no answer to 4 attempts in a row');
    expect(server.connections()).toBe(4);
    expect(messages()).toEqual(['Publish target not answering, failing fast']);
  });

  it('gives up on a listing whose body stalls after the headers, and counts it as no answer', async () => {
    server = await startSilentServer({ kind: 'stall-body', contentType: 'application/xml', firstBytes: '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult>' });
    const store = s3Store(server.baseUrl);

    const first = await failure(store.exists('a/manifest.json'));
    const next = await failure(store.exists('b/manifest.json'));

    expect(first.code).toBe('publish_timeout');
    expect(next.code).toBe('publish_target_down');
    expect(server.connections()).toBe(4);
  });
});
