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

describe('writeOutputFile', () => {
  it('refuses a path in a missing directory with a usage error naming the flag and the path', async () => {
    const file = path.join('/nonexistent', 'dir', 'x.json');

    const writing = writeOutputFile('--out', file, '{}');

    await expect(writing).rejects.toThrow(UsageError);
    await expect(writing).rejects.toMatchObject({ exitCode: 2, message: `--out ${file} cannot be written (ENOENT): check that its directory exists and is writable` });
  });
});
