import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/aws/s3.js';
import { baseEnv, runCli } from '../harness/cli.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { startLocalS3, type LocalS3 } from '../fakes/s3.js';
import { BROKEN_PROJECT, makeFixture, openForAssertions, resultRows, type Fixture } from './process-fixtures.js';

// 17 MiB + 1 byte: over the multipart threshold, in three parts.
const BIG = { Makefile: 'all:\n\tmkdir -p dist\n\thead -c 17825793 /dev/urandom > dist/big.bin\n\techo small > dist/small.txt\n' };

let tmp: TempDir;
let postgres: PostgresServer;
let s3: LocalS3;
let fixture: Fixture;
let client: S3Client;
const savedEnv = { ...process.env };

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-publish-s3-');
  [postgres, s3, fixture] = await Promise.all([
    startPostgres(),
    startLocalS3(['artifacts', 'inventories']),
    makeFixture(tmp.path, [
      ['acme/big', BIG],
      ['acme/broken', BROKEN_PROJECT],
    ]),
  ]);
  Object.assign(process.env, s3.env);
  client = createS3Client({ forcePathStyle: true });
  await client.send(new PutObjectCommand({ Bucket: 'inventories', Key: 'nightly/repos.csv', Body: await fs.readFile(fixture.inventory) }));
});

afterAll(async () => {
  process.env = savedEnv;
  await Promise.all([postgres?.stop(), s3?.stop()]);
  await tmp?.remove();
});

function env(): Record<string, string> {
  return baseEnv({ ...s3.env, DATABASE_URL: postgres.url, MASS_INGEST_WORKDIR: path.join(tmp.path, 'work'), PUBLISH_URL: 's3://artifacts/builds' });
}

async function object(key: string): Promise<Buffer> {
  const output = await client.send(new GetObjectCommand({ Bucket: 'artifacts', Key: key }));
  return Buffer.from(await output.Body!.transformToByteArray());
}

async function rows(runId: string) {
  const db = await openForAssertions({ dataDir: path.join(tmp.path, 'unused'), databaseUrl: postgres.url });
  try {
    return (await resultRows(db, runId)).map((row) => [row.path, row.outcome, row.log_url]);
  } finally {
    await db.close();
  }
}

describe('mass-ingest process with S3 (s3rver)', () => {
  it('reads an s3:// inventory and publishes to s3:// with a multipart upload over 16 MiB, logs of failed builds included', async () => {
    const result = await runCli(['process', 's3://inventories/nightly/repos.csv', '--run-id', 's3-1'], { env: env() });

    expect(result.code).toBe(0);
    const big = fixture.repos['acme/big']!.headSha;
    const broken = fixture.repos['acme/broken']!.headSha;
    expect(await rows('s3-1')).toEqual([
      ['acme/big', 'published', `s3://artifacts/builds/local.test/acme/big/${big}/build.log`],
      ['acme/broken', 'build_failed', `s3://artifacts/builds/local.test/acme/broken/${broken}/build.log`],
    ]);
    const prefix = `builds/local.test/acme/big/${big}`;
    const manifest = JSON.parse((await object(`${prefix}/manifest.json`)).toString());
    const stored = await object(`${prefix}/big.bin`);
    expect(manifest.artifacts).toEqual([
      { name: 'big.bin', size: 17825793, sha256: createHash('sha256').update(stored).digest('hex') },
      { name: 'small.txt', size: 6, sha256: createHash('sha256').update('small\n').digest('hex') },
    ]);
    expect(manifest.runId).toBe('s3-1');
    expect((await object(`builds/local.test/acme/broken/${broken}/build.log`)).toString()).toContain('broken on purpose');
  });

  it('does not rewrite the manifest of a commit already published', async () => {
    const result = await runCli(['process', 's3://inventories/nightly/repos.csv', '--end', '1', '--force', '--run-id', 's3-2'], { env: env() });

    expect(result.code).toBe(0);
    expect((await rows('s3-2')).map((row) => row[1])).toEqual(['published']);
    const manifest = JSON.parse((await object(`builds/local.test/acme/big/${fixture.repos['acme/big']!.headSha}/manifest.json`)).toString());
    expect(manifest.runId).toBe('s3-1');
  });

  it('exits 2 when the s3:// inventory does not exist', async () => {
    const result = await runCli(['process', 's3://inventories/missing.csv', '--run-id', 's3-3'], { env: env() });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('NoSuchKey');
  });
});
