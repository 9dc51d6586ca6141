import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { writeOutputFile, writeToStdout } from '../../src/report/output.js';

function closedPipe(): Writable {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE', errno: -32, syscall: 'write' }));
    },
  });
}

describe('writeToStdout', () => {
  it('writes the text to an open stream', async () => {
    const stdout = new PassThrough();
    const chunks: string[] = [];
    stdout.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));

    const result = await writeToStdout(stdout, 'report\n');

    expect([result, chunks.join(''), stdout.listenerCount('error')]).toEqual(['written', 'report\n', 0]);
  });

  it('ends quietly when the reader closed the pipe, and the stream\'s own error event is handled', async () => {
    const stdout = closedPipe();

    const result = await writeToStdout(stdout, 'x'.repeat(100_000));
    await new Promise((resolve) => setImmediate(resolve));

    expect(result).toBe('closed');
    expect(stdout.destroyed).toBe(true);
  });
});

describe('writeToStdout with a report produced in chunks', () => {
  it('writes every chunk in order to an open stream', async () => {
    const stdout = new PassThrough();
    const chunks: string[] = [];
    stdout.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));

    const result = await writeToStdout(stdout, (async function* () { yield 'a,'; yield 'b,'; yield 'c\n'; })());

    expect([result, chunks.join('')]).toEqual(['written', 'a,b,c\n']);
  });

  it('stops producing the report once the reader closed the pipe', async () => {
    let produced = 0;
    async function* report() {
      for (let page = 0; page < 100; page++) {
        produced += 1;
        yield `page ${page}\n`;
      }
    }

    const result = await writeToStdout(closedPipe(), report());

    expect([result, produced]).toEqual(['closed', 1]);
  });
});

describe('writeOutputFile', () => {
  it('writes a report produced in chunks to the file', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mass-ingest-output-'));
    const file = path.join(dir, 'report.csv');

    await writeOutputFile('--out', file, (async function* () { yield 'h\n'; yield '1\n'; })());

    expect(await fs.readFile(file, 'utf8')).toBe('h\n1\n');
    await fs.rm(dir, { recursive: true, force: true });
  });


  it('removes the half-written file when producing the report fails, and passes the error on as it is', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mass-ingest-output-'));
    const file = path.join(dir, 'report.json');
    const failure = new Error('database connection lost');

    const writing = writeOutputFile('--out', file, (async function* () { yield '{"rows": ['; throw failure; })());

    await expect(writing).rejects.toBe(failure);
    await expect(fs.access(file)).rejects.toThrow();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('leaves the earlier file as it was, and nothing beside it, when a report to replace it is cut short', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mass-ingest-output-'));
    const file = path.join(dir, 'failed.csv');
    await fs.writeFile(file, 'cloneUrl,branch,origin,path\nhttps://h/a.git,main,h,a\n');

    const writing = writeOutputFile('--out', file, (async function* () { yield 'cloneUrl,branch,origin,path\n'; throw new Error('stopped'); })());
    await expect(writing).rejects.toThrow('stopped');
    // While it is written, the file named is the earlier one, whole: the new one appears at once, whole.
    let seen = '';
    await writeOutputFile('--out', file, (async function* () { yield 'a\n'; seen = await fs.readFile(file, 'utf8'); yield 'b\n'; })());

    expect(seen).toBe('cloneUrl,branch,origin,path\nhttps://h/a.git,main,h,a\n');
    expect(await fs.readFile(file, 'utf8')).toBe('a\nb\n');
    expect(await fs.readdir(dir)).toEqual(['failed.csv']);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('writes in place to a target that is no regular file', async () => {
    await writeOutputFile('--out', '/dev/null', 'ignored\n');
  });

  it('refuses a path in a missing directory with a usage error naming the flag and the path', async () => {
    const file = path.join('/nonexistent', 'dir', 'x.json');

    const writing = writeOutputFile('--out', file, '{}');

    await expect(writing).rejects.toThrow(UsageError);
    await expect(writing).rejects.toMatchObject({ exitCode: 2, message: `--out ${file} cannot be written (ENOENT): check that its directory exists and is writable` });
  });
});
