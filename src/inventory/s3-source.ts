import { Readable, Transform } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { InfrastructureError, UsageError } from '../errors.js';
import { classifyS3Error, createS3Client, parseS3Url, type S3Settings } from '../aws/s3.js';
import { untrustedInventory, type ByteRange } from './source.js';

/**
 * `s3://bucket/key` as a byte stream (GetObject; the body is never buffered), with the ETag of
 * the object served. A missing key or bucket, refused credentials or an endpoint's certificate not
 * trusted is the user's to fix (exit 2); anything else is worth a retry (exit 3). With `ifMatch`,
 * an object whose ETag is no longer that one is refused by S3 itself (412): `inventory_changed`,
 * exit 2. `range`: those bytes only (206).
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
    const body = output.Body as Readable;
    // A server (or proxy) that ignores Range answers 200 with the whole object: its bytes from
    // the first would be read as the range's, another partition's rows under this one's numbers.
    const partial = range === undefined || output.ContentRange !== undefined || output.$metadata.httpStatusCode === 206;
    return { body: partial ? body : cutToRange(body, range), etag: output.ETag };
  } catch (err) {
    client.destroy();
    const { kind, name, status } = classifyS3Error(err);
    // Bytes the object with that ETag had are beyond this one's end: another object (a server that
    // checks Range before If-Match answers 416 where S3 answers 412).
    if (status === 416 && ifMatch !== undefined) {
      throw new UsageError('inventory_changed', `Inventory ${uri} is no longer the object with ETag ${ifMatch}: bytes ${range?.start ?? 0}- of it are past its end (${name}, HTTP 416); the file changed after the chunk job read it`, [], err);
    }
    // S3 answers a range of an empty object with 416 (InvalidRange): there is nothing to read.
    if (status === 416 && range?.start === 0) return { body: Readable.from([]), etag: undefined };
    if (kind === 'precondition' && ifMatch !== undefined) {
      throw new UsageError('inventory_changed', `Inventory ${uri} is no longer the object with ETag ${ifMatch}: S3 refused If-Match with ${name}${status ? ` (HTTP ${status})` : ''}; the file changed after the chunk job read it`, [], err);
    }
    const what = `Inventory ${uri} cannot be read: ${name}${status ? ` (HTTP ${status})` : ''}`;
    if (kind === 'not_found' || kind === 'no_such_bucket') throw new UsageError('inventory_not_found', `${what}: check the bucket and key`, [], err);
    if (kind === 'auth') throw new UsageError('inventory_not_found', `${what}: check the AWS credentials and their s3:GetObject permission`, [], err);
    if (kind === 'untrusted_certificate') throw untrustedInventory(uri, err, 'AWS_ENDPOINT_URL_S3');
    throw new InfrastructureError('inventory_unreachable', `${what}: S3 is unreachable, retry later`, err);
  }
}

/** The bytes `range` of a whole object's body, for a server that answered a ranged GET with all of it. */
function cutToRange(body: Readable, range: ByteRange): Readable {
  let position = 0;
  const last = range.end ?? Number.POSITIVE_INFINITY;
  const cut = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      // Chunks already on their way after the last byte: the range has ended.
      if (position > last) return callback();
      const from = Math.max(range.start - position, 0);
      const to = Math.min(last + 1 - position, chunk.length);
      position += chunk.length;
      if (to > from) this.push(chunk.subarray(from, to));
      if (position > last) {
        this.push(null);
        body.destroy();
      }
      callback();
    },
  });
  body.on('error', (err) => cut.destroy(err));
  cut.on('close', () => body.destroy());
  return body.pipe(cut);
}
