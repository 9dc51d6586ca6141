import type { Database } from '../results/database.js';
import { BUILD_ERROR_LINE, BUILD_LOG_OUTCOMES, LOG_TAIL_BYTES, OUTCOMES, type Outcome } from '../results/outcome.js';
import { FAILED_OUTCOMES } from '../results/report-queries.js';
import { stringOrNull } from './sql.js';

/**
 * The failed rows of a run (every outcome `--strict` counts as failed) in the compact form the
 * HTML report embeds: column arrays instead of objects, row numbers as differences, repeated
 * strings (origins, branches, error codes, error excerpts) as indexes into dictionaries, log URLs
 * without their common prefix and suffix, and only the first lines of each error. The excerpt
 * shrinks as failures grow, so 100,000 failures stay a few MiB (bench/report.js); the JSON report keeps the full messages.
 */
export const EXCERPT_LINES = 3;
export const EXCERPT_MAX_CHARS = 300;
export const EXCERPT_MIN_CHARS = 60;
const EXCERPT_BUDGET_BYTES = 4 * 1024 * 1024;
/**
 * A failed build's message (the log's tail, at most LOG_TAIL_BYTES) is read whole, to find its
 * error line, up to this many failures (≤ 40 MB); beyond, from its start only.
 */
const WHOLE_TAIL_FAILURES = 10_000;

/**
 * Column arrays, one entry per failed row in row order. `row` holds the difference to the
 * previous row number (the first is absolute); origin, branch, code and excerpt are indexes into
 * the dictionaries (-1 for none); outcome indexes OUTCOMES; log is encoded by `encodeLog`.
 */
export interface FailureColumns {
  readonly row: number[];
  readonly origin: number[];
  readonly path: Array<string | null>;
  readonly branch: number[];
  readonly outcome: number[];
  readonly code: number[];
  readonly excerpt: number[];
  readonly log: string[];
}

export interface CompactFailures {
  readonly total: number;
  readonly excerptChars: number;
  readonly origins: string[];
  readonly branches: string[];
  readonly codes: string[];
  readonly excerpts: string[];
  readonly log: LogAffixes;
  readonly columns: FailureColumns;
}

/** What every log URL of the run shares: `base` and `suffix`; `layoutBase` precedes `<origin>/<path>/`. */
export interface LogAffixes {
  readonly base: string;
  readonly suffix: string;
  readonly layoutBase: string;
}

export function excerptChars(failures: number): number {
  if (failures <= 0) return EXCERPT_MAX_CHARS;
  return Math.max(EXCERPT_MIN_CHARS, Math.min(EXCERPT_MAX_CHARS, Math.floor(EXCERPT_BUDGET_BYTES / failures)));
}

export async function compactFailures(db: Database, runId: string, failedCount: number): Promise<CompactFailures> {
  const chars = excerptChars(failedCount);
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT row_number, origin, path, branch, outcome, error_code,
       left(ltrim(error_message, E' \\t\\r\\n'), CASE WHEN outcome = ANY($4::text[]) THEN $5::int ELSE $3::int END) AS message, log_url
     FROM repository_results WHERE run_id = $1 AND outcome = ANY($2::text[]) ORDER BY row_number`,
    [runId, FAILED_OUTCOMES, chars * 2 + 200, [...BUILD_LOG_OUTCOMES], failedCount <= WHOLE_TAIL_FAILURES ? LOG_TAIL_BYTES : chars * 2 + 200],
  );
  const logs = rows.map((row) => stringOrNull(row.log_url));
  const affixes = logAffixes(rows.map((row, index) => ({ url: logs[index] ?? null, origin: stringOrNull(row.origin), path: stringOrNull(row.path) })));
  const origins = new Dictionary();
  const branches = new Dictionary();
  const codes = new Dictionary();
  const excerpts = new Dictionary();
  const columns: FailureColumns = { row: [], origin: [], path: [], branch: [], outcome: [], code: [], excerpt: [], log: [] };
  let previousRow = 0;
  rows.forEach((row, index) => {
    const rowNumber = Number(row.row_number);
    const origin = stringOrNull(row.origin);
    const path = stringOrNull(row.path);
    columns.row.push(rowNumber - previousRow);
    previousRow = rowNumber;
    columns.origin.push(origins.index(origin));
    columns.path.push(path);
    const branch = stringOrNull(row.branch);
    columns.branch.push(branches.index(branch === null ? null : withoutTerminalControls(branch)));
    columns.outcome.push(OUTCOMES.indexOf(row.outcome as Outcome));
    columns.code.push(codes.index(stringOrNull(row.error_code)));
    columns.excerpt.push(excerpts.index(excerptOf(stringOrNull(row.message), chars, String(row.outcome))));
    columns.log.push(encodeLog(logs[index] ?? null, affixes, origin, path));
  });
  return { total: rows.length, excerptChars: chars, origins: origins.values, branches: branches.values, codes: codes.values, excerpts: excerpts.values, log: affixes, columns };
}

/**
 * Build output as text that cannot drive a terminal: ANSI escape sequences and control
 * characters removed, line breaks and tabs kept. Bidirectional embeddings, overrides and
 * isolates go too: they make a branch or an error read as something else ("Trojan Source").
 */
export function withoutTerminalControls(text: string): string {
  return text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '').replace(/[\u0000-\u0008\u000b-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g, '');
}

/** The line src/build/run-build.ts ends a timed-out build's log with. */
const TIMEOUT_LINE = /^\[mass-ingest\] build timed out after \d+ s/;

/** Failing a tool's error line (BUILD_ERROR_LINE), a line that mentions a failure (`make: *** … Error 1`, `BUILD FAILED`). */
const FAILURE_LINE = /\b(error|errors|failed|failure|exception|not found)\b/i;

/**
 * The first non-empty lines of an error, without terminal escapes, cut at `limit` characters.
 * A failed build's message is the tail of its log, which starts wherever the tail was cut and
 * ends in the tool's summary (`[INFO] BUILD FAILURE`, `npm ERR! code 1`): its excerpt starts at
 * its first error line instead (`excerptStart`).
 */
export function excerptOf(message: string | null, limit: number, outcome?: string): string | null {
  if (!message) return null;
  const all = withoutTerminalControls(message)
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '');
  const lines = all.slice(outcome !== undefined && BUILD_LOG_OUTCOMES.has(outcome) ? excerptStart(all) : 0).slice(0, EXCERPT_LINES);
  const text = lines.join('\n');
  if (text === '') return null;
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

/**
 * Where a failed build's excerpt starts: it ends at the line saying it timed out; else it starts
 * at its first error line; else it ends at the first line that mentions a failure (make's
 * `*** … Error 1` follows the output that explains it); else at the top.
 */
function excerptStart(lines: readonly string[]): number {
  // A build killed at its timeout: what it was doing then, and the line that says so.
  const timeout = lines.findIndex((line) => TIMEOUT_LINE.test(line));
  if (timeout !== -1) return Math.max(0, timeout - (EXCERPT_LINES - 1));
  const error = lines.findIndex((line) => BUILD_ERROR_LINE.test(line));
  if (error !== -1) return error;
  const failure = lines.findIndex((line) => FAILURE_LINE.test(line));
  return failure === -1 ? 0 : Math.max(0, failure - (EXCERPT_LINES - 1));
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

/** The URL part before `<origin>/<path>/` when the URL follows the default layout (DESIGN §6). */
function layoutHead(url: string, origin: string | null, path: string | null): string | undefined {
  if (origin === null || path === null) return undefined;
  const at = url.indexOf(`/${origin}/${path}/`);
  return at === -1 ? undefined : url.slice(0, at + 1);
}

export function logAffixes(logs: ReadonlyArray<{ url: string | null; origin: string | null; path: string | null }>): LogAffixes {
  const urls = logs.flatMap((log) => (log.url === null ? [] : [log.url]));
  const layoutBase = logs.map((log) => (log.url === null ? undefined : layoutHead(log.url, log.origin, log.path))).find((head) => head !== undefined);
  return { ...commonAffixes(urls), layoutBase: layoutBase ?? '' };
}

/**
 * A log URL without the run's common parts: '' for none; in the default layout
 * (`<layoutBase><origin>/<path>/<rest><suffix>`) '~' + rest, or '#' + rest with its leading
 * 40-hex commit sha as 27 base64url characters; otherwise '=' + what lies between base and
 * suffix. CLIENT_LOG_DECODER reverses it.
 */
export function encodeLog(url: string | null, affixes: LogAffixes, origin: string | null, path: string | null): string {
  if (url === null) return '';
  const { base, suffix, layoutBase } = affixes;
  const start = layoutBase.length + `${origin}/${path}/`.length;
  if (layoutBase !== '' && layoutHead(url, origin, path) === layoutBase && start <= url.length - suffix.length) {
    const rest = url.slice(start, url.length - suffix.length);
    return /^[0-9a-f]{40}/.test(rest) ? `#${Buffer.from(rest.slice(0, 40), 'hex').toString('base64url')}${rest.slice(40)}` : `~${rest}`;
  }
  return `=${url.slice(base.length, url.length - suffix.length)}`;
}

/** The browser's inverse of encodeLog (embedded in the client script; unit-tested through eval). */
export const CLIENT_LOG_DECODER = String.raw`
var B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
function base64urlToHex(text) {
  var hex = '', value = 0, bits = 0;
  for (var i = 0; i < text.length; i++) {
    value = ((value << 6) | B64URL.indexOf(text.charAt(i))) & 0xffff;
    bits += 6;
    if (bits >= 8) { bits -= 8; var b = (value >> bits) & 255; hex += (b < 16 ? '0' : '') + b.toString(16); }
  }
  return hex;
}
function decodeLog(encoded, affixes, origin, path) {
  if (!encoded) return null;
  var kind = encoded.charAt(0), body = encoded.slice(1);
  if (kind === '=') return affixes.base + body + affixes.suffix;
  var head = affixes.layoutBase + origin + '/' + path + '/';
  if (kind === '#') return head + base64urlToHex(body.slice(0, 27)) + body.slice(27) + affixes.suffix;
  return head + body + affixes.suffix;
}
`;

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
