import type { FakeRepository } from './github-population.js';

/**
 * The part of GitHub's repository search syntax the fake understands
 * (https://docs.github.com/search-github/searching-on-github/searching-for-repositories):
 * stars:, created:, pushed: (n, a..b, a..*, *..b, >n, >=n, <n, <=n), language:, fork:,
 * archived:, user:, org:, is:public, sort:stars[-desc|-asc], and bare words matched against
 * the name. Anything else is an error, so a query the fake does not understand fails loudly.
 */
export interface ParsedSearch {
  /** Inclusive star bounds, for the index. */
  readonly minStars: number;
  readonly maxStars: number;
  readonly matches: (repo: FakeRepository) => boolean;
  readonly ascending: boolean;
}

export class FakeSearchError extends Error {}

type Bounds = { lo: number; hi: number };
const DAY = 86_400;

export function parseSearch(query: string): ParsedSearch {
  const tests: Array<(repo: FakeRepository) => boolean> = [];
  let stars: Bounds = { lo: 0, hi: Number.MAX_SAFE_INTEGER };
  let forks: 'exclude' | 'include' | 'only' = 'exclude';
  let ascending = false;
  for (const term of query.match(/(?:[^\s"]+|"[^"]*")+/g) ?? []) {
    const match = /^([a-z]+):(.+)$/i.exec(term);
    if (!match) {
      const word = term.replace(/"/g, '').toLowerCase();
      tests.push((repo) => repo.name.toLowerCase().includes(word));
      continue;
    }
    const key = (match[1] as string).toLowerCase();
    const value = (match[2] as string).replace(/^"|"$/g, '');
    switch (key) {
      case 'stars': {
        const range = comparison(value, parseCount);
        stars = { lo: Math.max(stars.lo, range.lo), hi: Math.min(stars.hi, range.hi - 1) };
        break;
      }
      case 'created':
      case 'pushed': {
        const range = comparison(value, parseTime);
        tests.push((repo) => {
          const time = key === 'created' ? repo.createdAt : repo.pushedAt;
          return time >= range.lo && time < range.hi;
        });
        break;
      }
      case 'language':
        tests.push((repo) => repo.language.toLowerCase() === value.toLowerCase());
        break;
      case 'fork':
        forks = value === 'true' ? 'include' : value === 'only' ? 'only' : value === 'false' ? 'exclude' : fail(term);
        break;
      case 'archived':
        if (value !== 'true' && value !== 'false') fail(term);
        tests.push((repo) => repo.isArchived === (value === 'true'));
        break;
      case 'user':
      case 'org':
        tests.push((repo) => repo.owner.toLowerCase() === value.toLowerCase());
        break;
      case 'is':
        if (value !== 'public') fail(term);
        break;
      case 'sort':
        if (!/^stars(-desc|-asc)?$/.test(value)) fail(term);
        ascending = value === 'stars-asc';
        break;
      default:
        fail(term);
    }
  }
  if (forks === 'exclude') tests.push((repo) => !repo.isFork);
  if (forks === 'only') tests.push((repo) => repo.isFork);
  const { lo, hi } = stars;
  return {
    minStars: lo,
    maxStars: hi,
    matches: (repo) => repo.stars >= lo && repo.stars <= hi && tests.every((test) => test(repo)),
    ascending,
  };
}

/** Half-open [lo, hi) from every comparison form; `point` gives a value's [start, end). */
function comparison(value: string, point: (text: string) => Bounds): Bounds {
  const op = /^(>=|<=|>|<)(.+)$/.exec(value);
  if (op) {
    const p = point(op[2] as string);
    if (op[1] === '>=') return { lo: p.lo, hi: Number.MAX_SAFE_INTEGER };
    if (op[1] === '>') return { lo: p.hi, hi: Number.MAX_SAFE_INTEGER };
    if (op[1] === '<=') return { lo: Number.MIN_SAFE_INTEGER, hi: p.hi };
    return { lo: Number.MIN_SAFE_INTEGER, hi: p.lo };
  }
  const range = /^(.+)\.\.(.+)$/.exec(value);
  if (range) {
    const from = range[1] === '*' ? Number.MIN_SAFE_INTEGER : point(range[1] as string).lo;
    const to = range[2] === '*' ? Number.MAX_SAFE_INTEGER : point(range[2] as string).hi;
    return { lo: from, hi: to };
  }
  return point(value);
}

function parseCount(text: string): Bounds {
  if (!/^\d+$/.test(text)) throw new FakeSearchError(`stars value "${text}" is not a number`);
  return { lo: Number(text), hi: Number(text) + 1 };
}

function parseTime(text: string): Bounds {
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    const lo = Date.parse(`${text}T00:00:00Z`) / 1000;
    return { lo, hi: lo + DAY };
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})?$/.test(text)) {
    const lo = Math.floor(Date.parse(text) / 1000);
    if (!Number.isNaN(lo)) return { lo, hi: lo + 1 };
  }
  throw new FakeSearchError(`date "${text}" is not YYYY-MM-DD or an ISO date-time`);
}

function fail(term: string): never {
  throw new FakeSearchError(`the fake does not understand the search term "${term}"`);
}
