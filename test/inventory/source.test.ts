import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InfrastructureError, UsageError } from '../../src/errors.js';
import { readInventory } from '../../src/inventory/reader.js';
import { downloadInventory, openInventory, untrustedInventory } from '../../src/inventory/source.js';
import { PID_NAMESPACE } from '../../src/build/process-tree.js';
import { startFaultServer, type FaultServer } from '../fakes/fault-server.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

const HEADER = 'cloneUrl,branch,origin,path\n';
const row = (n: number) => `https://git.test/o/r${n}.git,main,git.test,o/r${n}\n`;
const CSV = HEADER + Array.from({ length: 3000 }, (_, i) => row(i + 1)).join('');

/** This process's private inventory copies (src/build/owned-temp-dir.ts names them by pid). */
async function ownCopies(): Promise<string[]> {
  const prefix = `mass-ingest-inventory-${PID_NAMESPACE}-${process.pid}-`;
  return (await fs.readdir(os.tmpdir())).filter((name) => name.startsWith(prefix));
}

/** Descriptors of this process open on `file` (Linux /proc). */
async function descriptorsOn(file: string): Promise<number> {
  const fds = await fs.readdir('/proc/self/fd');
  const targets = await Promise.all(fds.map((fd) => fs.readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return targets.filter((target) => target === file).length;
}

/** Descriptors may be closed a tick after the stream is destroyed: a bounded wait, no timing assertion. */
async function settledDescriptorsOn(file: string): Promise<number> {
  let open = await descriptorsOn(file);
  for (let attempt = 0; attempt < 50 && open > 0; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    open = await descriptorsOn(file);
  }
  return open;
}

let server: FaultServer | undefined;
let tmp: TempDir;

beforeEach(async () => {
  tmp = await createTempDir('mass-ingest-source-');
});

afterEach(async () => {
  await server?.stop();
  server = undefined;
  await tmp.remove();
});

async function serving(): Promise<string> {
  server = await startFaultServer();
  server.files.set('/repos.csv', Buffer.from(CSV));
  return `${server.baseUrl}/repos.csv`;
}

describe('downloadInventory', () => {
  it('fails with exit 3 and leaves no copy behind when the download is cut short', async () => {
    const uri = await serving();
    server!.addFault({ times: 1, fault: { kind: 'truncate-response' } });
    const before = await ownCopies();

    const error = await downloadInventory(uri).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(InfrastructureError);
    expect((error as InfrastructureError).code).toBe('inventory_unreachable');
    expect(await ownCopies()).toEqual(before);
  });

  it('leaves no copy behind when the server refuses the inventory', async () => {
    const uri = await serving();
    server!.addFault({ times: 1, fault: { kind: 'status', status: 404 } });
    const before = await ownCopies();

    const error = await downloadInventory(uri).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(UsageError);
    expect(await ownCopies()).toEqual(before);
  });
});

describe('readInventory that stops early', () => {
  it('removes the copy of a long range when its reader stops after the first row', async () => {
    const uri = await serving();
    const before = await ownCopies();

    const reading = readInventory(uri, { start: 1, end: 2500 });
    for await (const _entry of reading.entries) break;

    expect(await ownCopies()).toEqual(before);
  });

  it('leaves no copy behind when the download of a long range is cut short', async () => {
    const uri = await serving();
    server!.addFault({ times: 1, fault: { kind: 'truncate-response' } });
    const before = await ownCopies();

    const error = await (async () => {
      for await (const _entry of readInventory(uri, { start: 1, end: 2500 }).entries) break;
    })().catch((err: unknown) => err);

    expect((error as InfrastructureError).code).toBe('inventory_unreachable');
    expect(await ownCopies()).toEqual(before);
  });

  it('closes the file when its reader stops after the first row', async () => {
    const file = path.join(tmp.path, 'repos.csv');
    await fs.writeFile(file, CSV);

    for await (const _entry of readInventory(file, { start: 1, end: Number.POSITIVE_INFINITY }).entries) break;

    expect(await settledDescriptorsOn(file)).toBe(0);
  });

  it('closes the file when a row selection ends before the file does', async () => {
    const file = path.join(tmp.path, 'repos.csv');
    await fs.writeFile(file, CSV);
    const rows: number[] = [];

    for await (const entry of readInventory(file, { start: 1, end: 2 }).entries) rows.push(entry.row.rowNumber);

    expect(rows).toEqual([1, 2]);
    expect(await settledDescriptorsOn(file)).toBe(0);
  });

  it('closes both reads of a resumed partition (header and rows) when its reader stops after the first row', async () => {
    const file = path.join(tmp.path, 'repos.csv');
    await fs.writeFile(file, CSV);
    const offset = Buffer.byteLength(HEADER + Array.from({ length: 100 }, (_, i) => row(i + 1)).join(''));
    const resume = { headerBytes: HEADER.length, firstRow: 101, offset, earlierDuplicates: new Map<number, number>() };
    const rows: number[] = [];

    for await (const entry of readInventory(file, { start: 101, end: 200 }, { resume }).entries) {
      rows.push(entry.row.rowNumber);
      break;
    }

    expect(rows).toEqual([101]);
    expect(await settledDescriptorsOn(file)).toBe(0);
  });

  it('closes the file when a consumer destroys the stream openInventory gave it before reading', async () => {
    const file = path.join(tmp.path, 'repos.csv');
    await fs.writeFile(file, CSV);

    const body = await openInventory(file);
    body.destroy();

    expect(await settledDescriptorsOn(file)).toBe(0);
  });
});

describe('untrustedInventory', () => {
  it('names the certificate error found among the causes (an SDK or fetch wraps it), TLS when none is named', () => {
    const wrapped = new TypeError('fetch failed', { cause: Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' }) });
    const deeper = Object.assign(new Error('request failed'), { code: 'RequestError', cause: wrapped });

    const messages = [untrustedInventory('s3://b/k', deeper, 'AWS_ENDPOINT_URL_S3'), untrustedInventory('https://h/x', new Error('?'), 'the URL')].map((error) => error.message);

    expect(messages[0]).toContain('TLS verification failed (CERT_HAS_EXPIRED)');
    expect(messages[1]).toContain('TLS verification failed (TLS)');
  });
});
