import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readInventory } from '../../src/inventory/reader.js';
import { scanInventory } from '../../src/inventory/scan.js';
import type { InventoryEntry } from '../../src/inventory/rows.js';
import { UsageError } from '../../src/errors.js';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mass-ingest-inv-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function write(name: string, content: string | Buffer): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, content);
  return file;
}

async function readAll(file: string, start = 1, end = Number.POSITIVE_INFINITY): Promise<InventoryEntry[]> {
  const entries: InventoryEntry[] = [];
  for await (const entry of readInventory(file, { start, end }).entries) entries.push(entry);
  return entries;
}

const summary = (entries: InventoryEntry[]) =>
  entries.map((e) => (e.kind === 'valid' ? `${e.row.rowNumber}:${e.row.path}` : `${e.row.rowNumber}:invalid:${e.row.errorCode}`));

describe('readInventory', () => {
  it('reads LF rows with a trailing newline', async () => {
    const file = await write('lf.csv', 'cloneUrl,branch,origin,path\nhttps://h/a/b.git,main,h,a/b\nhttps://h/a/c.git,main,h,a/c\n');

    expect(summary(await readAll(file))).toEqual(['1:a/b', '2:a/c']);
  });

  it('keeps the last row when there is no trailing newline', async () => {
    const file = await write('nonl.csv', 'cloneUrl,branch,origin,path\nhttps://h/a/b.git,main,h,a/b\nhttps://h/a/c.git,main,h,a/c');

    expect(summary(await readAll(file))).toEqual(['1:a/b', '2:a/c']);
  });

  it('strips a UTF-8 BOM and reads CRLF line ends', async () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('cloneUrl,branch,origin,path\r\nhttps://h/a/b.git,main,h,a/b\r\n')]);
    const file = await write('bom.csv', body);

    const entries = await readAll(file);

    expect(summary(entries)).toEqual(['1:a/b']);
    expect(entries[0]?.kind === 'valid' && entries[0].row.branch).toBe('main');
  });

  it('reads quoted fields with commas, quotes and newlines as one record', async () => {
    const file = await write(
      'quoted.csv',
      'cloneUrl,branch,origin,path,buildCommand\nhttps://h/a/b.git,main,h,a/b,"make \\\n all, ""quoted"""\nhttps://h/a/c.git,main,h,a/c,\n',
    );

    const entries = await readAll(file);

    expect(summary(entries)).toEqual(['1:a/b', '2:a/c']);
    expect(entries[0]?.kind === 'valid' && entries[0].row.buildCommand).toBe('make \\\n all, "quoted"');
  });

  it('ignores blank lines without counting them', async () => {
    const file = await write('blank.csv', 'cloneUrl,branch,origin,path\n\nhttps://h/a/b.git,main,h,a/b\n\n\nhttps://h/a/c.git,main,h,a/c\n\n');

    expect(summary(await readAll(file))).toEqual(['1:a/b', '2:a/c']);
  });

  it('records invalid rows with their number and never shifts the others', async () => {
    const file = await write(
      'invalid.csv',
      [
        'cloneUrl,branch,origin,path',
        'https://h/a/b.git,main,h,a/b',
        ',main,h,a/x',
        'ftp://h/a/y.git,main,h,a/y',
        'https://h/a/b.git,main,h,a/b',
        'https://h/a/z.git,main,h,../etc',
        'https://h/a/c.git,main,h,a/c',
      ].join('\n'),
    );

    expect(summary(await readAll(file))).toEqual(['1:a/b', '2:invalid:missing_clone_url', '3:invalid:unknown_scheme', '4:invalid:duplicate_row', '5:invalid:invalid_path', '6:a/c']);
  });

  it('detects a repeat of a row that lies before the selected range', async () => {
    const file = await write('dup.csv', 'cloneUrl,branch,origin,path\nhttps://h/a/b.git,main,h,a/b\nhttps://h/a/c.git,main,h,a/c\nhttps://h/a/b.git,main,h,a/b\n');

    const entries = await readAll(file, 3, 3);

    expect(summary(entries)).toEqual(['3:invalid:duplicate_row']);
    expect(entries[0]?.kind === 'invalid' && entries[0].row.errorMessage).toBe('Row 3: h/a/b branch "main" repeats row 1');
  });

  it('selects rows by number, inclusive, with an end past the last row', async () => {
    const rows = Array.from({ length: 10 }, (_, i) => `https://h/o/r${i + 1}.git,main,h,o/r${i + 1}`);
    const file = await write('ten.csv', ['cloneUrl,branch,origin,path', ...rows].join('\n'));

    expect(summary(await readAll(file, 4, 6))).toEqual(['4:o/r4', '5:o/r5', '6:o/r6']);
    expect(summary(await readAll(file, 9, 50))).toEqual(['9:o/r9', '10:o/r10']);
    expect(await readAll(file, 11, 20)).toEqual([]);
  });

  it('keeps extra columns out of the way and reads buildCommand and artifacts', async () => {
    const file = await write('extra.csv', 'stars,cloneUrl,branch,origin,path,artifacts,notes\n5,https://h/a/b.git,dev,h,a/b,out/*.zip,hello\n');

    const [entry] = await readAll(file);

    expect(entry).toEqual({
      kind: 'valid',
      row: { rowNumber: 1, cloneUrl: 'https://h/a/b.git', branch: 'dev', origin: 'h', path: 'a/b', buildCommand: undefined, artifacts: 'out/*.zip' },
    });
  });

  it('names the file and the missing column', async () => {
    const file = await write('nocol.csv', 'cloneUrl,origin,path\nhttps://h/a/b.git,h,a/b\n');

    const error = await readAll(file).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toContain(file);
    expect((error as UsageError).message).toContain('"branch"');
  });

  it.each(['file://repos.csv', 'file://host.example/srv/repos.csv'])('refuses %s, a file URL naming a host, as a usage error (not a crash)', async (uri) => {
    const error = await readAll(uri).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).code).toBe('inventory_url_invalid');
    expect((error as UsageError).message).toContain(`Inventory ${uri} is not a file URL of this machine`);
    expect((error as UsageError).message).toContain('file:///absolute/path.csv');
  });

  it('reports a missing file as a usage error', async () => {
    const error = await readAll(path.join(dir, 'absent.csv')).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).code).toBe('inventory_not_found');
  });

  it.each([
    ['a 0-byte file', 'zero.csv', '', 'it is empty or holds only blank lines'],
    ['a file of blank lines', 'blanks.csv', '\r\n\r\n', 'it is empty or holds only blank lines'],
    ['a file whose first line holds only whitespace', 'spaces.csv', '  \t \n \n', 'its first line is blank'],
  ])('refuses %s: the header row is missing', async (_name, fileName, content, why) => {
    const file = await write(fileName, content);

    const error = await readAll(file).catch((err: unknown) => err);
    const scanned = await scanInventory(file).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).code).toBe('inventory_missing_header');
    expect((error as UsageError).message).toBe(`Inventory ${file} has no header row (${why}): its first line must name cloneUrl,branch,origin,path`);
    expect((scanned as UsageError).code).toBe('inventory_missing_header');
  });

  it('reads a header-only file as a valid inventory without rows', async () => {
    const file = await write('header-only.csv', 'cloneUrl,branch,origin,path\n');

    const reading = readInventory(file, { start: 1, end: Number.POSITIVE_INFINITY });
    const entries: InventoryEntry[] = [];
    for await (const entry of reading.entries) entries.push(entry);

    expect(entries).toEqual([]);
    expect(reading.summary()).toMatchObject({ rows: 0, complete: true });
    expect((await scanInventory(file)).rows).toBe(0);
  });

  it('refuses a header that names a column twice, naming the file and the column', async () => {
    const file = await write('dupcol.csv', 'cloneUrl,branch,origin,path,path\nhttps://h/a/b.git,main,h,a/b,x/y\n');

    const error = await readAll(file).catch((err: unknown) => err);

    expect((error as UsageError).code).toBe('inventory_duplicate_column');
    expect((error as UsageError).message).toBe(`Inventory ${file} names column "path" more than once in its header (cloneUrl,branch,origin,path,path): keep one of each`);
  });

  it('refuses a directory as a usage error naming the path', async () => {
    const folder = path.join(dir, 'a-folder');
    await fs.mkdir(folder);

    const error = await readAll(folder).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).code).toBe('inventory_is_directory');
    expect((error as UsageError).message).toBe(`Inventory ${folder} is a directory, not a CSV file: name the repos.csv inside it`);
  });

  it('reports an unterminated quote with the line', async () => {
    const file = await write('badquote.csv', 'cloneUrl,branch,origin,path\nhttps://h/a/b.git,main,h,"a/b\n');

    const error = await readAll(file).catch((err: unknown) => err);

    expect((error as UsageError).code).toBe('inventory_malformed');
    expect((error as UsageError).message).toContain(file);
  });
});

describe('scanInventory', () => {
  it('counts data records exactly and hashes the bytes', async () => {
    const body = 'cloneUrl,branch,origin,path\r\n\r\nhttps://h/a/b.git,main,h,"a/b"\r\n"https://h/a/c.git",main,h,"a\nc"';
    const file = await write('scan.csv', body);

    const scan = await scanInventory(file);

    expect(scan.rows).toBe(2);
    expect(scan.sha256).toBe(createHash('sha256').update(body).digest('hex'));
  });
});

const STRAY_QUOTE = 'cloneUrl,branch,origin,path,buildCommand\nhttps://h/a/b.git,main,h,a/b,\n\nhttps://h/a/c.git,main,h,a/c,echo "hi"\n';

describe('readInventory and scanInventory: malformed CSV', () => {
  it('reports a quote inside an unquoted field as a usage error naming the file, the line and the row', async () => {
    const file = await write('stray-quote.csv', STRAY_QUOTE);

    const read = await readAll(file).catch((err: unknown) => err);
    const scanned = await scanInventory(file).catch((err: unknown) => err);

    for (const error of [read, scanned]) {
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).code).toBe('inventory_malformed');
      expect((error as UsageError).message).toContain(`Inventory ${file} is not valid CSV near line 4 (row 2): Invalid Opening Quote: a quote is found in field 5 (buildCommand) at line 4, value is "echo "`);
    }
  });

  it('names the line after which the row with a quote left open begins, not the end of the file it ran to', async () => {
    const rows = Array.from({ length: 10 }, (_, index) => `https://h/a/r${index}.git,main,h,a/r${index},make`);
    const file = await write('open-quote.csv', ['cloneUrl,branch,origin,path,buildCommand', rows[0], 'https://h/a/b.git,main,h,a/b,"make all', ...rows.slice(1), ''].join('\n'));

    const read = await readAll(file).catch((err: unknown) => err);
    const scanned = await scanInventory(file).catch((err: unknown) => err);

    for (const error of [read, scanned]) {
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).message).toContain(`Inventory ${file} is not valid CSV after line 2 (row 2): Quote Not Closed: the parsing is finished with an opening quote at line 12 (the record that opens it runs to the end of the file)`);
    }
  });

  it('records a row whose unquoted comma adds a field as invalid, without shifting the rows after it', async () => {
    const file = await write('extra-field.csv', 'cloneUrl,branch,origin,path,buildCommand\nhttps://h/a/b.git,main,h,a/b,make a,b\nhttps://h/a/c.git,main,h,a/c,make\n');

    const entries = await readAll(file);

    expect(entries.map((entry) => [entry.row.rowNumber, entry.kind, entry.kind === 'invalid' ? entry.row.errorCode : entry.row.path])).toEqual([
      [1, 'invalid', 'extra_fields'],
      [2, 'valid', 'a/c'],
    ]);
  });

  it('names the exact spelling when a required column differs only in case', async () => {
    const file = await write('case.csv', 'CloneURL,branch,origin,path\nhttps://h/a/b.git,main,h,a/b\n');

    const error = await readAll(file).catch((err: unknown) => err);

    expect((error as UsageError).code).toBe('inventory_missing_column');
    expect((error as UsageError).message).toContain('(names are case-sensitive: write "CloneURL" as "cloneUrl")');
  });

  it('still counts data records only, the header and blank lines excluded', async () => {
    const file = await write('count.csv', '\uFEFFcloneUrl,branch,origin,path\r\n\r\nhttps://h/a/b.git,main,h,a/b\r\nhttps://h/a/c.git,main,h,a/c');

    const scan = await scanInventory(file);

    expect(scan.rows).toBe(2);
  });
});
