import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT, InfrastructureError, UsageError } from '../../src/errors.js';
import { readInventory } from '../../src/inventory/reader.js';
import { findFreePort } from '../harness/free-port.js';
import { createTempDir } from '../harness/tmp.js';
import { selfSignedCertificate } from '../fakes/tls.js';
import { startFaultServer, type FaultServer } from '../fakes/fault-server.js';

const ROWS = Array.from({ length: 2000 }, (_, i) => `https://git.test/o/r${i + 1}.git,main,git.test,o/r${i + 1}`);
const CSV = `cloneUrl,branch,origin,path\n${ROWS.join('\n')}\n`;

let server: FaultServer | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function serving(): Promise<string> {
  server = await startFaultServer();
  server.files.set('/repos.csv', Buffer.from(CSV));
  return `${server.baseUrl}/repos.csv`;
}

async function readAll(uri: string, selection = { start: 1, end: Number.POSITIVE_INFINITY }, options: { httpAnswerTimeoutMs?: number } = {}) {
  const reading = readInventory(uri, selection, options);
  const paths: string[] = [];
  for await (const entry of reading.entries) paths.push(entry.row.path ?? '');
  return { paths, summary: reading.summary() };
}

async function failure(uri: string): Promise<unknown> {
  return readAll(uri).then(
    () => undefined,
    (err: unknown) => err,
  );
}

/** A server streaming `total` rows as fast as the reader takes them. */
async function startHuge(total: number, counter: { sent: number } = { sent: 0 }): Promise<http.Server> {
  const line = (row: number) => Buffer.from(`https://git.test/o/r${row}.git,main,git.test,o/r${row}\n`);
  const huge = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/csv' });
    res.write('cloneUrl,branch,origin,path\n');
    let row = 0;
    const pump = () => {
      while (row < total) {
        row += 1;
        const bytes = line(row);
        counter.sent += bytes.length;
        if (!res.write(bytes)) return void res.once('drain', pump);
      }
      res.end();
    };
    res.on('close', () => (row = total));
    pump();
  });
  await new Promise<void>((resolve) => huge.listen(0, '127.0.0.1', resolve));
  return huge;
}

async function stop(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('http(s):// inventories', () => {
  it('keeps reading an inventory whose reader pauses (a long build) for longer than the answer time limit', async () => {
    // 100,000 rows (5 MB): far more than the socket and stream buffers hold while the reader pauses.
    const huge = await startHuge(100_000);
    const uri = `http://127.0.0.1:${(huge.address() as AddressInfo).port}/repos.csv`;

    try {
      const reading = readInventory(uri, { start: 1, end: Number.POSITIVE_INFINITY }, { httpAnswerTimeoutMs: 1000 });
      let rows = 0;
      for await (const entry of reading.entries) {
        rows += 1;
        if (entry.row.path === 'o/r1') await new Promise((resolve) => setTimeout(resolve, 1500));
      }

      expect([rows, reading.summary().complete]).toEqual([100_000, true]);
    } finally {
      await stop(huge);
    }
  });

  it('reads a long range whole before the first row, so a server that closes an unread connection cannot cut it off', async () => {
    // 200,000 rows (11 MB), more than socket buffers hold; the server drops a connection that
    // stops reading for 1 s, as nginx's send_timeout and S3 do, while the reader pauses 2.5 s.
    const impatient = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/csv' });
      res.write('cloneUrl,branch,origin,path\n');
      let row = 0;
      const pump = () => {
        while (row < 200_000) {
          row += 1;
          if (!res.write(`https://git.test/o/r${row}.git,main,git.test,o/r${row}\n`)) {
            const idle = setTimeout(() => res.destroy(), 1000);
            return void res.once('drain', () => {
              clearTimeout(idle);
              pump();
            });
          }
        }
        res.end();
      };
      pump();
    });
    await new Promise<void>((resolve) => impatient.listen(0, '127.0.0.1', resolve));
    const tmpBefore = (await fs.readdir(os.tmpdir())).filter((name) => name.startsWith('mass-ingest-inventory-'));

    try {
      const reading = readInventory(`http://127.0.0.1:${(impatient.address() as AddressInfo).port}/repos.csv`, { start: 1, end: 150_000 });
      let rows = 0;
      for await (const entry of reading.entries) {
        rows += 1;
        if (entry.row.path === 'o/r1') await new Promise((resolve) => setTimeout(resolve, 2500));
      }

      expect(rows).toBe(150_000);
      expect((await fs.readdir(os.tmpdir())).filter((name) => name.startsWith('mass-ingest-inventory-'))).toEqual(tmpBefore);
    } finally {
      await stop(impatient);
    }
  });

  it('is an infrastructure error (exit 3) when the server sends no answer within the time limit', async () => {
    const silent = http.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));

    try {
      const error = await readAll(`http://127.0.0.1:${(silent.address() as AddressInfo).port}/repos.csv`, { start: 1, end: 1 }, { httpAnswerTimeoutMs: 100 }).catch((err: unknown) => err);

      expect(error).toBeInstanceOf(InfrastructureError);
      expect([(error as InfrastructureError).code, (error as InfrastructureError).exitCode]).toEqual(['inventory_unreachable', EXIT.infrastructure]);
      expect((error as InfrastructureError).message).toContain('cannot be reached: no answer within 0.1 s');
    } finally {
      await stop(silent);
    }
  });

  it('streams the rows and hashes the bytes while reading', async () => {
    const uri = await serving();

    const { paths, summary } = await readAll(uri);

    expect(paths).toHaveLength(2000);
    expect(summary).toEqual({ rows: 2000, sha256: createHash('sha256').update(CSV).digest('hex'), complete: true });
  });

  it('is a usage error (exit 2) when the server answers 404 or 401', async () => {
    const uri = await serving();
    server!.addFault({ times: 1, fault: { kind: 'status', status: 404 } });
    server!.addFault({ times: 1, fault: { kind: 'status', status: 401 } });

    const errors = [await failure(uri), await failure(uri)];

    expect(errors.map((err) => [err instanceof UsageError, (err as UsageError).exitCode])).toEqual([
      [true, EXIT.usage],
      [true, EXIT.usage],
    ]);
  });

  it('is a usage error (exit 2) when the server refuses the request otherwise (400, 405), and retryable on 408 and 429', async () => {
    const uri = await serving();
    for (const status of [400, 405, 408, 429]) server!.addFault({ times: 1, fault: { kind: 'status', status } });

    const errors = [await failure(uri), await failure(uri), await failure(uri), await failure(uri)];

    expect(errors.map((err) => [(err as UsageError).code, (err as UsageError).exitCode])).toEqual([
      ['inventory_refused', EXIT.usage],
      ['inventory_refused', EXIT.usage],
      ['inventory_unreachable', EXIT.infrastructure],
      ['inventory_unreachable', EXIT.infrastructure],
    ]);
    expect((errors[0] as UsageError).message).toContain('answered HTTP 400');
  });

  it('is a usage error (exit 2) naming NODE_EXTRA_CA_CERTS when the https server has a certificate it does not trust', async () => {
    const tmp = await createTempDir('mass-ingest-http-inventory-tls-');
    server = await startFaultServer({ tls: selfSignedCertificate(tmp.path) });
    server.files.set('/repos.csv', Buffer.from(CSV));

    const error = await failure(`${server.baseUrl}/repos.csv`);

    await tmp.remove();
    expect(error).toBeInstanceOf(UsageError);
    expect([(error as UsageError).code, (error as UsageError).exitCode]).toEqual(['inventory_tls', EXIT.usage]);
    expect((error as UsageError).message).toBe(
      `Inventory ${server.baseUrl}/repos.csv cannot be read: TLS verification failed (DEPTH_ZERO_SELF_SIGNED_CERT), its server's certificate is not trusted; give its CA to Node with NODE_EXTRA_CA_CERTS=/path/ca.pem, or check the host name in the URL`,
    );
    expect(server.requests).toEqual([]);
  });

  it('is a usage error (exit 2) when the URL carries credentials, and never shows the password', async () => {
    const uri = (await serving()).replace('http://', 'http://reader:pw-s3cret-42@');

    const error = await failure(uri);

    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(EXIT.usage);
    expect((error as UsageError).code).toBe('inventory_url_credentials');
    expect((error as UsageError).message).toContain('contains credentials');
    expect((error as UsageError).message).not.toContain('pw-s3cret-42');
  });

  it('is an infrastructure error (exit 3) on a 503, a refused connection or a body cut short', async () => {
    const uri = await serving();
    server!.addFault({ times: 1, fault: { kind: 'status', status: 503 } });
    server!.addFault({ times: 1, fault: { kind: 'truncate-response' } });
    const refused = `http://127.0.0.1:${await findFreePort()}/repos.csv`;

    const errors = [await failure(uri), await failure(uri), await failure(refused)];

    expect(errors.map((err) => [err instanceof InfrastructureError, (err as InfrastructureError).code])).toEqual([
      [true, 'inventory_unreachable'],
      [true, 'inventory_unreachable'],
      [true, 'inventory_unreachable'],
    ]);
  });

  it('reads the first rows of a huge inventory without downloading all of it', async () => {
    const counter = { sent: 0 };
    const huge = await startHuge(1_000_000, counter);

    try {
      const { paths } = await readAll(`http://127.0.0.1:${(huge.address() as AddressInfo).port}/repos.csv`, { start: 1, end: 3 });

      expect(paths).toEqual(['o/r1', 'o/r2', 'o/r3']);
    } finally {
      await stop(huge);
    }
    // A million rows are about 54 MB; what left the server before the reader stopped is a few socket buffers.
    expect(counter.sent).toBeLessThan(54_000_000 / 4);
  });
});
