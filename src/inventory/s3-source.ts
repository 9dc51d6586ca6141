import { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { InfrastructureError, UsageError } from '../errors.js';
import { classifyS3Error, createS3Client, parseS3Url, type S3Settings } from '../aws/s3.js';
import type { ByteRange } from './source.js';

/**
 * `s3://bucket/key` as a byte stream (GetObject; the body is never buffered), with the ETag of
 * the object served. A missing key or bucket, or refused credentials, is the user's to fix
 * (exit 2); anything else is worth a retry (exit 3). With `ifMatch`, an object whose ETag is no
 * longer that one is refused by S3 itself (412): `inventory_changed`, exit 2. `range`: those bytes only (206).
 */
export async function openS3Inventory(uri: string, settings: S3Settings, ifMatch?: string, range?: ByteRange): Promise<{ body: Readable; etag: string | undefined }> {
  const { bucket, key } = parseS3Url(uri);
  if (!key) throw new UsageError('inventory_not_found', `Inventory ${uri} names a bucket but no key: use s3://bucket/path/repos.csv`);
  const client = createS3Client(settings);
  try {
    const output = await client.send(
      new GetObjectCommand({
        Bucket: bucket,
        Key: key,
        ...(ifMatch === undefined ? {} : { IfMatch: ifMatch }),
        ...(range === undefined ? {} : { Range: `bytes=${range.start}-${range.end ?? ''}` }),
      }),
    );
    return { body: output.Body as Readable, etag: output.ETag };
  } catch (err) {
    client.destroy();
    const { kind, name, status } = classifyS3Error(err);
    // S3 answers a range of an empty object with 416 (InvalidRange): there is nothing to read.
    if (status === 416 && range?.start === 0) return { body: Readable.from([]), etag: undefined };
    if (kind === 'precondition' && ifMatch !== undefined) {
      throw new UsageError('inventory_changed', `Inventory ${uri} is no longer the object with ETag ${ifMatch}: S3 refused If-Match with ${name}${status ? ` (HTTP ${status})` : ''}; the file changed after the chunk job read it`, [], err);
    }
    const what = `Inventory ${uri} cannot be read: ${name}${status ? ` (HTTP ${status})` : ''}`;
    if (kind === 'not_found' || kind === 'no_such_bucket') throw new UsageError('inventory_not_found', `${what}: check the bucket and key`, [], err);
    if (kind === 'auth') throw new UsageError('inventory_not_found', `${what}: check the AWS credentials and their s3:GetObject permission`, [], err);
    throw new InfrastructureError('inventory_unreachable', `${what}: S3 is unreachable, retry later`, err);
  }
}
