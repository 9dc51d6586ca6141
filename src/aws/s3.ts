import { S3Client } from '@aws-sdk/client-s3';
import { UsageError, isUntrustedCertificate } from '../errors.js';
import { scrubUrlSecrets } from '../logging/scrub.js';
import { withoutSdkNodeVersionWarning } from '../batch/sdk-warning.js';
import type { HttpHandlerOptions, HttpRequest, HttpResponse, RequestHandler } from '@smithy/types';

/** What the S3 client takes from Config; endpoint, region and credentials come from the SDK's own env handling. */
export interface S3Settings {
  readonly forcePathStyle: boolean;
}

/** The SDK's request handler, as a wrapper sees it. */
export type S3RequestHandler = RequestHandler<HttpRequest, HttpResponse, HttpHandlerOptions> & {
  updateHttpClientConfig?(key: never, value: never): void;
  httpHandlerConfigs?(): object;
};

/** What a publishing client adds: its no-progress limit, and a wrapper around the SDK's request handler. */
export interface S3PublishOptions {
  readonly idleMs: number;
  readonly wrapHandler: (inner: S3RequestHandler) => S3RequestHandler;
}

/**
 * One S3 client for inventories and artifacts. Checksums only when an operation requires them:
 * S3-compatible servers must receive plain bodies, not aws-chunked trailers (DESIGN §6).
 */
export function createS3Client(settings: S3Settings, publish?: S3PublishOptions): S3Client {
  const client = withoutSdkNodeVersionWarning(
    () =>
      new S3Client({
        forcePathStyle: settings.forcePathStyle,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        // The SDK's standard retry (exponential, jittered) covers throttling, 5xx and connection errors.
        maxAttempts: 4,
        // Publishing: `socketTimeout` is a no-progress limit (no byte either way on the socket);
        // the deadline per attempt is the wrapper's. (`requestTimeout` would only warn, unless
        // thrown, and would also stretch the SDK's wait for `100 Continue` to its own length.)
        requestHandler: publish
          ? { connectionTimeout: Math.min(10_000, publish.idleMs), socketTimeout: publish.idleMs }
          : { connectionTimeout: 10_000, requestTimeout: 120_000 },
      }),
  );
  // Wrapped before the first request: each command reads the handler from the config when it is sent.
  if (publish) client.config.requestHandler = publish.wrapHandler(client.config.requestHandler as S3RequestHandler);
  return client;
}

export interface S3Location {
  readonly bucket: string;
  /** Without leading or trailing slashes; '' for the bucket's root. */
  readonly key: string;
}

export function parseS3Url(uri: string): S3Location {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(uri);
  if (!match?.[1]) throw new UsageError('s3_url_invalid', `${scrubUrlSecrets(uri)} is not an s3://bucket/key URL`);
  // `s3://key:secret@bucket/…` would send the secret as part of a bucket name: S3 takes
  // credentials from the SDK's usual sources (role, AWS_ACCESS_KEY_ID…), never from the URL.
  if (/[@:]/.test(match[1])) {
    throw new UsageError('s3_url_credentials', `${scrubUrlSecrets(uri)} carries credentials or a port in its bucket name: use s3://bucket/key and give credentials through the AWS SDK's usual sources (role, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)`);
  }
  return { bucket: match[1], key: (match[2] ?? '').replace(/^\/+|\/+$/g, '') };
}

export type S3FailureKind = 'auth' | 'no_such_bucket' | 'not_found' | 'precondition' | 'untrusted_certificate' | 'unreachable' | 'other';

export interface S3Failure {
  readonly kind: S3FailureKind;
  /** HTTP status when the server answered. */
  readonly status: number | undefined;
  /** The S3 error code (`AccessDenied`, `NoSuchKey`, …) or the connection error code. */
  readonly name: string;
}

const AUTH_CODES = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'Forbidden', 'AllAccessDisabled']);

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

/** Sorts an SDK error by what the caller does about it (by S3 error code and status, never by message). */
export function classifyS3Error(err: unknown): S3Failure {
  const error = err as { name?: string; Code?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = error.$metadata?.httpStatusCode;
  const name = error.Code ?? (error.name && error.name !== 'Error' ? error.name : undefined) ?? error.code ?? 'Error';
  const kind = ((): S3FailureKind => {
    if (AUTH_CODES.has(name) || status === 401 || status === 403) return 'auth';
    if (name === 'NoSuchBucket') return 'no_such_bucket';
    if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return 'not_found';
    if (name === 'PreconditionFailed' || status === 412) return 'precondition';
    // The endpoint's (AWS_ENDPOINT_URL_S3) certificate: the SDK does not retry it, and a later job would meet it again.
    if (status === undefined && isUntrustedCertificate(err)) return 'untrusted_certificate';
    if (status === undefined) return NETWORK_CODES.has(error.code ?? name) || name === 'TimeoutError' ? 'unreachable' : 'other';
    if (status >= 500 || status === 429 || status === 408) return 'unreachable';
    return 'other';
  })();
  return { kind, status, name };
}
