import { describe, expect, it } from 'vitest';
import { composeQuery, createdQualifier, parseSearchScope, starsQualifier, tokenize } from '../../src/discovery/search-query.js';

const defaults = { since: undefined, includeForks: false, includeArchived: false };
const day = (date: string) => Date.parse(`${date}T00:00:00Z`) / 1000;

describe('parseSearchScope', () => {
  it('keeps the other qualifiers, leaves archived repositories out and takes stars and created as the domain', () => {
    const scope = parseSearchScope('language:java stars:>10 created:2020-01-01..2020-12-31 sort:updated', defaults);

    expect(scope).toEqual({ base: 'language:java archived:false', stars: { lo: 11, hi: null }, created: { lo: day('2020-01-01'), hi: day('2021-01-01') } });
  });

  it('adds pushed:>= for --since and fork:true for --include-forks, and respects the archived: the query sets', () => {
    const scope = parseSearchScope('archived:true topic:cli', { since: '2026-11-01', includeForks: true, includeArchived: false });

    expect(scope.base).toBe('archived:true topic:cli pushed:>=2026-11-01 fork:true');
  });

  it('refuses a query that GitHub could not search once a bucket adds its stars:, created: and sort: terms (256 characters at most)', () => {
    const orgs = (n: number) => Array.from({ length: n }, (_, i) => `org:team-${String(i).padStart(3, '0')}`).join(' ');

    const fits = () => parseSearchScope(orgs(11), defaults);
    const tooLong = () => parseSearchScope(orgs(12), defaults);

    expect(fits).not.toThrow();
    expect(tooLong).toThrow(expect.objectContaining({ code: 'query_too_long', exitCode: 2, message: expect.stringContaining('--query is too long by 10 characters: GitHub searches at most 256') }));
  });

  it('understands every stars range form', () => {
    const stars = (query: string) => parseSearchScope(query, defaults).stars;

    expect([stars('stars:5'), stars('stars:10..20'), stars('stars:>=3'), stars('stars:<100'), stars('stars:<=100'), stars('stars:*..9'), stars('stars:7..*')]).toEqual([
      { lo: 5, hi: 6 },
      { lo: 10, hi: 21 },
      { lo: 3, hi: null },
      { lo: 0, hi: 100 },
      { lo: 0, hi: 101 },
      { lo: 0, hi: 10 },
      { lo: 7, hi: null },
    ]);
  });

  it('keeps quoted values together', () => {
    expect(tokenize('language:"Jupyter Notebook" stars:>1')).toEqual(['language:"Jupyter Notebook"', 'stars:>1']);
  });

  it('rejects a --since that is not a date and a stars range that is empty, naming the value', () => {
    expect(() => parseSearchScope('x', { ...defaults, since: 'yesterday' })).toThrow(/--since must be a date .*"yesterday"/);
    expect(() => parseSearchScope('x', { ...defaults, since: '2025-02-30' })).toThrow(/--since must be a date .*"2025-02-30"/);
    expect(() => parseSearchScope('x', { ...defaults, since: '2025-13-01T00:00:00Z' })).toThrow(/"2025-13-01T00:00:00Z"/);
    expect(() => parseSearchScope('stars:10..5', defaults)).toThrow(expect.objectContaining({ code: 'query_empty_range', exitCode: 2 }));
  });
});

describe('qualifiers', () => {
  it('writes star ranges as GitHub reads them', () => {
    expect([starsQualifier(0, null), starsQualifier(5, 6), starsQualifier(10, 20)]).toEqual(['stars:>=0', 'stars:5', 'stars:10..19']);
  });

  it('writes created ranges in whole seconds, open at either end', () => {
    expect(createdQualifier(null, day('2020-01-01'))).toBe('created:<2020-01-01T00:00:00Z');
    expect(createdQualifier(day('2020-01-01'), null)).toBe('created:>=2020-01-01T00:00:00Z');
    expect(createdQualifier(day('2020-01-01'), day('2020-01-02'))).toBe('created:2020-01-01T00:00:00Z..2020-01-01T23:59:59Z');
    expect(createdQualifier(null, null)).toBeUndefined();
  });

  it('sorts by stars, most first, after the terms', () => {
    expect(composeQuery('language:go', 'stars:5', undefined)).toBe('language:go stars:5 sort:stars-desc');
  });
});
