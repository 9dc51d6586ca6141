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
const SCP_LIKE = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/].*/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;
const COMMIT_SHA = /^([0-9a-f]{40}|[0-9a-f]{64})$/i;
const ORIGIN = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?$/;

/**
 * Checks one record. `seen` maps the origin/path/branch of every earlier valid row to its row
 * number, so a repeat is invalid wherever the partition starts, and its message names the row it
 * repeats.
 */
export function validateRecord(rowNumber: number, record: Record<string, string | undefined>, seen: Map<string, number>): InventoryEntry {
  const cloneUrl = clean(record.cloneUrl);
  const branch = clean(record.branch) ?? '';
  const origin = clean(record.origin);
  const repoPath = clean(record.path)?.replace(/^\/+|\/+$/g, '');
  const invalid = (errorCode: string, errorMessage: string): InventoryEntry => ({
    kind: 'invalid',
    row: { rowNumber, cloneUrl, branch, origin, path: repoPath, errorCode, errorMessage },
  });

  if (!cloneUrl) return invalid('missing_clone_url', `Row ${rowNumber}: cloneUrl is empty`);
  if (!URL_SCHEMES.test(cloneUrl) && !SCP_LIKE.test(cloneUrl) && !cloneUrl.startsWith('/')) {
    return invalid('unknown_scheme', `Row ${rowNumber}: cloneUrl "${cloneUrl}" has an unknown scheme (use https://, http://, ssh://, git://, file://, user@host:path or an absolute path)`);
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
  const first = seen.get(key);
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
  if (!segments.every((segment) => SEGMENT.test(segment) && segment !== '.' && segment !== '..')) {
    return "must be segments of letters, digits, '.', '_' and '-' separated by '/'";
  }
  if (segments.length < 2) return "must be owner/name, two or more segments separated by '/' (e.g. acme/widget)";
  const shaLike = segments.find((segment) => COMMIT_SHA.test(segment));
  if (shaLike) return `has a segment "${shaLike}" shaped like a commit sha, which names the commit directories of the publish layout`;
  return undefined;
}

function clean(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
