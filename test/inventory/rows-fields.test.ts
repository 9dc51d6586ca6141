import { describe, expect, it } from 'vitest';
import { validateRecord, type InvalidRow, type InventoryEntry } from '../../src/inventory/rows.js';

const COLUMNS = ['cloneUrl', 'branch', 'origin', 'path', 'buildCommand'];
const GOOD = { cloneUrl: 'https://git.example.test/x.git', branch: 'main', origin: 'git.example.test', path: 'acme/widget' };

function validate(record: Record<string, string | undefined>, fields?: string[]): InventoryEntry {
  return validateRecord(3, record, new Map(), fields ? { fields, columns: COLUMNS } : undefined);
}

function invalid(entry: InventoryEntry): InvalidRow {
  if (entry.kind !== 'invalid') throw new Error(`row ${entry.row.rowNumber} is valid`);
  return entry.row;
}

describe('validateRecord: fields that cannot be a row', () => {
  it('records a NUL character as invalid, naming the field and the value, and keeps the NUL out of the recorded fields', () => {
    const entry = validate({ ...GOOD, branch: 'ma\u0000in', path: 'acme/wid\u0000get' });

    expect(entry.kind).toBe('invalid');
    expect(entry.row).toMatchObject({
      errorCode: 'invalid_characters',
      errorMessage: 'Row 3: branch "ma\\u0000in" holds a NUL character (character 3)',
      branch: 'ma\\u0000in',
      path: 'acme/wid\\u0000get',
    });
  });

  it('never quotes a cloneUrl holding a NUL, which may carry a token', () => {
    const entry = validate({ ...GOOD, cloneUrl: 'https://user:tok3n@git.example.test/x\u0000.git' });

    expect(invalid(entry).errorMessage).toBe('Row 3: cloneUrl holds a NUL character (character 38)');
    expect(entry.row.cloneUrl).toBe('https://user:tok3n@git.example.test/x\\u0000.git');
  });

  it('records bytes that were not UTF-8 (read as U+FFFD) as invalid_encoding', () => {
    const entry = validate({ ...GOOD, branch: 'caf\uFFFD' });

    expect(entry.row).toMatchObject({ errorCode: 'invalid_encoding', errorMessage: 'Row 3: branch "caf\uFFFD" is not UTF-8 (character 4): save the inventory as UTF-8' });
  });

  it('records a value longer than its limit as field_too_long, quoting only its start', () => {
    const entry = validate({ ...GOOD, path: `acme/${'x'.repeat(600)}` });

    expect(invalid(entry).errorCode).toBe('field_too_long');
    expect(invalid(entry).errorMessage).toBe(`Row 3: path "acme/${'x'.repeat(75)}…" is 605 characters long, more than 512`);
    expect(entry.row.path).toHaveLength(512);
  });

  it('records a path segment longer than a file name may be as invalid_path', () => {
    const entry = validate({ ...GOOD, path: `acme/${'x'.repeat(256)}` });

    expect(entry.row).toMatchObject({ errorCode: 'invalid_path', errorMessage: `Row 3: path "acme/${'x'.repeat(256)}" has a segment of 256 characters, more than a file name may hold (255)` });
  });

  it('records a row with more non-empty fields than the header names as extra_fields (a comma left unquoted)', () => {
    const fields = ['https://git.example.test/x.git', 'main', 'git.example.test', 'acme/widget', 'make a', 'b'];

    const entry = validate({ ...GOOD, buildCommand: 'make a' }, fields);

    expect(entry.row).toMatchObject({
      errorCode: 'extra_fields',
      errorMessage: 'Row 3: the row has 6 fields but the header names 5 (cloneUrl,branch,origin,path,buildCommand): a field holding a comma must be in double quotes',
    });
  });

  it('accepts a trailing empty field and a row that leaves out optional columns', () => {
    const trailing = ['https://git.example.test/x.git', 'main', 'git.example.test', 'acme/widget', '', ''];
    const short = ['https://git.example.test/x.git', 'main', 'git.example.test', 'acme/widget'];

    expect([validate({ ...GOOD, buildCommand: '' }, trailing).kind, validate(GOOD, short).kind]).toEqual(['valid', 'valid']);
  });

  it('records a row too short to hold a required column as missing_fields, naming the columns', () => {
    const entry = validate({ cloneUrl: GOOD.cloneUrl, branch: 'main' }, [GOOD.cloneUrl, 'main']);

    expect(entry.row).toMatchObject({
      errorCode: 'missing_fields',
      errorMessage: 'Row 3: the row has 2 fields but the header names 5 (cloneUrl,branch,origin,path,buildCommand): no origin, path',
    });
  });
});
