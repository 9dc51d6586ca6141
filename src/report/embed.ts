import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);

/**
 * JSON that is safe inside `<script type="application/json">`: every `<`, `>` and `&` is a
 * \u escape, so no `</script>` or `<!--` can end or change the element, and U+2028/U+2029
 * are escaped for older JavaScript parsers. JSON.parse gives back the same value.
 */
export function embedJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Script text that cannot close its `<script>` element early: `</script` (only valid inside
 * strings, regexes and comments, where `\/` means `/`) becomes `<\/script`. `<!--` would switch
 * the HTML parser into its escaped state, and has no safe rewrite outside strings: refused.
 */
export function inlineScript(source: string): string {
  if (source.includes('<!--')) throw new Error('Inline script contains "<!--": it cannot be embedded safely');
  return source.replace(/<\/(script)/gi, '<\\/$1');
}

/** The CSP source for an inline script: 'sha256-…' of its exact text. */
export function scriptHash(source: string): string {
  return `'sha256-${createHash('sha256').update(source, 'utf8').digest('base64')}'`;
}

/**
 * A value as base64 of its gzipped JSON, for the bulk of the page's data (the failed rows):
 * 100,000 distinct errors are ~10 MiB of JSON and ~4 MiB packed. Base64 needs no escaping in
 * HTML; the page unpacks it with the browser's DecompressionStream (client `unpackJson`).
 */
export async function packJson(value: unknown): Promise<string> {
  return (await gzipAsync(Buffer.from(JSON.stringify(value), 'utf8'))).toString('base64');
}
