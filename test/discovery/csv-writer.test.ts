import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { csvField, removeStaleTemporaries, writeCsvAtomically } from '../../src/discovery/csv-writer.js';
import type { DiscoveredRepository } from '../../src/discovery/types.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

let tmp: TempDir;
beforeEach(async () => {
  tmp = await createTempDir('mass-ingest-csv-');
});
afterEach(async () => {
  await tmp.remove();
});

const repo: DiscoveredRepository = { cloneUrl: 'https://github.com/acme/widget.git', branch: 'main', origin: 'github.com', path: 'acme/widget', stars: 42, pushedAt: '2026-01-02T03:04:05Z' };

async function* pages(...lists: DiscoveredRepository[][]) {
  yield* lists;
}

describe('writeCsvAtomically', () => {
  it('writes the header and one line per repository, replacing the old file in one step', async () => {
    const file = path.join(tmp.path, 'repos.csv');
    await fs.writeFile(file, 'old content\n');

    const rows = await writeCsvAtomically(file, pages([repo], [{ ...repo, path: 'acme/gadget', cloneUrl: 'https://github.com/acme/gadget.git', stars: 0, pushedAt: null }]));

    expect(rows).toBe(2);
    expect(await fs.readFile(file, 'utf8')).toBe(
      'cloneUrl,branch,origin,path,stars,pushedAt\n' +
        'https://github.com/acme/widget.git,main,github.com,acme/widget,42,2026-01-02T03:04:05Z\n' +
        'https://github.com/acme/gadget.git,main,github.com,acme/gadget,0,\n',
    );
    expect(await fs.readdir(tmp.path)).toEqual(['repos.csv']);
  });

  it('leaves the old file and no temporary file when writing fails', async () => {
    const file = path.join(tmp.path, 'repos.csv');
    await fs.writeFile(file, 'old content\n');
    async function* failing() {
      yield [repo];
      throw new Error('database went away');
    }

    await expect(writeCsvAtomically(file, failing())).rejects.toThrow('database went away');

    expect(await fs.readFile(file, 'utf8')).toBe('old content\n');
    expect(await fs.readdir(tmp.path)).toEqual(['repos.csv']);
  });

  it('quotes fields as RFC 4180 asks', () => {
    expect([csvField('plain'), csvField('a,b'), csvField('say "hi"'), csvField('two\nlines')]).toEqual(['plain', '"a,b"', '"say ""hi"""', '"two\nlines"']);
  });
});

describe('removeStaleTemporaries', () => {
  it('removes only the temporary files of --out whose process is gone, never a live one’s or anything else', async () => {
    const file = path.join(tmp.path, 'repos.csv');
    const names = ['.repos.csv.4001.0a1b2c3d.tmp', '.repos.csv.4002.deadbeef.tmp', '.repos.csv.notes.tmp', '.repos.csv.4001.xyz.tmp', '.other.csv.4001.0a1b2c3d.tmp', 'repos.csv'];
    for (const name of names) await fs.writeFile(path.join(tmp.path, name), 'x');

    const removed = await removeStaleTemporaries(file, (pid) => pid === 4002);

    expect(removed).toEqual([{ file: path.join(tmp.path, '.repos.csv.4001.0a1b2c3d.tmp'), pid: 4001 }]);
    expect((await fs.readdir(tmp.path)).sort()).toEqual(names.filter((name) => name !== '.repos.csv.4001.0a1b2c3d.tmp').sort());
  });
});
