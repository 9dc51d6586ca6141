import type { Database } from '../results/database.js';
import { OUTCOMES, type Outcome } from '../results/outcome.js';
import { FAILED_OUTCOMES } from '../results/report-queries.js';
import { stringOrNull } from './sql.js';

/**
 * The failed rows of a run (every outcome `--strict` counts as failed) in the compact form the
 * HTML report embeds: arrays instead of objects, repeated strings (origins, branches, error codes,
 * error excerpts) as indexes into dictionaries, log URLs without their common prefix and suffix,
 * and only the first lines of each error. The excerpt shrinks as failures grow, so 100,000
 * failures stay a few MiB (bench/report.js); the JSON report keeps the full messages.
 */
export const EXCERPT_LINES = 3;
export const EXCERPT_MAX_CHARS = 300;
export const EXCERPT_MIN_CHARS = 60;
const EXCERPT_BUDGET_BYTES = 4 * 1024 * 1024;

/** [rowNumber, origin index, path, branch index, outcome index (OUTCOMES), error code index, excerpt index, log] */
export type CompactFailure = [number, number, string | null, number, number, number, number, string];

export interface CompactFailures {
  readonly total: number;
  readonly excerptChars: number;
  readonly origins: string[];
  readonly branches: string[];
  readonly codes: string[];
  readonly excerpts: string[];
  /**
   * A row's log is '' (none), '=' + middle (logBase + middle + logSuffix), or '~' + rest
   * (logBase + origin + '/' + path + '/' + rest + logSuffix).
   */
  readonly logBase: string;
  readonly logSuffix: string;
  readonly rows: CompactFailure[];
}

export function excerptChars(failures: number): number {
  if (failures <= 0) return EXCERPT_MAX_CHARS;
  return Math.max(EXCERPT_MIN_CHARS, Math.min(EXCERPT_MAX_CHARS, Math.floor(EXCERPT_BUDGET_BYTES / failures)));
}

export async function compactFailures(db: Database, runId: string, failedCount: number): Promise<CompactFailures> {
  const chars = excerptChars(failedCount);
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT row_number, origin, path, branch, outcome, error_code, left(ltrim(error_message, E' \\t\\r\\n'), $3::int) AS message, log_url
     FROM repository_results WHERE run_id = $1 AND outcome = ANY($2::text[]) ORDER BY row_number`,
    [runId, FAILED_OUTCOMES, chars * 2 + 200],
  );
  const logs = rows.map((row) => stringOrNull(row.log_url));
  const { base, suffix } = commonAffixes(logs.filter((url): url is string => url !== null));
  const origins = new Dictionary();
  const branches = new Dictionary();
  const codes = new Dictionary();
  const excerpts = new Dictionary();
  const compact = rows.map((row, index): CompactFailure => {
    const origin = stringOrNull(row.origin);
    const path = stringOrNull(row.path);
    return [
      Number(row.row_number),
      origins.index(origin),
      path,
      branches.index(stringOrNull(row.branch)),
      OUTCOMES.indexOf(row.outcome as Outcome),
      codes.index(stringOrNull(row.error_code)),
      excerpts.index(excerptOf(stringOrNull(row.message), chars)),
      encodeLog(logs[index] ?? null, base, suffix, origin, path),
    ];
  });
  return { total: compact.length, excerptChars: chars, origins: origins.values, branches: branches.values, codes: codes.values, excerpts: excerpts.values, logBase: base, logSuffix: suffix, rows: compact };
}

/** The first non-empty lines of an error, without terminal escapes, cut at `limit` characters. */
export function excerptOf(message: string | null, limit: number): string | null {
  if (!message) return null;
  const lines = message
    .replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '')
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '')
    .slice(0, EXCERPT_LINES);
  const text = lines.join('\n');
  if (text === '') return null;
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

/** The longest prefix ending in '/' and the longest suffix starting with '/' that every URL shares. */
export function commonAffixes(urls: readonly string[]): { base: string; suffix: string } {
  const first = urls[0];
  if (first === undefined) return { base: '', suffix: '' };
  let prefix = first.length;
  let suffix = first.length;
  let shortest = first.length;
  for (const url of urls) {
    shortest = Math.min(shortest, url.length);
    let i = 0;
    while (i < prefix && i < url.length && url[i] === first[i]) i++;
    prefix = i;
    let j = 0;
    while (j < suffix && j < url.length && url[url.length - 1 - j] === first[first.length - 1 - j]) j++;
    suffix = j;
  }
  const base = prefix === 0 ? '' : first.slice(0, first.lastIndexOf('/', prefix - 1) + 1);
  const room = Math.min(suffix, shortest - base.length);
  const tail = room > 0 ? first.slice(first.length - room) : '';
  const slash = tail.indexOf('/');
  return { base, suffix: slash === -1 ? '' : tail.slice(slash) };
}

export function encodeLog(url: string | null, base: string, suffix: string, origin: string | null, path: string | null): string {
  if (url === null) return '';
  const middle = url.slice(base.length, url.length - suffix.length);
  const own = origin !== null && path !== null ? `${origin}/${path}/` : undefined;
  return own !== undefined && middle.startsWith(own) ? `~${middle.slice(own.length)}` : `=${middle}`;
}

/** Strings as indexes; null is -1. */
class Dictionary {
  readonly values: string[] = [];
  private readonly indexes = new Map<string, number>();

  index(value: string | null): number {
    if (value === null) return -1;
    let index = this.indexes.get(value);
    if (index === undefined) {
      index = this.values.push(value) - 1;
      this.indexes.set(value, index);
    }
    return index;
  }
}
