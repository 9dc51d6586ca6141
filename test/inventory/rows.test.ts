import { describe, expect, it } from 'vitest';
import { validateRecord, type InventoryEntry } from '../../src/inventory/rows.js';

function validate(path: string): InventoryEntry {
  return validateRecord(7, { cloneUrl: 'https://git.example.test/x.git', branch: 'main', origin: 'git.example.test', path }, new Map());
}

describe('validateRecord: path', () => {
  it('accepts owner/name and deeper GitLab subgroup paths', () => {
    expect(validate('acme/widget').kind).toBe('valid');
    expect(validate('group/subgroup/project').kind).toBe('valid');
  });

  it('records a single-segment path as invalid, naming the value', () => {
    expect(validate('badpath').row).toMatchObject({
      path: 'badpath',
      errorCode: 'invalid_path',
      errorMessage: `Row 7: path "badpath" must be owner/name, two or more segments separated by '/' (e.g. acme/widget)`,
    });
  });

  it('records a path with a segment shaped like a commit sha as invalid', () => {
    const sha = 'a'.repeat(40);

    expect(validate(`acme/widget/${sha}/x`).row).toMatchObject({
      errorCode: 'invalid_path',
      errorMessage: `Row 7: path "acme/widget/${sha}/x" has a segment "${sha}" shaped like a commit sha, which names the commit directories of the publish layout`,
    });
  });

  it('still refuses path traversal', () => {
    expect(validate('acme/../etc').row).toMatchObject({ errorCode: 'invalid_path' });
    expect(validate('../etc').row).toMatchObject({ errorCode: 'invalid_path' });
  });
});

describe('validateRecord: cloneUrl', () => {
  const withUrl = (cloneUrl: string) => validateRecord(3, { cloneUrl, branch: 'main', origin: 'git.example.test', path: 'acme/widget' }, new Map());

  it('accepts scp-like addresses with a relative or an absolute path', () => {
    expect(withUrl('git@git.example.test:acme/widget.git').kind).toBe('valid');
    expect(withUrl('git@git.example.test:/srv/git/widget.git').kind).toBe('valid');
  });

  it('refuses user@host:// and a bare host:path as unknown schemes', () => {
    expect(withUrl('git@git.example.test://acme/widget.git').row).toMatchObject({ errorCode: 'unknown_scheme' });
    expect(withUrl('git.example.test:acme/widget.git').row).toMatchObject({ errorCode: 'unknown_scheme' });
  });
});
