import { createHash } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/aws/s3.js';
import { EXIT, InfrastructureError, UsageError } from '../../src/errors.js';
import { checkInventory, readInventory } from '../../src/inventory/reader.js';
import { scanInventory } from '../../src/inventory/scan.js';
import { openInventory } from '../../src/inventory/source.js';
import { findFreePort } from '../harness/free-port.js';
import { createTempDir } from '../harness/tmp.js';
import { startFaultServer } from '../fakes/fault-server.js';
import { selfSignedCertificate } from '../fakes/tls.js';
import { startLocalS3, type LocalS3 } from '../fakes/s3.js';
import { startIfMatchProxy } from '../fakes/s3-if-match.js';

const S3 = { s3: { forcePathStyle: true } };
const CSV = '\uFEFFcloneUrl,branch,origin,path\r\nhttps://git.test/a/one.git,main,git.test,a/one\r\n\r\nhttps://git.test/a/two.git,main,git.test,a/two\r\nhttps://git.test/a/three.git,dev,git.test,a/three';

let s3: LocalS3;
const savedEnv = { ...process.env };

beforeAll(async () => {
  s3 = await startLocalS3(['inventories']);
  Object.assign(process.env, s3.env);
  await createS3Client({ forcePathStyle: true }).send(new PutObjectCommand({ Bucket: 'inventories', Key: 'nightly/repos.csv', Body: CSV }));
});

afterAll(async () => {
  process.env = savedEnv;
  await s3.stop();
});

async function failure(open: () => Promise<unknown>): Promise<unknown> {
  return open().then(
    () => undefined,
    (err: unknown) => err,
  );
}

describe('s3:// inventories', () => {
  it('streams the selected rows and hashes the whole object while reading it', async () => {
    const reading = readInventory('s3://inventories/nightly/repos.csv', { start: 2, end: 3 }, { ...S3, readToEnd: true });

    const rows: string[] = [];
    for await (const entry of reading.entries) rows.push(`${entry.row.rowNumber}:${entry.row.path}`);

    expect(rows).toEqual(['2:a/two', '3:a/three']);
    expect(reading.summary()).toEqual({ rows: 3, sha256: createHash('sha256').update(CSV).digest('hex'), complete: true });
  });

  it('counts the rows of an s3:// inventory for the chunk plan', async () => {
    const scan = await scanInventory('s3://inventories/nightly/repos.csv', S3);

    expect([scan.rows, scan.bytes]).toEqual([3, Buffer.byteLength(CSV)]);
  });

  it('fails with a usage error (exit 2) for a missing key or bucket', async () => {
    const errors = [await failure(() => openInventory('s3://inventories/nope.csv', S3)), await failure(() => openInventory('s3://no-bucket/repos.csv', S3))];

    expect(errors.map((err) => [err instanceof UsageError, (err as UsageError).code, (err as UsageError).exitCode])).toEqual([
      [true, 'inventory_not_found', EXIT.usage],
      [true, 'inventory_not_found', EXIT.usage],
    ]);
    expect((errors[0] as Error).message).toContain('NoSuchKey');
    expect((errors[1] as Error).message).toContain('NoSuchBucket');
  });

  it('fails with an infrastructure error (exit 3) when S3 cannot be reached', async () => {
    process.env.AWS_ENDPOINT_URL_S3 = `http://127.0.0.1:${await findFreePort()}`;

    const err = await failure(() => openInventory('s3://inventories/nightly/repos.csv', S3));

    process.env.AWS_ENDPOINT_URL_S3 = s3.endpoint;
    expect(err).toBeInstanceOf(InfrastructureError);
    expect([(err as InfrastructureError).code, (err as InfrastructureError).exitCode]).toEqual(['inventory_unreachable', EXIT.infrastructure]);
  });

  it('fails with a usage error (exit 2) naming NODE_EXTRA_CA_CERTS when the https endpoint has a certificate it does not trust', async () => {
    const tmp = await createTempDir('mass-ingest-s3-inventory-tls-');
    const server = await startFaultServer({ tls: selfSignedCertificate(tmp.path) });
    process.env.AWS_ENDPOINT_URL_S3 = server.baseUrl;

    const err = await failure(() => openInventory('s3://inventories/nightly/repos.csv', S3));

    process.env.AWS_ENDPOINT_URL_S3 = s3.endpoint;
    await server.stop();
    await tmp.remove();
    expect(err).toBeInstanceOf(UsageError);
    expect([(err as UsageError).code, (err as UsageError).exitCode]).toEqual(['inventory_tls', EXIT.usage]);
    expect((err as Error).message).toBe(
      "Inventory s3://inventories/nightly/repos.csv cannot be read: TLS verification failed (DEPTH_ZERO_SELF_SIGNED_CERT), its server's certificate is not trusted; give its CA to Node with NODE_EXTRA_CA_CERTS=/path/ca.pem, or check the host name in AWS_ENDPOINT_URL_S3",
    );
  });

  it('checks the header from the first 64 KiB alone (all of a longer header), and tells an empty object (which S3 answers 416 for a range) from a missing one', async () => {
    const client = createS3Client({ forcePathStyle: true });
    await client.send(new PutObjectCommand({ Bucket: 'inventories', Key: 'empty.csv', Body: '' }));
    await client.send(new PutObjectCommand({ Bucket: 'inventories', Key: 'wrong-header.csv', Body: 'url,branch\nhttps://git.test/a/b.git,main\n' }));
    const longHeader = `${Array.from({ length: 5000 }, (_, i) => `extra_column_${i}`).join(',')},cloneUrl,branch,origin,path\n`;
    await client.send(new PutObjectCommand({ Bucket: 'inventories', Key: 'long-header.csv', Body: `${longHeader}${','.repeat(5000)}https://git.test/a/b.git,main,git.test,a/b\n` }));
    client.destroy();

    // Through the proxy that answers a range of an empty object as S3 does (416).
    const proxy = await startIfMatchProxy(s3.endpoint);
    process.env.AWS_ENDPOINT_URL_S3 = proxy.url;
    const fine = await failure(() => checkInventory('s3://inventories/nightly/repos.csv', S3));
    const empty = await failure(() => checkInventory('s3://inventories/empty.csv', S3));
    const wrong = await failure(() => checkInventory('s3://inventories/wrong-header.csv', S3));
    const long = await failure(() => checkInventory('s3://inventories/long-header.csv', S3));
    process.env.AWS_ENDPOINT_URL_S3 = s3.endpoint;
    await proxy.close();

    expect([fine, long]).toEqual([undefined, undefined]);
    expect(proxy.requests.map((request) => [request.range, request.status])).toEqual([
      ['bytes=0-65535', 206],
      ['bytes=0-65535', 416],
      ['bytes=0-65535', 206],
      ['bytes=0-65535', 206],
      [undefined, 200],
    ]);
    expect([empty, wrong].map((err) => [(err as UsageError).code, (err as UsageError).exitCode])).toEqual([
      ['inventory_missing_header', EXIT.usage],
      ['inventory_missing_column', EXIT.usage],
    ]);
  });
});
