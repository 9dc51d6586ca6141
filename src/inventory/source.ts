import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { makeOwnedTempDir } from '../build/owned-temp-dir.js';
import { InfrastructureError, MassIngestError, UsageError, errorMessage, isUntrustedCertificate, trustRemedy, untrustedCertificateCode } from '../errors.js';
import { scrubUrlSecrets } from '../logging/scrub.js';
import type { S3Settings } from '../aws/s3.js';

export interface InventoryOptions {
  /** For s3:// inventories (path-style addressing against S3-compatible servers). */
  readonly s3?: S3Settings;
  /** How long an http(s) server may take to answer (headers); the body has no time limit. */
  readonly httpAnswerTimeoutMs?: number;
  /**
   * s3:// only: the ETag the object must still have (GetObject If-Match). S3 refuses a changed
   * object with 412, which is `inventory_changed` (exit 2), before a byte of it is read.
   */
  readonly ifMatch?: string | undefined;
  /** Bytes `start..end` (inclusive; to the last byte without `end`) of an s3:// object or a file. */
  readonly range?: ByteRange | undefined;
  /**
   * A private copy of the inventory's bytes (`downloadInventory`): they are read from this file,
   * and messages still name the inventory (src/inventory/planned.ts reads an open range so).
   */
  readonly copy?: string | undefined;
}

export interface ByteRange {
  readonly start: number;
  readonly end?: number;
}

/** An opened inventory: its bytes, and for s3:// the ETag of the object they are (what If-Match names). */
export interface OpenedInventory {
  readonly body: Readable;
  readonly etag: string | undefined;
}

/** An inventory URI's scheme, lower-cased; undefined for a plain path. */
export function inventoryScheme(uri: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1]?.toLowerCase();
}

/** The file behind a path or file:// inventory; undefined for one read over the network. */
export function localInventoryFile(uri: string): string | undefined {
  const scheme = inventoryScheme(uri);
  if (scheme === undefined) return uri;
  if (scheme !== 'file') return undefined;
  try {
    return fileURLToPath(uri);
  } catch {
    return undefined;
  }
}

/** An inventory read over the network (http(s)://, s3://). */
export function isRemoteInventory(uri: string): boolean {
  return ['http', 'https', 's3'].includes(inventoryScheme(uri) ?? '');
}

/**
 * Refuses standard input (`-`, which yargs reads as an empty argument) and an empty name. The CLI
 * checks it before a command starts anything (src/cli.ts); opening checks it again for other callers.
 */
export function assertInventoryNamed(uri: string): void {
  if (uri.trim() === '' || uri === '-') throw new UsageError('inventory_not_found', 'No inventory named: give a path, file://, http(s):// or s3:// URL (standard input, "-", is not read)');
}

/** Opens an inventory (path, file://, http(s)://, s3://) as a byte stream. */
export async function openInventory(uri: string, options: InventoryOptions = {}): Promise<Readable> {
  return (await openInventoryObject(uri, options)).body;
}

/** Opens an inventory as a byte stream, with the ETag of an s3:// object. */
export async function openInventoryObject(uri: string, options: InventoryOptions = {}): Promise<OpenedInventory> {
  assertInventoryNamed(uri);
  if (options.copy !== undefined) return { body: await openFile(options.copy, scrubUrlSecrets(uri), options.range), etag: undefined };
  const scheme = inventoryScheme(uri);
  switch (scheme) {
    case undefined:
      return { body: await openFile(uri, uri, options.range), etag: undefined };
    case 'file':
      return { body: await openFile(fileOfUrl(uri), uri, options.range), etag: undefined };
    case 'http':
    case 'https':
      if (options.range) throw new Error('A byte range of an http(s) inventory is not read: nothing records one');
      checkHttpUrl(uri);
      return { body: failingAsInfrastructure(await openHttp(uri, options.httpAnswerTimeoutMs ?? HTTP_ANSWER_TIMEOUT_MS), scrubUrlSecrets(uri)), etag: undefined };
    case 's3': {
      // Loaded on demand: the AWS SDK costs start-up time that local inventories need not pay.
      const { openS3Inventory } = await import('./s3-source.js');
      const object = await openS3Inventory(uri, options.s3 ?? { forcePathStyle: false }, options.ifMatch, options.range);
      return { body: failingAsInfrastructure(object.body, uri), etag: object.etag };
    }
    default:
      throw new UsageError('inventory_scheme', `Inventory ${scrubUrlSecrets(uri)} has an unsupported scheme "${scheme}": use a path, file://, http(s):// or s3://`);
  }
}

export interface DownloadedInventory {
  readonly file: string;
  remove(): Promise<void>;
}

/**
 * An inventory copied whole into a temporary file only this user can read. A reader that takes its
 * rows as the repositories are built leaves the connection unread for minutes, and servers close
 * such connections (nginx's send_timeout, S3): a long range read from the network would break off
 * partway (src/inventory/reader.ts decides when to download). An open range checked against its
 * run is read from such a copy whatever the inventory (src/inventory/planned.ts).
 */
export async function downloadInventory(uri: string, options: InventoryOptions = {}): Promise<DownloadedInventory> {
  // Named by its owner: a later processor removes it if this one is killed (run-workdir.ts).
  const dir = await makeOwnedTempDir('inventory');
  const file = path.join(dir, 'inventory.csv');
  const remove = () => fs.promises.rm(dir, { recursive: true, force: true });
  try {
    await pipeline(await openInventory(uri, options), fs.createWriteStream(file, { mode: 0o600 }));
    return { file, remove };
  } catch (err) {
    await remove();
    if (err instanceof MassIngestError) throw err;
    throw new InfrastructureError('inventory_unreadable', `Inventory ${scrubUrlSecrets(uri)} cannot be copied to ${file}: ${errorMessage(err)}`, err);
  }
}

/** A connection lost mid-file is an infrastructure failure (exit 3), not a parse error. */
function failingAsInfrastructure(body: Readable, shown: string): Readable {
  const out = new PassThrough();
  body.on('error', (err) => out.destroy(new InfrastructureError('inventory_unreachable', `Inventory ${shown} broke off while reading: ${errorMessage(err)}`, err)));
  out.on('close', () => body.destroy());
  body.pipe(out);
  return out;
}

async function openFile(file: string, uri: string, range: ByteRange | undefined): Promise<Readable> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') throw isDirectory(uri);
    if (code === 'ENOENT' || code === 'EACCES' || code === 'ENOTDIR') {
      throw new UsageError('inventory_not_found', `Inventory ${uri} cannot be read (${code}): check the path`);
    }
    throw new InfrastructureError('inventory_unreadable', `Inventory ${uri} cannot be read: ${errorMessage(err)}`, err);
  }
  // Opening a directory succeeds on Linux; only the first read fails (EISDIR), mid-stream.
  const directory = await handle.stat().then((stats) => stats.isDirectory(), () => false);
  if (directory) {
    await handle.close();
    throw isDirectory(uri);
  }
  return handle.createReadStream(range ? { start: range.start, ...(range.end === undefined ? {} : { end: range.end }) } : {});
}

function isDirectory(uri: string): UsageError {
  return new UsageError('inventory_is_directory', `Inventory ${uri} is a directory, not a CSV file: name the repos.csv inside it`);
}

/** fetch refuses a URL with user:password@ in it; that is the user's to fix (exit 2), not an outage. */
/** The path of a file:// URL; one naming a host (`file://repos.csv`, `file://host/x.csv`) is exit 2, not a crash. */
function fileOfUrl(uri: string): string {
  try {
    return fileURLToPath(uri);
  } catch (err) {
    throw new UsageError('inventory_url_invalid', `Inventory ${scrubUrlSecrets(uri)} is not a file URL of this machine (${errorMessage(err)}): write file:///absolute/path.csv (three slashes) or a plain path`);
  }
}

function checkHttpUrl(uri: string): void {
  const shown = scrubUrlSecrets(uri);
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new UsageError('inventory_url_invalid', `Inventory ${shown} is not a valid URL`);
  }
  if (url.username || url.password) {
    throw new UsageError(
      'inventory_url_credentials',
      `Inventory ${shown} contains credentials: remove them from the URL (an inventory URL cannot carry a user or password; use a pre-signed URL, an s3:// URI or a local copy)`,
    );
  }
}

const HTTP_ANSWER_TIMEOUT_MS = 60_000;

async function openHttp(uri: string, answerTimeoutMs: number): Promise<Readable> {
  const shown = scrubUrlSecrets(uri);
  let response: Response;
  // The time limit covers the answer's headers only: the body is read as the repositories are
  // processed, paused while they build, and a limit on the whole exchange (AbortSignal.timeout)
  // broke off the inventory of every partition that took more than a minute (exit 3).
  const answered = new AbortController();
  const timer = setTimeout(() => answered.abort(new Error(`no answer within ${answerTimeoutMs / 1000} s`)), answerTimeoutMs);
  try {
    response = await fetch(uri, { redirect: 'follow', signal: answered.signal });
  } catch (err) {
    const reason = answered.signal.aborted ? answered.signal.reason : ((err as { cause?: unknown }).cause ?? err);
    if (isUntrustedCertificate(reason)) throw untrustedInventory(shown, reason, 'the URL');
    throw new InfrastructureError('inventory_unreachable', `Inventory ${shown} cannot be reached: ${errorMessage(reason)}`, err);
  } finally {
    clearTimeout(timer);
  }
  if (response.status === 404 || response.status === 410 || response.status === 401 || response.status === 403) {
    throw new UsageError('inventory_not_found', `Inventory ${shown} answered HTTP ${response.status}: check the URL and its access`);
  }
  // Any other refusal (400, 405, 414, a redirect not followed…) answers the same on a retry; a
  // time-out (408), a rate limit (429) and 5xx may not.
  if (!response.ok && response.status < 500 && response.status !== 408 && response.status !== 429) {
    throw new UsageError('inventory_refused', `Inventory ${shown} answered HTTP ${response.status}: the server refuses this request; check the URL`);
  }
  if (!response.ok || !response.body) {
    throw new InfrastructureError('inventory_unreachable', `Inventory ${shown} answered HTTP ${response.status}`);
  }
  return Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
}

/**
 * The inventory's server has a certificate Node does not trust: the same on every attempt, so the
 * user's to fix (exit 2), not an outage. `address` names where the host is set.
 */
export function untrustedInventory(shown: string, err: unknown, address: string): UsageError {
  const code = untrustedCertificateCode(err) ?? 'TLS';
  return new UsageError(
    'inventory_tls',
    `Inventory ${shown} cannot be read: TLS verification failed (${code}), its server's certificate is not trusted; ${trustRemedy(address)}`,
    [],
    err,
  );
}

/** Passes bytes through while hashing them; `digest()` is valid once the stream has ended. */
export class Sha256Tap extends Transform {
  private readonly hash = createHash('sha256');
  private bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null, data?: Buffer) => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  digest(): { sha256: string; bytes: number } {
    return { sha256: this.hash.copy().digest('hex'), bytes: this.bytes };
  }
}
