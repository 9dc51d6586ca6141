import type { SeenRows } from './seen-rows.js';

/** One data record of repos.csv (DESIGN §4); numbers count data records only, from 1. */
export interface RepositoryRow {
  readonly rowNumber: number;
  readonly cloneUrl: string;
  readonly branch: string;
  readonly origin: string;
  readonly path: string;
  readonly buildCommand: string | undefined;
  readonly artifacts: string | undefined;
}

export interface InvalidRow {
  readonly rowNumber: number;
  readonly cloneUrl: string | undefined;
  readonly branch: string | undefined;
  readonly origin: string | undefined;
  readonly path: string | undefined;
  readonly errorCode: string;
  readonly errorMessage: string;
}

export type InventoryEntry = { readonly kind: 'valid'; readonly row: RepositoryRow } | { readonly kind: 'invalid'; readonly row: InvalidRow };

export const REQUIRED_COLUMNS = ['cloneUrl', 'branch', 'origin', 'path'] as const;

const URL_SCHEMES = /^(https?|ssh|git|file):\/\//i;
// git@host:org/repo.git and git@host:/srv/git/repo.git; not `user@host://…`, which is no scp-like address.
const SCP_LIKE = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!\/\/)./;
const SEGMENT = /^[A-Za-z0-9._-]+$/;
const COMMIT_SHA = /^([0-9a-f]{40}|[0-9a-f]{64})$/i;
const ORIGIN = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?$/;

/**
 * The columns we read, and the longest value each may hold (characters). A longer one is a
 * mistake (a quote left open, a file pasted in) that would otherwise reach git's argv, file names
 * (255 bytes a name), S3 keys (1,024 bytes: origin, path, sha and file name), logs and rows.
 */
const FIELD_LIMITS: Readonly<Record<string, number>> = { cloneUrl: 4096, branch: 1024, origin: 259, path: 512, buildCommand: 65_536, artifacts: 4096 };
const SEGMENT_LIMIT = 255;
const LIMITS = Object.entries(FIELD_LIMITS);
/** NUL, and U+FFFD: what a byte that was not UTF-8 is read as. */
const UNFIT_CHARACTER = /[\u0000\uFFFD]/;

/** A data record's fields as parsed and the header's column names, to catch a comma left unquoted. */
export interface RecordShape {
  readonly fields: readonly string[];
  readonly columns: readonly string[];
}

/**
 * Checks one record. `seen` maps the origin/path/branch of every earlier valid row to its row
 * number, so a repeat is invalid wherever the partition starts, and its message names the row it
 * repeats.
 */
export function validateRecord(rowNumber: number, record: Record<string, string | undefined>, seen: SeenRows, shape?: RecordShape): InventoryEntry {
  const cloneUrl = clean(record.cloneUrl);
  const branch = clean(record.branch) ?? '';
  const origin = clean(record.origin);
  const repoPath = clean(record.path)?.replace(/^\/+|\/+$/g, '');
  const invalid = (errorCode: string, errorMessage: string): InventoryEntry => ({
    kind: 'invalid',
    row: { rowNumber, cloneUrl, branch, origin, path: repoPath, errorCode, errorMessage },
  });

  const unfit = checkFields(record, shape);
  if (unfit) {
    const fields = { cloneUrl: storable(cloneUrl, 'cloneUrl'), branch: storable(branch, 'branch') ?? '', origin: storable(origin, 'origin'), path: storable(repoPath, 'path') };
    return { kind: 'invalid', row: { rowNumber, ...fields, errorCode: unfit.code, errorMessage: `Row ${rowNumber}: ${unfit.message}` } };
  }
  if (!cloneUrl) return invalid('missing_clone_url', `Row ${rowNumber}: cloneUrl is empty`);
  if (!URL_SCHEMES.test(cloneUrl) && !SCP_LIKE.test(cloneUrl) && !cloneUrl.startsWith('/')) {
    const shown = withoutSchemelessUserinfo(cloneUrl);
    const message = `Row ${rowNumber}: cloneUrl "${shown}" has an unknown scheme (use https://, http://, ssh://, git://, file://, user@host:path or an absolute path)`;
    return { kind: 'invalid', row: { rowNumber, cloneUrl: shown, branch, origin, path: repoPath, errorCode: 'unknown_scheme', errorMessage: message } };
  }
  if (!origin) return invalid('missing_origin', `Row ${rowNumber}: origin is empty`);
  if (!ORIGIN.test(origin)) return invalid('invalid_origin', `Row ${rowNumber}: origin "${origin}" is not a host name`);
  if (!repoPath) return invalid('missing_path', `Row ${rowNumber}: path is empty`);
  const pathProblem = checkPath(repoPath);
  if (pathProblem) return invalid('invalid_path', `Row ${rowNumber}: path "${repoPath}" ${pathProblem}`);
  if (branch.startsWith('-') || /[\s~^:?*[\\]|\.\.|@\{/.test(branch)) {
    return invalid('invalid_branch', `Row ${rowNumber}: branch "${branch}" is not a valid git branch name`);
  }
  const key = `${origin}\u0000${repoPath}\u0000${branch}`;
  const first = seen.get(key, rowNumber);
  if (first !== undefined) return invalid('duplicate_row', `Row ${rowNumber}: ${origin}/${repoPath} branch "${branch}" repeats row ${first}`);
  seen.set(key, rowNumber);
  return {
    kind: 'valid',
    row: { rowNumber, cloneUrl, branch, origin, path: repoPath, buildCommand: clean(record.buildCommand), artifacts: clean(record.artifacts) },
  };
}

/**
 * `owner/name`, or deeper for GitLab subgroups (`group/subgroup/name`): DESIGN §6 publishes under
 * `<origin>/<path>/<commitSha>/` and takes the maven group from the path's owner, so one segment
 * is not enough. A segment shaped like a commit sha would put a deeper repository inside a
 * shallower one's commit directory.
 */
function checkPath(repoPath: string): string | undefined {
  const segments = repoPath.split('/');
  const long = segments.find((segment) => segment.length > SEGMENT_LIMIT);
  if (long) return `has a segment of ${long.length} characters, more than a file name may hold (${SEGMENT_LIMIT})`;
  if (!segments.every((segment) => SEGMENT.test(segment) && segment !== '.' && segment !== '..')) {
    return "must be segments of letters, digits, '.', '_' and '-' separated by '/'";
  }
  if (segments.length < 2) return "must be owner/name, two or more segments separated by '/' (e.g. acme/widget)";
  const shaLike = segments.find((segment) => COMMIT_SHA.test(segment));
  if (shaLike) return `has a segment "${shaLike}" shaped like a commit sha, which names the commit directories of the publish layout`;
  return undefined;
}

/**
 * What cannot be a row of ours at all: a field count that does not fit the header (data in the
 * wrong columns), a NUL (PostgreSQL's text and argv refuse it), bytes that were not UTF-8 (read
 * as U+FFFD: the branch or path asked for would not be the one meant), a value too long.
 */
function checkFields(record: Record<string, string | undefined>, shape: RecordShape | undefined): { code: string; message: string } | undefined {
  if (shape) {
    const { fields, columns } = shape;
    const count = fields.length;
    const header = () => `the header names ${columns.length} (${columns.join(',')})`;
    // A trailing empty field (`a,b,c,d,`) loses nothing; a value beyond the header's columns is one the row meant.
    const extra = count > columns.length && fields.slice(columns.length).some((field) => field.trim() !== '');
    if (extra) return { code: 'extra_fields', message: `the row has ${count} field${count === 1 ? '' : 's'} but ${header()}: a field holding a comma must be in double quotes` };
    if (count < columns.length) {
      const absent = REQUIRED_COLUMNS.filter((name) => columns.indexOf(name) >= count);
      if (absent.length > 0) return { code: 'missing_fields', message: `the row has ${count} field${count === 1 ? '' : 's'} but ${header()}: no ${absent.join(', ')}` };
    }
  }
  for (const [name, limit] of LIMITS) {
    const value = record[name];
    if (value === undefined || (value.length <= limit && !UNFIT_CHARACTER.test(value))) continue;
    const nul = value.indexOf('\u0000');
    if (nul >= 0) return { code: 'invalid_characters', message: `${name}${shown(name, value)} holds a NUL character (character ${nul + 1})` };
    const replaced = value.indexOf('\uFFFD');
    if (replaced >= 0) return { code: 'invalid_encoding', message: `${name}${shown(name, value)} is not UTF-8 (character ${replaced + 1}): save the inventory as UTF-8` };
    if (value.length > limit) return { code: 'field_too_long', message: `${name}${shown(name, value)} is ${value.length} characters long, more than ${limit}` };
  }
  return undefined;
}

/** The value quoted, escaped and cut short; never a cloneUrl, which may carry a token. */
function shown(name: string, value: string): string {
  if (name === 'cloneUrl') return '';
  const cut = value.length > 80 ? `${value.slice(0, 80)}…` : value;
  return ` ${JSON.stringify(cut)}`;
}

/** A field of a row recorded invalid by checkFields: no NUL, no longer than its limit, no userinfo of a URL the scrubber would not know. */
function storable(value: string | undefined, name: string): string | undefined {
  const kept = value?.replaceAll('\u0000', '\\u0000').slice(0, FIELD_LIMITS[name]);
  return name === 'cloneUrl' && kept !== undefined ? withoutSchemelessUserinfo(kept) : kept;
}

/**
 * `user:token@host:path` is no URL the scrubber recognises (it takes `scheme://…@`): what
 * precedes the `@` of a cloneUrl without a known scheme is not kept.
 */
function withoutSchemelessUserinfo(cloneUrl: string): string {
  return URL_SCHEMES.test(cloneUrl) ? cloneUrl : cloneUrl.replace(/^[^/\s]*@/, '***@');
}

function clean(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
