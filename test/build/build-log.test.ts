import fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BuildLog } from '../../src/build/build-log.js';
import { tailOfLog } from '../../src/build/run-build.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

const SECRET = 'tok-0123456789abcdef';
const scrub = (text: string) => text.replaceAll(SECRET, '***');

describe('BuildLog', () => {
  let tmp: TempDir;
  let file: string;
  beforeEach(async () => {
    tmp = await createTempDir('mass-ingest-build-log-');
    file = join(tmp.path, 'build.log');
  });
  afterEach(async () => {
    await tmp.remove();
  });

  const copy = async (output: string | Buffer[], limits = { lineChars: 100, headBytes: 1_000_000, tailBytes: 1_000_000 }) => {
    const stream = fs.createWriteStream(file);
    const log = new BuildLog(stream, scrub, limits);
    await log.copy(Readable.from(typeof output === 'string' ? [Buffer.from(output)] : output));
    await log.flush();
    await new Promise<void>((resolve) => stream.end(resolve));
    return readFile(file, 'utf8');
  };

  it('splits lines on LF, CRLF and CR, across chunk boundaries', async () => {
    const text = await copy([Buffer.from('one\r'), Buffer.from('\ntwo\rthree\n'), Buffer.from('four')]);

    expect(text).toEqual('one\ntwo\nthree\nfour\n');
  });

  it('keeps the first and last bytes of a long output and says how much it left out', async () => {
    const lines = Array.from({ length: 1000 }, (_, i) => `line ${i}`).join('\n');

    const text = await copy(lines, { lineChars: 100, headBytes: 30, tailBytes: 20 });

    expect(text.split('\n')).toEqual([
      'line 0',
      'line 1',
      'line 2',
      'line 3',
      '[mass-ingest] 994 lines (8844 bytes) of output left out: build.log keeps the first 30 and the last 20 bytes',
      'line 998',
      'line 999',
      '',
    ]);
    expect(await tailOfLog(file, 1)).toEqual('line 999');
  });

  it('scrubs a secret at the cut of a long line whole, never keeping a part of it', async () => {
    const line = `${'a'.repeat(95)}${SECRET}${'b'.repeat(100_000)}`;

    const text = await copy(`${line}\n${'c'.repeat(4090)}${SECRET}${'d'.repeat(100_000)}\n`);

    expect(text).not.toContain(SECRET.slice(0, 6));
    expect(text.split('\n').map((line) => line.replace(/^(.)\1*/, (run) => `${run[0]}x${run.length}`))).toEqual([
      'ax83 [mass-ingest: 100015 more characters of this line left out]',
      'cx83 [mass-ingest: 104010 more characters of this line left out]',
      '',
    ]);
  });
});
