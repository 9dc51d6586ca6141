import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from '../../src/artifacts/s3-store.js';
import { TargetBreaker } from '../../src/artifacts/target-breaker.js';
import { ChecksumSidecarStore } from '../../src/artifacts/checksum-sidecars.js';
import { MavenLayout } from '../../src/artifacts/maven-layout.js';
import { parseMetadataVersions } from '../../src/artifacts/maven-metadata.js';
import { digestFile } from '../../src/artifacts/digests.js';
import { createS3Client } from '../../src/aws/s3.js';
import { StepError } from '../../src/errors.js';
import { findFreePort } from '../harness/free-port.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { startLocalS3, type LocalS3 } from '../fakes/s3.js';
import { startIfMatchProxy } from '../fakes/s3-if-match.js';
import { mismatchedArtifacts, publishTwoAtOnce, RACED_DIR, twoBuildsOfOneCommit, type ManifestOrder } from '../fakes/interleaving-store.js';
import { startFaultServer } from '../fakes/fault-server.js';
import { selfSignedCertificate } from '../fakes/tls.js';

let s3: LocalS3;
let tmp: TempDir;
const savedEnv = { ...process.env };

beforeAll(async () => {
  s3 = await startLocalS3(['artifacts']);
  tmp = await createTempDir('mass-ingest-s3-store-');
  // The SDK reads endpoint, region and credentials from the environment, as in production.
  Object.assign(process.env, s3.env);
});

afterAll(async () => {
  process.env = savedEnv;
  await s3.stop();
  await tmp.remove();
});

/** A store whose client records the name of every command it sends. */
function recordingStore(url = 's3://artifacts/builds'): { store: S3Store; commands: string[] } {
  const commands: string[] = [];
  const client = createS3Client({ forcePathStyle: true });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      commands.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize' },
  );
  return { store: new S3Store({ url, s3: { forcePathStyle: true }, client }), commands };
}

async function objectBytes(key: string): Promise<Buffer> {
  const client = createS3Client({ forcePathStyle: true });
  const output = await client.send(new GetObjectCommand({ Bucket: 'artifacts', Key: key }));
  return Buffer.from(await output.Body!.transformToByteArray());
}

async function writeRandom(name: string, size: number): Promise<string> {
  const file = path.join(tmp.path, name);
  await fs.writeFile(file, randomBytes(size));
  return file;
}

const sha256 = (body: Buffer) => createHash('sha256').update(body).digest('hex');

describe('S3Store', () => {
  it('uploads a small file in one PutObject, intact (no aws-chunked framing in the body)', async () => {
    const { store, commands } = recordingStore();
    const file = await writeRandom('small.jar', 100_000);
    const digests = await digestFile(file);

    await store.putFile('a/small.jar', file, digests);

    expect(commands).toEqual(['PutObjectCommand']);
    expect(sha256(await objectBytes('builds/a/small.jar'))).toBe(digests.sha256);
  });

  it('uploads a file over 16 MiB as a multipart upload, streamed in parts', async () => {
    const { store, commands } = recordingStore();
    const file = await writeRandom('big.bin', 17 * 1024 * 1024 + 3);
    const digests = await digestFile(file);

    await store.putFile('a/big.bin', file, digests);

    expect(commands).toEqual(['CreateMultipartUploadCommand', 'UploadPartCommand', 'UploadPartCommand', 'UploadPartCommand', 'CompleteMultipartUploadCommand']);
    expect(sha256(await objectBytes('builds/a/big.bin'))).toBe(digests.sha256);
  });

  it('answers exists with a listing and read with GetObject, absent keys included', async () => {
    const { store } = recordingStore();
    await store.putBytes('m/manifest.json', Buffer.from('{"schema":1}'), 'application/json');

    const found = [await store.exists('m/manifest.json'), await store.exists('m/none.json')];
    const read = [(await store.read('m/manifest.json'))?.toString(), await store.read('m/none.json')];

    expect(found).toEqual([true, false]);
    expect(read).toEqual(['{"schema":1}', undefined]);
  });

  it('finds and reads a key that longer keys extend (its checksum files) in one listing page', async () => {
    const { store, commands } = recordingStore('s3://artifacts/m2');
    for (const name of ['maven-metadata.xml', 'maven-metadata.xml.md5', 'maven-metadata.xml.sha1', 'maven-metadata.xml.sha256']) {
      await store.putBytes(`g/${name}`, Buffer.from(`<${name}/>`), 'application/xml');
    }
    commands.length = 0;

    const found = await store.exists('g/maven-metadata.xml');
    const read = (await store.read('g/maven-metadata.xml'))?.toString();

    expect([found, read]).toEqual([true, '<maven-metadata.xml/>']);
    expect(commands).toEqual(['ListObjectsV2Command', 'ListObjectsV2Command', 'GetObjectCommand']);
  });

  it('publishes a second version under the maven layout, reading back the metadata that has checksum files', async () => {
    const jar = await writeRandom('widget.jar', 1000);
    const buildLog = await writeRandom('build.log', 100);
    const layout = new MavenLayout(new ChecksumSidecarStore(recordingStore('s3://artifacts/m2-twice').store));
    const publish = (commitSha: string, startedAt: string) =>
      layout.publish({
        repository: { cloneUrl: 'https://github.com/acme/widget.git', branch: 'main', origin: 'github.com', path: 'acme/widget' },
        commitSha,
        builder: 'maven',
        artifacts: [{ name: 'widget.jar', file: jar, size: 1000 }],
        logFile: buildLog,
        startedAt: new Date(startedAt),
        runId: 'run-1',
      });

    await publish('abcdef0123456789abcdef0123456789abcdef01', '2026-03-04T05:06:07Z');
    await publish('1234567890abcdef1234567890abcdef12345678', '2026-03-05T05:06:07Z');

    const metadata = await objectBytes('m2-twice/com/github/acme/widget/maven-metadata.xml');
    expect(parseMetadataVersions(metadata.toString()).map((version) => version.slice(-7))).toEqual(['abcdef0', '1234567']);
  });

  it('records s3:// URLs under the prefix', () => {
    const { store } = recordingStore('s3://artifacts/builds/');

    expect([store.url('x/build.log'), store.description]).toEqual(['s3://artifacts/builds/x/build.log', 's3://artifacts/builds']);
  });

  it.each<[1 | 2, ManifestOrder]>([
    [1, 'first-manifest-first'],
    [1, 'second-manifest-first'],
    [2, 'first-manifest-first'],
    [2, 'second-manifest-first'],
  ])('leaves a manifest that describes the objects beside it when %i processor(s) publish one commit from other bytes at once (%s)', async (processors, order) => {
    const builds = await twoBuildsOfOneCommit(path.join(tmp.path, `race-${processors}-${order}`));
    // s3rver writes over an existing object whatever If-None-Match says: the proxy answers 412 as S3 does.
    const proxy = await startIfMatchProxy(s3.endpoint);
    process.env.AWS_ENDPOINT_URL_S3 = proxy.url;
    const url = `s3://artifacts/race-${processors}-${order}`;
    const published = await publishTwoAtOnce(new S3Store({ url, s3: { forcePathStyle: true } }), builds.main, builds.release, { processors, order }).finally(async () => {
      process.env.AWS_ENDPOINT_URL_S3 = s3.endpoint;
      await proxy.close();
    });

    const store = new S3Store({ url, s3: { forcePathStyle: true } });
    const mismatched = await mismatchedArtifacts(store, RACED_DIR);

    expect(mismatched).toEqual([]);
    // One processor: the second row finds the commit published, and the first's object stays.
    if (processors === 1) expect([published[1].alreadyPublished, (await store.read(`${RACED_DIR}/widget.jar`))?.toString()]).toEqual([true, 'jar built on main']);
  });

  it('answers false to a put only-if-absent that lost the race on the manifest', async () => {
    const sent: unknown[] = [];
    const client = {
      send: async (command: { input: unknown }) => {
        sent.push(command.input);
        throw Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
      },
    } as unknown as S3Client;
    const store = new S3Store({ url: 's3://artifacts', s3: { forcePathStyle: true }, client });

    const written = await store.putBytes('a/manifest.json', Buffer.from('{}'), 'application/json', { ifAbsent: true });

    expect(written).toBe(false);
    expect(sent).toEqual([expect.objectContaining({ Key: 'a/manifest.json', IfNoneMatch: '*' })]);
    await expect(store.putBytes('a/other.json', Buffer.from('{}'), 'application/json')).rejects.toBeInstanceOf(StepError);
  });

  it('maps NoSuchBucket to publish_not_found and refused credentials to publish_auth', async () => {
    const file = await writeRandom('tiny.txt', 10);
    const digests = await digestFile(file);
    const missingBucket = new S3Store({ url: 's3://no-such-bucket/x', s3: { forcePathStyle: true } });
    const badKeys = new S3Store({
      url: 's3://artifacts/x',
      s3: { forcePathStyle: true },
      client: new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'WRONG', secretAccessKey: 'WRONG' } }),
    });

    const errors = (await Promise.all([missingBucket.putFile('a', file, digests).catch((err: unknown) => err), badKeys.putFile('a', file, digests).catch((err: unknown) => err)])) as StepError[];

    expect(errors.map((error) => [error.code, error.status])).toEqual([
      ['publish_not_found', 404],
      ['publish_auth', 403],
    ]);
    expect(errors[1]?.message).toContain('InvalidAccessKeyId');
  });

  it('abandons a multipart upload in flight and stores nothing more once the stop signal fires', async () => {
    const file = await writeRandom('stopped.bin', 17 * 1024 * 1024);
    const stop = new AbortController();
    const commands: string[] = [];
    const client = createS3Client({ forcePathStyle: true });
    client.middlewareStack.add(
      (next, context) => async (args) => {
        commands.push(context.commandName ?? '?');
        if (context.commandName === 'UploadPartCommand') stop.abort();
        return next(args);
      },
      { step: 'initialize' },
    );
    const store = new S3Store({ url: 's3://artifacts/stopped', s3: { forcePathStyle: true }, client, partSize: 5 * 1024 * 1024, signal: stop.signal });

    const upload = await store.putFile('big.bin', file, await digestFile(file)).catch((err: unknown) => err);
    const manifest = await store.putBytes('manifest.json', Buffer.from('{}'), 'application/json', { ifAbsent: true }).catch((err: unknown) => err);

    expect(upload).toBeInstanceOf(StepError);
    expect(manifest).toBeInstanceOf(StepError);
    expect(commands).not.toContain('CompleteMultipartUploadCommand');
    const reader = new S3Store({ url: 's3://artifacts/stopped', s3: { forcePathStyle: true } });
    expect([await reader.exists('big.bin'), await reader.exists('manifest.json')]).toEqual([false, false]);
  });

  it('refuses an https endpoint whose certificate it does not trust with publish_tls, at once, naming NODE_EXTRA_CA_CERTS', async () => {
    const server = await startFaultServer({ tls: selfSignedCertificate(tmp.path) });
    const file = await writeRandom('tls.bin', 1024);
    const digests = await digestFile(file);
    const endpoint = process.env.AWS_ENDPOINT_URL_S3;
    // The SDK reads the endpoint from the environment when the first request goes out.
    process.env.AWS_ENDPOINT_URL_S3 = server.baseUrl;
    // The store's own client, as a processor has it: the SDK's retries and the target's breaker,
    // here one that would skip the target after a single attempt without an answer.
    const store = new S3Store({ url: 's3://artifacts/tls', s3: { forcePathStyle: true }, breaker: new TargetBreaker('s3://artifacts/tls', { threshold: 1, cooldownMs: 60_000 }) });

    const failures = await Promise.all([store.exists('manifest.json').catch((err: unknown) => err), store.putFile('tls.bin', file, digests).catch((err: unknown) => err)]).finally(() => {
      process.env.AWS_ENDPOINT_URL_S3 = endpoint;
    });
    await server.stop();

    expect(failures.map((error) => [(error as StepError).code, (error as StepError).retryable])).toEqual([
      ['publish_tls', false],
      ['publish_tls', false],
    ]);
    expect((failures[0] as Error).message).toBe(
      "ListObjectsV2 s3://artifacts/tls/manifest.json failed TLS verification (DEPTH_ZERO_SELF_SIGNED_CERT): the publish target's certificate is not trusted; give its CA to Node with NODE_EXTRA_CA_CERTS=/path/ca.pem, or check the host name in AWS_ENDPOINT_URL_S3",
    );
    // Not retried by the SDK, and not counted by the breaker as a target that gives no answer.
    expect(failures.map((error) => ((error as Error).cause as { $metadata?: { attempts?: number } }).$metadata?.attempts)).toEqual([1, 1]);
    expect([server.requests.length, store.down()]).toEqual([0, undefined]);
  });

  it('maps a refused connection to publish_unreachable', async () => {
    const port = await findFreePort();
    const store = new S3Store({
      url: 's3://artifacts/x',
      s3: { forcePathStyle: true },
      client: new S3Client({ endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, region: 'us-east-1', maxAttempts: 1 }),
    });

    const error = await store.exists('a').catch((err: StepError) => err);

    expect(error).toBeInstanceOf(StepError);
    expect((error as StepError).code).toBe('publish_unreachable');
  });
});
