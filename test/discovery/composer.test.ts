import { describe, expect, it } from 'vitest';
import { RequestComposer } from '../../src/discovery/composer.js';
import type { StreamState } from '../../src/discovery/types.js';

function stream(key: string, position: number, expected: number, fetched = 0): StreamState {
  return { key, position, source: { kind: 'search', query: key }, expected, goal: expected, fetched, cursor: fetched ? `c${fetched}` : null, exhausted: false };
}

describe('RequestComposer', () => {
  it('fills a request with the tail of one bucket and the head of the next', () => {
    const composer = new RequestComposer();
    composer.add([stream('a', 0, 937, 900), stream('b', 1, 500)]);

    const segments = composer.take();

    expect(segments.map(({ stream: s, first }) => [s.key, first])).toEqual([['a', 37], ['b', 63]]);
  });

  it('puts a stream in one request at a time, since its next page needs the previous cursor', () => {
    const composer = new RequestComposer();
    composer.add([stream('a', 0, 800), stream('b', 1, 800)]);

    const first = composer.take();
    const second = composer.take();
    const third = composer.take();

    expect(first.map((s) => s.stream.key)).toEqual(['a']);
    expect(second.map((s) => s.stream.key)).toEqual(['b']);
    expect(third).toEqual([]);
    expect(composer.available()).toBe(0);
  });

  it('continues started streams before fresh ones, then in planned order', () => {
    const composer = new RequestComposer();
    composer.add([stream('c', 2, 50), stream('a', 0, 30), stream('b', 1, 300, 100)]);

    const segments = composer.take();

    expect(segments.map(({ stream: s, first }) => [s.key, first])).toEqual([['b', 100]]);
    composer.release(segments);
    expect(composer.take().map(({ stream: s, first }) => [s.key, first])).toEqual([['b', 100]]);
  });

  it('never asks past the 1,000-result cap or the goal, and drops finished streams', () => {
    const composer = new RequestComposer();
    const capped = { ...stream('a', 0, 1000, 950), goal: 1200, expected: 1200 };
    const limited = { ...stream('b', 1, 900), goal: 20 };
    composer.add([capped, limited]);

    const segments = composer.take();
    capped.fetched = 1000;
    limited.fetched = 20;
    composer.release(segments);

    expect(segments.map(({ stream: s, first }) => [s.key, first])).toEqual([['a', 50], ['b', 20]]);
    expect(composer.pending()).toBe(0);
  });

  it('packs at most four streams into one request', () => {
    const composer = new RequestComposer();
    composer.add(Array.from({ length: 6 }, (_, i) => stream(`s${i}`, i, 10)));

    expect(composer.available()).toBe(40);
    expect(composer.take().length).toBe(4);
  });
});
