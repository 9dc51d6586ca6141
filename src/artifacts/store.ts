import type { StepError } from '../errors.js';
/**
 * Where published files go. A store only puts and reads single files by key; the layout
 * (default or maven) decides the keys and the order (artifacts, build.log, manifest last).
 */
export interface FileDigests {
  readonly size: number;
  readonly sha256: string;
  readonly sha1: string;
  readonly md5: string;
}

export interface ArtifactStore {
  /** The target without credentials, for messages. */
  readonly description: string;
  exists(key: string): Promise<boolean>;
  /** The file's bytes, or undefined when absent (small files only: metadata). */
  read(key: string): Promise<Buffer | undefined>;
  putFile(key: string, file: string, digests: FileDigests): Promise<void>;
  /** True when written; false only when `ifAbsent` found the key there already. */
  putBytes(key: string, body: Buffer, contentType: string, options?: PutOptions): Promise<boolean>;
  /** The address a reader uses for the key (recorded as `log_url`). */
  url(key: string): string;
  /** While a network target is skipped (./target-breaker.ts): the error every request gets now. */
  down?(): StepError | undefined;
}

export interface PutOptions {
  /**
   * Write only when the key is absent, in one step with the check (S3 and HTTP `If-None-Match: *`,
   * a link that does not replace in a directory): an existing object is left as it is and the put
   * answers false. A server that ignores the header writes anyway and answers true.
   */
  readonly ifAbsent?: boolean;
}
