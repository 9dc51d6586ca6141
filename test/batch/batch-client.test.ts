import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchApi } from '../../src/batch/batch-client.js';
import type { Config } from '../../src/config/config.js';

// An endpoint that accepts connections and never answers (a hung proxy, a wrong port that listens).
let server: net.Server;
let endpoint: string;
const sockets = new Set<net.Socket>();
const saved = { ...process.env };

beforeAll(async () => {
  // The SDK reads credentials from process.env: dummies, and never the metadata service.
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test-secret', AWS_REGION: 'eu-west-1', AWS_EC2_METADATA_DISABLED: 'true' });
  server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
  process.env = saved;
});

describe('createBatchApi', () => {
  it('gives up on a call the endpoint never answers, as a lost connection (retried and reconciled by the submitter)', async () => {
    const config = { env: { AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_BATCH: endpoint } } as unknown as Config;
    const api = createBatchApi(config, { connectMs: 1_000, requestMs: 300 });

    try {
      const submitting = api.submitJob({ jobName: 'hung', jobQueue: 'q', jobDefinition: 'd' } as never);

      await expect(submitting).rejects.toMatchObject({ code: 'batch_connection_lost', exitCode: 3 });
      expect(sockets.size).toBeGreaterThan(0);
    } finally {
      api.destroy();
    }
  });
});
