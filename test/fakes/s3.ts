import S3rver from 's3rver';
import { createTempDir } from '../harness/tmp.js';

/** s3rver's fixed credentials: it rejects any other access key (InvalidAccessKeyId). */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface LocalS3 {
  /** `http://127.0.0.1:<port>`: the value of AWS_ENDPOINT_URL_S3. */
  readonly endpoint: string;
  /** Environment for a CLI child process talking to it. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * s3rver (an S3-compatible server on the filesystem) in this process, on a free port of
 * 127.0.0.1, with `buckets` created and its files in a temporary directory.
 */
export async function startLocalS3(buckets: string[]): Promise<LocalS3> {
  const dir = await createTempDir('mass-ingest-s3rver-');
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir.path, configureBuckets: buckets.map((name) => ({ name })) });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    env: {
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    stop: async () => {
      await server.close();
      await dir.remove();
    },
  };
}
