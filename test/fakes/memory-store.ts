import fs from 'node:fs/promises';
import type { ArtifactStore, FileDigests, PutOptions } from '../../src/artifacts/store.js';

/**
 * An ArtifactStore in memory that records every put in order and can fail a chosen put, to
 * test layouts without a server (STYLE 22: fake the seams we own).
 */
export class MemoryStore implements ArtifactStore {
  readonly description = 'memory://';
  readonly files = new Map<string, Buffer>();
  readonly puts: string[] = [];
  readonly digests = new Map<string, FileDigests>();
  /** Throws this error on the put of a key that `failOn` matches. */
  failOn: ((key: string) => boolean) | undefined;
  failure: Error = new Error('put failed on purpose');
  /** Runs after every put, before it returns (a concurrent writer, say). */
  afterPut: ((key: string) => void) | undefined;

  async exists(key: string): Promise<boolean> {
    return this.files.has(key);
  }

  async read(key: string): Promise<Buffer | undefined> {
    return this.files.get(key);
  }

  async putFile(key: string, file: string, digests: FileDigests): Promise<void> {
    this.digests.set(key, digests);
    await this.put(key, await fs.readFile(file));
  }

  async putBytes(key: string, body: Buffer, _contentType: string, options: PutOptions = {}): Promise<boolean> {
    if (options.ifAbsent && this.files.has(key)) return false;
    await this.put(key, body);
    return true;
  }

  url(key: string): string {
    return `memory://${key}`;
  }

  private async put(key: string, body: Buffer): Promise<void> {
    if (this.failOn?.(key)) throw this.failure;
    this.files.set(key, body);
    this.puts.push(key);
    this.afterPut?.(key);
  }
}
