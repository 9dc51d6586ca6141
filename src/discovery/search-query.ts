import { UsageError } from '../errors.js';

/**
 * GitHub search qualifiers (https://docs.github.com/search-github/searching-on-github/searching-for-repositories).
 * The user's `stars:` and `created:` qualifiers become the domain the planner splits; `sort:` is
 * replaced by `sort:stars-desc`, which --limit relies on.
 */
export interface SearchScope {
  /** The user's other terms plus ours (pushed:>=, archived:false, fork:true). */
  readonly base: string;
  /** Stars domain [lo, hi); hi null = unbounded. */
  readonly stars: { readonly lo: number; readonly hi: number | null };
  /** Created domain [lo, hi) in epoch seconds; null = unbounded. */
  readonly created: { readonly lo: number | null; readonly hi: number | null };
}

export interface ScopeOptions {
  readonly since: string | undefined;
  readonly includeForks: boolean;
  readonly includeArchived: boolean;
}

const QUALIFIER = /^([a-zA-Z_]+):(.+)$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})?$/;
const DAY = 86_400;

export const SORT_TERM = 'sort:stars-desc';

export function parseSearchScope(query: string, options: ScopeOptions): SearchScope {
  const kept: string[] = [];
  let stars = { lo: 0, hi: null as number | null };
  let created = { lo: null as number | null, hi: null as number | null };
  const keys = new Set<string>();
  for (const term of tokenize(query)) {
    const match = QUALIFIER.exec(term);
    const key = match?.[1]?.toLowerCase();
    const value = match?.[2] ?? '';
    if (key) keys.add(key);
    if (key === 'stars') stars = intersect(stars, numericRange(value, term));
    else if (key === 'created') created = intersect(created, dateRange(value, term));
    else if (key !== 'sort') kept.push(term);
  }
  if (options.since !== undefined) kept.push(`pushed:>=${validSince(options.since)}`);
  if (!options.includeArchived && !keys.has('archived')) kept.push('archived:false');
  if (options.includeForks && !keys.has('fork')) kept.push('fork:true');
  if (stars.hi !== null && stars.hi <= stars.lo) throw new UsageError('query_empty_range', `--query "${query}" selects an empty stars range`);
  const base = kept.join(' ');
  checkLength(query, base);
  return { base, stars: { lo: Math.max(0, stars.lo), hi: stars.hi }, created };
}

/**
 * GitHub does not support search queries longer than 256 characters ("Troubleshooting search
 * queries"), and every bucket adds its own `stars:`, `created:` and `sort:` terms to the query.
 */
const MAX_QUERY_LENGTH = 256;

function checkLength(query: string, base: string): void {
  const widest = composeQuery(base, starsQualifier(1_000_000_000, 2_000_000_000), createdQualifier(0, 1));
  if (widest.length <= MAX_QUERY_LENGTH) return;
  throw new UsageError(
    'query_too_long',
    `--query is too long by ${widest.length - MAX_QUERY_LENGTH} characters: GitHub searches at most ${MAX_QUERY_LENGTH}, counting the stars:, created: and sort: terms discover adds to every bucket (and archived:, pushed:, fork:); split "${query}" into several runs`,
  );
}

/** Whitespace-separated terms; double quotes keep spaces (`language:"Jupyter Notebook"`). */
export function tokenize(query: string): string[] {
  return query.match(/(?:[^\s"]+|"[^"]*")+/g) ?? [];
}

/** `stars:` for the star values [lo, hi). */
export function starsQualifier(lo: number, hi: number | null): string {
  if (hi === null) return `stars:>=${lo}`;
  if (hi - 1 === lo) return `stars:${lo}`;
  return `stars:${lo}..${hi - 1}`;
}

/** `created:` for the seconds [lo, hi); undefined when unbounded on both sides. */
export function createdQualifier(lo: number | null, hi: number | null): string | undefined {
  if (lo === null && hi === null) return undefined;
  if (lo === null) return `created:<${isoSeconds(hi as number)}`;
  if (hi === null) return `created:>=${isoSeconds(lo)}`;
  return `created:${isoSeconds(lo)}..${isoSeconds(hi - 1)}`;
}

export function composeQuery(...terms: Array<string | undefined>): string {
  return [...terms, SORT_TERM].filter((term): term is string => Boolean(term && term.trim())).join(' ');
}

export function isoSeconds(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function validSince(since: string): string {
  if ((DATE.test(since) || DATE_TIME.test(since)) && !Number.isNaN(Date.parse(since)) && isCalendarDay(since.slice(0, 10))) return since;
  throw new UsageError('since_invalid', `--since must be a date (YYYY-MM-DD) or an ISO date-time, got "${since}"`);
}

/** Date.parse rolls 2025-02-30 over to March 2nd; a day that does not exist is refused. */
function isCalendarDay(day: string): boolean {
  return new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) === day;
}

type Range = { lo: number | null; hi: number | null };

function intersect<T extends Range>(a: T, b: Range): T {
  const lo = a.lo === null ? b.lo : b.lo === null ? a.lo : Math.max(a.lo, b.lo);
  const hi = a.hi === null ? b.hi : b.hi === null ? a.hi : Math.min(a.hi, b.hi);
  return { ...a, lo: lo ?? a.lo, hi };
}

/** Half-open [lo, hi) from `n`, `a..b`, `a..*`, `*..b`, `>n`, `>=n`, `<n`, `<=n`. */
function numericRange(value: string, term: string): Range {
  return parseRange(value, term, (text) => {
    if (!/^\d+$/.test(text)) throw new UsageError('query_invalid', `--query term "${term}" needs whole numbers of stars`);
    return { start: Number(text), next: Number(text) + 1 };
  });
}

function dateRange(value: string, term: string): Range {
  return parseRange(value, term, (text) => {
    const ms = Date.parse(DATE.test(text) ? `${text}T00:00:00Z` : text);
    if (!(DATE.test(text) || DATE_TIME.test(text)) || Number.isNaN(ms)) {
      throw new UsageError('query_invalid', `--query term "${term}" needs dates like 2024-01-31 or 2024-01-31T12:00:00Z`);
    }
    const start = Math.floor(ms / 1000);
    return { start, next: start + (DATE.test(text) ? DAY : 1) };
  });
}

/** `next` is where the value ends: a date covers its whole day, a number or date-time itself only. */
function parseRange(value: string, term: string, point: (text: string) => { start: number; next: number }): Range {
  const comparison = /^(>=|<=|>|<)(.+)$/.exec(value);
  if (comparison) {
    const { start, next } = point(comparison[2] as string);
    switch (comparison[1]) {
      case '>=': return { lo: start, hi: null };
      case '>': return { lo: next, hi: null };
      case '<=': return { lo: null, hi: next };
      default: return { lo: null, hi: start };
    }
  }
  const parts = value.split('..');
  if (parts.length === 2) {
    const [from, to] = parts as [string, string];
    return { lo: from === '*' ? null : point(from).start, hi: to === '*' ? null : point(to).next };
  }
  if (parts.length === 1) {
    const { start, next } = point(value);
    return { lo: start, hi: next };
  }
  throw new UsageError('query_invalid', `--query term "${term}" is not a range GitHub understands`);
}
