import fs from 'node:fs';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { StepError } from '../errors.js';
import { classifyS3Error, createS3Client, parseS3Url, type S3Settings } from '../aws/s3.js';
import { PUBLISH_CODES, tlsError } from './publish-errors.js';
import { DEFAULT_IDLE_MS, seconds, type PublishTimeouts } from './publish-timeouts.js';
import { PublishAttempts } from './s3-attempts.js';
import { SKIPPED, TargetBreaker } from './target-breaker.js';
import type { ArtifactStore, FileDigests, PutOptions } from './store.js';

export interface S3StoreOptions {
  /** `s3://bucket/prefix` */
  readonly url: string;
  readonly s3: S3Settings;
  /** A client of one's own (tests); without one, a client with the limits and the breaker below. */
  readonly client?: S3Client;
  /** PUBLISH_TIMEOUT: no progress for this long abandons an attempt. */
  readonly timeouts?: PublishTimeouts;
  /** Shared by the processor's repositories: a target that stopped answering is skipped. */
  readonly breaker?: TargetBreaker;
  /** Multipart part size (S3's minimum is 5 MiB); at most `queueSize` parts are in memory. */
  readonly partSize?: number;
  readonly queueSize?: number;
  /** The processor's stop signal: requests and uploads in flight are abandoned (multipart aborted). */
  readonly signal?: AbortSignal;
}

const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
const METADATA_LIMIT = 16 * 1024 * 1024;
/**
 * A listing for one key also lists the longer keys that begin with it (`maven-metadata.xml.sha1`,
 * …); they sort after it, so the key itself comes first. Room for them keeps the answer on one
 * page: S3 pages correctly, but s3rver (the S3 of our tests) answers 500 whenever it must page on
 * Node ≥ 17, whose OpenSSL lacks the DES of its continuation tokens.
 */
const EXISTS_LISTING_KEYS = 100;

/**
 * `s3://bucket/prefix` (DESIGN §6): files stream from disk through lib-storage's Upload (one
 * PutObject below the part size, multipart above, aborted on failure); the SDK retries
 * throttling, 5xx and connection errors itself.
 */
export class S3Store implements ArtifactStore {
  readonly description: string;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly client: S3Client;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly signal: AbortSignal | undefined;
  private readonly timeouts: PublishTimeouts;
  private readonly breaker: TargetBreaker;

  down(): StepError | undefined {
    return this.breaker.skipping(SKIPPED);
  }

  constructor(options: S3StoreOptions) {
    const { bucket, key } = parseS3Url(options.url);
    this.bucket = bucket;
    this.prefix = key;
    this.description = `s3://${bucket}${key ? `/${key}` : ''}`;
    this.timeouts = options.timeouts ?? { idleMs: DEFAULT_IDLE_MS };
    this.breaker = options.breaker ?? new TargetBreaker(this.description);
    this.client = options.client ?? createS3Client(options.s3, { idleMs: this.timeouts.idleMs, wrapHandler: (inner) => new PublishAttempts(inner, this.breaker, this.timeouts) });
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    this.queueSize = options.queueSize ?? 2;
    this.signal = options.signal;
  }

  /**
   * A listing, not HeadObject: a job role whose s3:ListBucket is limited to the artifact prefix
   * (terraform/iam.tf) gets 403 instead of 404 from HeadObject/GetObject on a missing key.
   */
  async exists(key: string): Promise<boolean> {
    const full = this.key(key);
    try {
      const listing = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: full, MaxKeys: EXISTS_LISTING_KEYS }), { abortSignal: this.signal });
      return listing.Contents?.some((object) => object.Key === full) ?? false;
    } catch (err) {
      if (classifyS3Error(err).kind === 'not_found') return false;
      throw this.failure(err, 'ListObjectsV2', key);
    }
  }

  async read(key: string): Promise<Buffer | undefined> {
    if (!(await this.exists(key))) return undefined;
    try {
      const output = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }), { abortSignal: this.signal });
      if ((output.ContentLength ?? 0) > METADATA_LIMIT) throw new StepError('publish_response_too_large', `${this.url(key)} is larger than ${METADATA_LIMIT} bytes`);
      return output.Body ? Buffer.from(await output.Body.transformToByteArray()) : Buffer.alloc(0);
    } catch (err) {
      if (err instanceof StepError) throw err;
      if (classifyS3Error(err).kind === 'not_found') return undefined;
      throw this.failure(err, 'GetObject', key);
    }
  }

  async putFile(key: string, file: string, digests: FileDigests): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key: this.key(key),
        Body: fs.createReadStream(file, { highWaterMark: 1024 * 1024 }),
        ContentType: 'application/octet-stream',
        Metadata: { sha256: digests.sha256 },
      },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    const abort = () => void upload.abort().catch(() => undefined);
    this.signal?.addEventListener('abort', abort, { once: true });
    try {
      if (this.signal?.aborted) abort();
      await upload.done();
    } catch (err) {
      throw this.failure(err, 'Upload', key);
    } finally {
      this.signal?.removeEventListener('abort', abort);
    }
  }

  async putBytes(key: string, body: Buffer, contentType: string, options: PutOptions = {}): Promise<boolean> {
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), Body: body, ContentType: contentType, ...(options.ifAbsent ? { IfNoneMatch: '*' } : {}) }),
        { abortSignal: this.signal },
      );
      return true;
    } catch (err) {
      // If-None-Match: * lost against a writer that got there first: the object stays theirs.
      if (options.ifAbsent && classifyS3Error(err).kind === 'precondition') return false;
      throw this.failure(err, 'PutObject', key);
    }
  }

  url(key: string): string {
    return `s3://${this.bucket}/${this.key(key)}`;
  }

  private key(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  private failure(err: unknown, operation: string, key: string): StepError {
    // Ours already: the breaker's publish_target_down, or the failure that opened it.
    if (err instanceof StepError) return err;
    const { kind, status, name } = classifyS3Error(err);
    const what = `${operation} ${this.url(key)} failed: ${name}${status ? ` (HTTP ${status})` : ''}`;
    switch (kind) {
      case 'auth':
        return new StepError(PUBLISH_CODES.auth, `${what}: check the AWS credentials and their s3:PutObject/s3:GetObject permission on the prefix`, { status, cause: err });
      case 'no_such_bucket':
      case 'not_found':
        return new StepError(PUBLISH_CODES.notFound, `${what}: check the bucket of PUBLISH_URL`, { status, cause: err });
      case 'untrusted_certificate':
        return tlsError(`${operation} ${this.url(key)}`, name, err, 'AWS_ENDPOINT_URL_S3');
      case 'unreachable':
        if (name === 'TimeoutError') {
          return new StepError(PUBLISH_CODES.timeout, `${what}: S3 made no progress within ${seconds(this.timeouts.idleMs)} or passed its deadline (PUBLISH_TIMEOUT sets the limit; retried by the SDK)`, { cause: err, retryable: true });
        }
        return new StepError(PUBLISH_CODES.unreachable, `${what}: S3 is unreachable (retried by the SDK)`, { status, cause: err, retryable: true });
      default:
        return new StepError(status ? `publish_http_${status}` : 'publish_s3_error', what, { status, cause: err });
    }
  }
}
