import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { StepError, isDiskFull } from '../errors.js';
import type { ArtifactStore, PutOptions } from './store.js';

/**
 * What a failed write says about the target: refused (exit 2 when every repository fails), a path
 * that cannot be a directory (a file in the way: a wrong PUBLISH_URL, exit 2 likewise), anything
 * else an I/O failure (exit 3: another host may do better).
 */
const FILE_ERROR_CODES: Readonly<Record<string, string>> = {
  EACCES: 'publish_denied',
  EPERM: 'publish_denied',
  EROFS: 'publish_denied',
  ENOTDIR: 'publish_not_found',
  EEXIST: 'publish_not_found',
};
const RETRYABLE = new Set(['EIO', 'EAGAIN', 'EBUSY']);

/** A directory (`file:///dir` or a plain path). Every file appears whole: temp file + rename. */
export class FileStore implements ArtifactStore {
  readonly description: string;
  private readonly root: string;

  constructor(url: string) {
    this.root = url.startsWith('file:') ? fileURLToPath(url) : path.resolve(url);
    this.description = pathToFileURL(this.root).href;
  }

  async exists(key: string): Promise<boolean> {
    return fs.access(this.resolve(key)).then(
      () => true,
      () => false,
    );
  }

  /**
   * Absent only when there is no such file: one that cannot be read (EACCES, EIO) is an error, or
   * a maven-metadata.xml read so would be written again listing the new version alone.
   */
  async read(key: string): Promise<Buffer | undefined> {
    const file = this.resolve(key);
    try {
      return await fs.readFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw new StepError(FILE_ERROR_CODES[code] ?? 'publish_io', `Cannot read ${file} (${code})`, { retryable: RETRYABLE.has(code), cause: err });
    }
  }

  async putFile(key: string, file: string): Promise<void> {
    await this.write(key, (temp) => fs.copyFile(file, temp));
  }

  async putBytes(key: string, body: Buffer, _contentType?: string, options: PutOptions = {}): Promise<boolean> {
    return this.write(key, (temp) => fs.writeFile(temp, body), options.ifAbsent ? placeUnlessPresent : replace);
  }

  url(key: string): string {
    return pathToFileURL(this.resolve(key)).href;
  }

  private async write(key: string, fill: (temp: string) => Promise<void>, place: Place = replace): Promise<boolean> {
    const target = this.resolve(key);
    const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await fs.mkdir(path.dirname(target), { recursive: true });
      await fill(temp);
      return await place(temp, target);
    } catch (err) {
      // Where the directory could not be made, removing the temp file fails too (ENOTDIR): the
      // first error is the one to report.
      await fs.rm(temp, { force: true }).catch(() => undefined);
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      // A full target is an I/O failure (`publish_io`) whose message says so: the code alone reads like a broken disk.
      const advice = isDiskFull(err) ? `: the file system of ${this.root} is full; free space there or publish elsewhere` : '';
      throw new StepError(FILE_ERROR_CODES[code] ?? 'publish_io', `Cannot write ${target} (${code})${advice}`, { retryable: RETRYABLE.has(code), cause: err });
    }
  }

  private resolve(key: string): string {
    const target = path.resolve(this.root, key);
    if (!target.startsWith(this.root + path.sep)) throw new StepError('publish_bad_key', `Refusing to write outside ${this.root}: ${key}`);
    return target;
  }
}

/** Puts the filled temp file at the target; false when it did not (the target was there). */
type Place = (temp: string, target: string) => Promise<boolean>;

const replace: Place = async (temp, target) => {
  await fs.rename(temp, target);
  return true;
};

/**
 * A hard link does not replace (EEXIST), so of two processors writing one manifest the second
 * learns that it came second; the file still appears whole. Where the file system has no hard
 * links (some FUSE and SMB mounts), an exclusive create does the check as one step, at the cost of
 * a moment in which the file is not yet whole.
 */
const placeUnlessPresent: Place = async (temp, target) => {
  try {
    await linkOrCopyExclusive(temp, target);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await fs.rm(temp, { force: true });
  }
};

const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

async function linkOrCopyExclusive(temp: string, target: string): Promise<void> {
  try {
    await fs.link(temp, target);
  } catch (err) {
    if (!NO_HARD_LINKS.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    await fs.copyFile(temp, target, fs.constants.COPYFILE_EXCL);
  }
}
