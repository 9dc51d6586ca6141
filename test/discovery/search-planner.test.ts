import { describe, expect, it } from 'vitest';
import { DiscoveryPlanner } from '../../src/discovery/planner.js';
import { parseSearchScope } from '../../src/discovery/search-query.js';
import type { Probe, StreamState } from '../../src/discovery/types.js';
import { generatePopulation, type FakeRepository } from '../fakes/github-population.js';
import { parseSearch } from '../fakes/github-search.js';

const NOW = Date.UTC(2026, 0, 1) / 1000;

/** Runs the planner to the end, answering its probes from the population as GitHub would count them. */
function plan(population: FakeRepository[], query: string, limit: number | null) {
  const planner = new DiscoveryPlanner({
    scope: parseSearchScope(query, { since: undefined, includeForks: true, includeArchived: true }),
    limit,
    orgs: [],
    users: [],
    filter: { includeForks: true, includeArchived: true },
    nowSeconds: NOW,
  });
  const count = (probe: Probe) => (probe.kind === 'search' ? population.filter(parseSearch(probe.query).matches).length : 0);
  const streams: StreamState[] = [];
  let rounds = 0;
  let probes = 0;
  while (!planner.complete()) {
    const asked = planner.probes(20);
    if (asked.length === 0) throw new Error('planner stalled');
    rounds += 1;
    probes += asked.length;
    streams.push(...planner.record(asked.map((probe) => ({ key: probe.key, count: count(probe) }))));
  }
  return { streams, rounds, probes, planner };
}

function matched(population: FakeRepository[], stream: StreamState): FakeRepository[] {
  return stream.source.kind === 'search' ? population.filter(parseSearch(stream.source.query).matches) : [];
}

describe('search planning', () => {
  it('cuts a search into buckets of at most 1,000 that cover every result exactly once, splitting crowded star values by creation time', () => {
    const population = generatePopulation({ size: 12_000, seed: 3 });

    const { streams, probes } = plan(population, 'fork:true', null);

    const seen = new Map<number, number>();
    for (const stream of streams) {
      const results = matched(population, stream);
      expect(results.length).toBe(stream.expected);
      expect(stream.expected).toBeLessThanOrEqual(1000);
      for (const repo of results) seen.set(repo.id, (seen.get(repo.id) ?? 0) + 1);
    }
    expect(seen.size).toBe(population.length);
    expect([...seen.values()].every((times) => times === 1)).toBe(true);
    expect(streams.some((stream) => stream.key.startsWith('search:created:0:'))).toBe(true);
    expect(streams.length).toBeLessThan(Math.ceil(population.length / 1000) * 2);
    expect(probes).toBeLessThan(streams.length * 4);
  });

  it('walks from the most stars down and stops at --limit, taking only part of the last bucket', () => {
    const population = generatePopulation({ size: 12_000, seed: 3 });

    const { streams } = plan(population, 'fork:true', 1500);

    const goals = streams.reduce((sum, stream) => sum + stream.goal, 0);
    const earlier = new Set(streams.slice(0, -1).flatMap((stream) => matched(population, stream).map((repo) => repo.id)));
    const lastStars = Math.max(...matched(population, streams.at(-1) as StreamState).map((repo) => repo.stars));
    expect(goals).toBe(1500);
    expect(population.filter((repo) => repo.stars > lastStars).every((repo) => earlier.has(repo.id))).toBe(true);
    expect(streams.at(-1)?.goal).toBeLessThan(streams.at(-1)?.expected ?? 0);
  });

  it('plans further when duplicates or empty repositories left a --limit short', () => {
    const population = generatePopulation({ size: 12_000, seed: 3 });
    const { streams, planner } = plan(population, 'fork:true', 1500);
    const last = streams.at(-1) as StreamState;
    const before = last.goal;

    const grown = planner.grow(30);

    expect(grown.length).toBeGreaterThan(0);
    expect(last.goal + grown.filter((stream) => stream !== last).reduce((sum, stream) => sum + stream.goal, 0)).toBe(before + 30);
  });

  it('keeps the stars range and creation dates the query sets', () => {
    const population = generatePopulation({ size: 12_000, seed: 3 });

    const { streams } = plan(population, 'fork:true stars:1..3 created:>=2020-01-01', null);

    const expected = population.filter((repo) => repo.stars >= 1 && repo.stars <= 3 && repo.createdAt >= Date.UTC(2020, 0, 1) / 1000);
    expect(streams.reduce((sum, stream) => sum + stream.expected, 0)).toBe(expected.length);
    expect(streams.every((stream) => stream.source.kind === 'search' && /created:/.test(stream.source.query))).toBe(true);
  });

  it('plans a search that starts above a billion stars in one round, then asks nothing more', () => {
    const planner = new DiscoveryPlanner({ scope: parseSearchScope('stars:>1000000000', { since: undefined, includeForks: true, includeArchived: true }), limit: null, orgs: [], users: [], filter: { includeForks: true, includeArchived: true }, nowSeconds: NOW });

    const streams = planner.record(planner.probes(20).map((probe) => ({ key: probe.key, count: 3 })));

    expect(streams.map((stream) => [stream.source.kind === 'search' ? stream.source.query : '', stream.expected])).toEqual([['fork:true stars:>=1000000001 sort:stars-desc', 3]]);
    expect(planner.probes(20)).toEqual([]);
    expect(planner.complete()).toBe(true);
  });

  it('answers a search of fewer than 1,000 results with one bucket after one round of probes', () => {
    const population = generatePopulation({ size: 600, seed: 5 });

    const { streams, rounds } = plan(population, 'fork:true', null);

    expect(rounds).toBe(1);
    expect(streams.map((stream) => [stream.key, stream.expected])).toEqual([['search:stars:0-1000000000', 600]]);
  });
});
