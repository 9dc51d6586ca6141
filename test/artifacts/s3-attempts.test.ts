import { Readable } from 'node:stream';
import type { HttpHandlerOptions, HttpRequest, HttpResponse, RequestHandlerOutput } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import type { S3RequestHandler } from '../../src/aws/s3.js';
import { PublishAttempts } from '../../src/artifacts/s3-attempts.js';
import { TargetBreaker } from '../../src/artifacts/target-breaker.js';

type Answer = (request: HttpRequest, options: HttpHandlerOptions) => Promise<RequestHandlerOutput<HttpResponse>>;

/** The SDK's request handler, answering as `answers` says, one per attempt (the last one repeats). */
function handler(answers: Answer[]): S3RequestHandler & { calls: number } {
  const state = {
    calls: 0,
    metadata: { handlerProtocol: 'http/1.1' },
    handle(request: HttpRequest, options: HttpHandlerOptions = {}) {
      const answer = answers[Math.min(state.calls, answers.length - 1)] as Answer;
      state.calls += 1;
      return answer(request, options);
    },
  };
  return state;
}

const refused: Answer = async () => {
  throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
};
/** Headers at once, then a body nobody needs to read. */
const answeredWithBody: Answer = async () => ({ response: { statusCode: 200, headers: {}, body: new Readable({ read() {} }) } });
const answered: Answer = async () => ({ response: { statusCode: 200, headers: {}, body: Readable.from([Buffer.from('<ok/>')]) } });
/** Still sending when the deadline comes: the SDK's handler gives up only when told to. */
const stillSending: Answer = (_request, options) =>
  new Promise((_resolve, reject) => (options.abortSignal as AbortSignal).addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }))));

function put(path = '/bucket/key', contentLength = 0): HttpRequest {
  return { method: 'PUT', protocol: 'http:', hostname: '127.0.0.1', port: 9, path, query: {}, headers: { 'content-length': String(contentLength) }, body: undefined };
}

function attempts(answers: Answer[], threshold: number, idleMs = 30_000) {
  const clock = { now: 1_000_000 };
  const breaker = new TargetBreaker('s3://bucket', { threshold, cooldownMs: 60_000 }, undefined, () => clock.now);
  const inner = handler(answers);
  return { client: new PublishAttempts(inner, breaker, { idleMs }), inner, breaker, clock };
}

describe('PublishAttempts', () => {
  it('lets the SDK retry an attempt without an answer, ends its retries with publish_unreachable at the threshold, then sends nothing', async () => {
    const { client, inner } = attempts([refused], 2);

    const first = await client.handle(put()).catch((err: unknown) => err);
    const second = await client.handle(put()).catch((err: unknown) => err);
    const third = await client.handle(put()).catch((err: unknown) => err);

    expect(first).toMatchObject({ code: 'ECONNREFUSED' });
    expect(second).toMatchObject({ code: 'publish_unreachable', message: expect.stringContaining('PUT http://127.0.0.1:9/bucket/key got no answer') });
    expect(third).toMatchObject({ code: 'publish_target_down' });
    expect(inner.calls).toBe(2);
  });

  it('uses the target normally again once the request trying it after the cool-down is answered, though nobody reads its body', async () => {
    const { client, inner, breaker, clock } = attempts([refused, answeredWithBody, refused], 1);
    await client.handle(put()).catch(() => undefined);
    clock.now += 60_001;

    const probe = await client.handle(put());
    const afterProbe = breaker.skipping('Not cloned or built');
    const failedAgain = await client.handle(put()).catch((err: unknown) => err);

    expect(probe.response.statusCode).toBe(200);
    expect(afterProbe).toBeUndefined();
    // Failing again after it recovered: one attempt in a row is the threshold, the target is skipped again.
    expect(failedAgain).toMatchObject({ code: 'publish_unreachable' });
    expect(breaker.skipping('Not cloned or built')).toMatchObject({ code: 'publish_target_down' });
    expect(inner.calls).toBe(3);
  });

  it('gives up an attempt still sending at its deadline as a time-out the SDK retries, without counting it against the target', async () => {
    const { client, breaker, inner } = attempts([stillSending, stillSending, answered], 1, 5);

    const errors = [await client.handle(put()).catch((err: unknown) => err), await client.handle(put()).catch((err: unknown) => err)];
    const third = await client.handle(put());

    expect(errors).toEqual([expect.objectContaining({ name: 'TimeoutError', message: expect.stringContaining('was still unfinished at its deadline') }), expect.objectContaining({ name: 'TimeoutError' })]);
    expect(breaker.skipping('Not cloned or built')).toBeUndefined();
    expect(third.response.statusCode).toBe(200);
    expect(inner.calls).toBe(3);
  });

  it('counts an answer whose body breaks off as no answer', async () => {
    const broken: Answer = async () => {
      const body = new Readable({ read() {} });
      setImmediate(() => body.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })));
      return { response: { statusCode: 200, headers: {}, body } };
    };
    const { client, breaker } = attempts([broken], 1);

    const output = await client.handle(put());
    const error = await new Promise((resolve) => (output.response.body as Readable).on('error', resolve).resume());

    expect(error).toMatchObject({ code: 'ECONNRESET' });
    expect(breaker.skipping('Not cloned or built')).toMatchObject({ code: 'publish_target_down' });
  });

  it('does not count an attempt the stop signal ended', async () => {
    const stop = new AbortController();
    const { client, breaker } = attempts([stillSending], 1);

    const attempt = client.handle(put(), { abortSignal: stop.signal as HttpHandlerOptions['abortSignal'] }).catch((err: unknown) => err);
    stop.abort();

    expect(await attempt).toMatchObject({ name: 'AbortError' });
    expect(breaker.skipping('Not cloned or built')).toBeUndefined();
  });
});
