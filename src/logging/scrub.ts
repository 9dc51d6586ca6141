/**
 * Secret scrubbing for every string that leaves the process: log lines, error messages,
 * build logs and database rows. Three rules: userinfo in URLs is replaced, so are the values of
 * query parameters that sign or authorise a URL (a presigned S3 or GCS inventory, an Azure SAS,
 * `?token=`), and every known secret value (and its URL-encoded form) is replaced wherever it
 * appears.
 */
const REDACTED = '***';
// Up to the last `@` of the authority: a raw password or user name may hold an `@` of its own
// (`https://me@corp:tok@host`, `ftp://u:p@ss@host`). The scheme's length is bounded: unbounded, a
// long line of letters (a minified bundle in a build's output) took time quadratic in its length.
const URL_USERINFO = /([a-z][a-z0-9+.-]{0,31}:\/\/)([^/\s]*)@/gi;
// ssh takes no token in a user name: `ssh://git@host/…` keeps its `git@` (a row recorded so can be
// cloned again from the database); a password after a `:` is redacted with the rest.
const SSH_USER = /^[A-Za-z0-9._-]{1,64}$/;
const SIGNING_PARAMETER = /([?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|X-Goog-Signature|X-Goog-Credential|Signature|sig|token|access_token|private_token|password)=)[^&#\s"'<>]+/gi;
const MIN_SECRET_LENGTH = 4;

export type Scrubber = (text: string) => string;

export function scrubUrlSecrets(text: string): string {
  return text
    .replace(URL_USERINFO, (_match, scheme: string, userinfo: string) => `${scheme}${/^(git\+)?ssh:\/\/$/i.test(scheme) && SSH_USER.test(userinfo) ? userinfo : REDACTED}@`)
    .replace(SIGNING_PARAMETER, `$1${REDACTED}`);
}

export function createScrubber(secrets: Iterable<string>): Scrubber {
  const needles = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < MIN_SECRET_LENGTH) continue;
    needles.add(secret);
    needles.add(encodeURIComponent(secret));
    needles.add(Buffer.from(secret).toString('base64'));
  }
  const ordered = [...needles].sort((a, b) => b.length - a.length);
  // Passwords and tokens go before the userinfo rule, which ends at an `@`: one inside a known
  // password (`https://host?token=p@ss-word`) would leave its end for no needle to match. A whole
  // URL (DATABASE_URL, a credential line) goes after it, so its host stays readable.
  const isUrl = (needle: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(needle);
  const early = ordered.filter((needle) => !isUrl(needle));
  const late = ordered.filter(isUrl);
  return (text: string) => replaceAll(scrubUrlSecrets(replaceAll(text, early)), late);
}

function replaceAll(text: string, needles: readonly string[]): string {
  let out = text;
  for (const needle of needles) {
    if (out.includes(needle)) out = out.split(needle).join(REDACTED);
  }
  return out;
}

/** Scrubs every string inside a JSON-like value, returning a copy. */
export function scrubDeep<T>(value: T, scrub: Scrubber, depth = 0): T {
  if (typeof value === 'string') return scrub(value) as T;
  if (value === null || typeof value !== 'object') return value;
  // Deeper objects would be written as they are, their strings unscrubbed.
  if (depth > 8) return '[nested too deep]' as T;
  // An Error's message and stack are not enumerable: copied as they are, they would be lost.
  if (value instanceof Error) return scrubDeep(plainError(value), scrub, depth + 1) as T;
  // A Date or URL is written as its toJSON() (a URL's with its password): scrub that.
  const toJson = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJson === 'function') return scrubDeep(toJson.call(value) as T, scrub, depth + 1);
  if (Array.isArray(value)) return value.map((item) => scrubDeep(item, scrub, depth + 1)) as T;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    copy[key] = scrubDeep(item, scrub, depth + 1);
  }
  return copy as T;
}

/** What a log line shows of an Error below its top level (the top level is pino's serializer). */
function plainError(err: Error): Record<string, unknown> {
  const { cause, ...fields } = err as Error & Record<string, unknown>;
  return { ...fields, type: err.name, message: err.message, stack: err.stack, ...(cause === undefined ? {} : { cause }) };
}

/** Secrets inside DATABASE_URL-like values: the password part alone is secret as well. */
export function secretsOfUrl(url: string | undefined): string[] {
  if (!url) return [];
  try {
    const parsed = new URL(url);
    const parts = [url];
    if (parsed.password) parts.push(decodeURIComponent(parsed.password));
    // libpq and pg take `?password=` too.
    const fromQuery = parsed.searchParams.get('password');
    if (fromQuery) parts.push(fromQuery);
    return parts;
  } catch {
    return [url];
  }
}

/** `https://user:token@host` lines (git-credential-store form): the tokens are the secrets. */
export function secretsOfCredentialLines(lines: string | undefined): string[] {
  if (!lines) return [];
  const found: string[] = [];
  for (const line of lines.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (!trimmed) continue;
    found.push(trimmed);
    try {
      const parsed = new URL(trimmed);
      if (parsed.password) found.push(decodeURIComponent(parsed.password));
    } catch {
      // Not a URL: the whole line is already treated as a secret.
    }
  }
  return found;
}
