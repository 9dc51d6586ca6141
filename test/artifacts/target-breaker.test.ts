import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { StepError } from '../../src/errors.js';
import { TargetBreaker } from '../../src/artifacts/target-breaker.js';

const timeout = (n: number) => new StepError('publish_timeout', `HEAD http://repo.test/a${n} got no answer within 30 s of sending the request`, { retryable: true });

/** A breaker with a clock the test moves, and the log lines it wrote. */
function breakerWithClock(threshold = 3, cooldownMs = 60_000) {
  const clock = { now: 1_000_000 };
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, new Writable({
      write: (chunk, _encoding, done) => {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }));
  const breaker = new TargetBreaker('http://repo.test', { threshold, cooldownMs }, log, () => clock.now);
  return { breaker, clock, messages: () => lines.map((line) => line.msg) };
}

function refusal(breaker: TargetBreaker): StepError | undefined {
  try {
    breaker.admit('PUT http://repo.test/x.jar').abandoned();
    return undefined;
  } catch (err) {
    return err as StepError;
  }
}

describe('TargetBreaker', () => {
  it('skips the target after the threshold of attempts in a row without an answer, naming the last failure', () => {
    const { breaker, messages } = breakerWithClock(3);

    const verdicts = [1, 2, 3].map((n) => breaker.admit('HEAD x').unanswered(timeout(n)));
    const refused = refusal(breaker);

    expect(verdicts).toEqual([false, false, true]);
    expect([refused?.code, refused?.retryable]).toEqual(['publish_target_down', false]);
    expect(refused?.message).toContain('PUT http://repo.test/x.jar not sent: the publish target http://repo.test gave no answer to 3 attempts in a row');
    expect(refused?.message).toContain('(the last: HEAD http://repo.test/a3 got no answer within 30 s of sending the request)');
    expect(messages()).toEqual(['Publish target not answering, failing fast']);
  });

  it('counts only failures in a row: any answer starts the count again', () => {
    const { breaker } = breakerWithClock(3);

    breaker.admit('a').unanswered(timeout(1));
    breaker.admit('b').unanswered(timeout(2));
    breaker.admit('c').answered();
    const verdicts = [3, 4].map((n) => breaker.admit('d').unanswered(timeout(n)));

    expect(verdicts).toEqual([false, false]);
    expect(refusal(breaker)).toBeUndefined();
  });

  it('lets one request probe the target after the cool-down, refusing the others meanwhile, and closes when it answers', () => {
    const { breaker, clock, messages } = breakerWithClock(1, 60_000);
    breaker.admit('a').unanswered(timeout(1));

    clock.now += 59_999;
    const early = refusal(breaker);
    clock.now += 1;
    const probe = breaker.admit('probe');
    const duringProbe = refusal(breaker);
    probe.answered();
    const afterProbe = refusal(breaker);

    expect([early?.code, duringProbe?.code, afterProbe]).toEqual(['publish_target_down', 'publish_target_down', undefined]);
    expect(messages()).toEqual(['Publish target not answering, failing fast', 'Publish target answering again']);
  });

  it('skips the target for another cool-down when the probe gets no answer', () => {
    const { breaker, clock, messages } = breakerWithClock(1, 60_000);
    breaker.admit('a').unanswered(timeout(1));
    clock.now += 60_000;

    const verdict = breaker.admit('probe').unanswered(timeout(2));
    clock.now += 59_999;
    const stillSkipped = refusal(breaker);

    expect(verdict).toBe(true);
    expect(stillSkipped?.code).toBe('publish_target_down');
    expect(messages()).toEqual(['Publish target not answering, failing fast', 'Publish target still not answering']);
  });

  it('lets the next request probe when a probe ends without a verdict (stopped by a signal)', () => {
    const { breaker, clock } = breakerWithClock(1, 1000);
    breaker.admit('a').unanswered(timeout(1));
    clock.now += 1000;

    breaker.admit('probe').abandoned();
    const next = breaker.admit('next probe');

    expect(next).toBeDefined();
  });

  it('counts an answer that stalls after its headers as a failure, though the headers already counted as an answer', () => {
    const { breaker } = breakerWithClock(2);
    const stalled = breaker.admit('GET listing');

    stalled.answered();
    const first = stalled.unanswered(timeout(1));
    const second = breaker.admit('GET listing').unanswered(timeout(2));

    expect([first, second]).toEqual([false, true]);
  });

  it('never skips the target with a threshold of 0', () => {
    const { breaker } = breakerWithClock(0);

    const verdicts = [1, 2, 3, 4, 5].map((n) => breaker.admit('a').unanswered(timeout(n)));

    expect(verdicts).toEqual([false, false, false, false, false]);
    expect(refusal(breaker)).toBeUndefined();
  });

  it('tells a request that fails while the target is already skipped not to retry', () => {
    const { breaker } = breakerWithClock(2);
    const inFlight = breaker.admit('slow');

    breaker.admit('a').unanswered(timeout(1));
    breaker.admit('b').unanswered(timeout(2));
    const verdict = inFlight.unanswered(timeout(3));

    expect(verdict).toBe(true);
  });

  it('tells work that would publish whether the target is skipped now, without taking the request that tries it again', () => {
    const { breaker, clock } = breakerWithClock(2, 60_000);

    const closed = breaker.skipping('Not cloned or built');
    [1, 2].forEach((n) => breaker.admit('HEAD x').unanswered(timeout(n)));
    const open = breaker.skipping('Not cloned or built');
    clock.now += 60_000;
    const due = breaker.skipping('Not cloned or built');
    const probe = breaker.admit('HEAD x');
    const whileProbing = breaker.skipping('Not cloned or built');
    probe.answered();
    const answered = breaker.skipping('Not cloned or built');

    expect(closed).toBeUndefined();
    expect([open?.code, open?.message.startsWith('Not cloned or built: the publish target http://repo.test gave no answer to 2 attempts in a row')]).toEqual(['publish_target_down', true]);
    expect(due).toBeUndefined();
    expect(probe.probe).toBe(true);
    expect(whileProbing?.code).toBe('publish_target_down');
    expect(answered).toBeUndefined();
  });
});
