import { describe, expect, it } from 'vitest';
import { createScrubber, scrubDeep, scrubUrlSecrets, secretsOfCredentialLines, secretsOfUrl } from '../../src/logging/scrub.js';

describe('secret scrubbing', () => {
  it('removes userinfo from URLs inside any text', () => {
    expect(scrubUrlSecrets("fatal: unable to access 'https://bob:s3cr3t@git.example.test/a.git/': 401")).toBe(
      "fatal: unable to access 'https://***@git.example.test/a.git/': 401",
    );
    expect(scrubUrlSecrets('postgres://mass:pw@127.0.0.1:5432/db')).toBe('postgres://***@127.0.0.1:5432/db');
  });

  it('removes userinfo up to its last @, when a raw user name or password holds one', () => {
    expect(scrubUrlSecrets('cloneUrl "ftp://bob:Ftp@Secret9@host/x.git" is odd')).toBe('cloneUrl "ftp://***@host/x.git" is odd');
    expect(scrubUrlSecrets('http://me@corp.test:tok55@127.0.0.1:1/a.git')).toBe('http://***@127.0.0.1:1/a.git');
    expect(scrubUrlSecrets('ssh://git@github.com/a/b.git and git@github.com:a/b.git')).toBe('ssh://git@github.com/a/b.git and git@github.com:a/b.git');
    expect(scrubUrlSecrets('ssh://git:hunter22@host/a.git git+ssh://deploy@host/b.git https://ghp_token123@github.com/a.git')).toBe(
      'ssh://***@host/a.git git+ssh://deploy@host/b.git https://***@github.com/a.git',
    );
  });

  it('scrubs a long line of letters, such as a minified bundle in a build log, without backtracking over it', () => {
    const line = `${'a'.repeat(300_000)} https://u:pw@h/`;

    expect(createScrubber(['hunter22'])(line)).toBe(`${'a'.repeat(300_000)} https://***@h/`);
  });

  it('removes the signature of a presigned or token URL and keeps the rest', () => {
    const presigned = 'https://inv.s3.amazonaws.com/repos.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20261127%2Fus-east-1&X-Amz-Expires=3600&X-Amz-Signature=0f1e2d3c4b5a&X-Amz-Security-Token=FwoGZXIvYXdzEXAMPLE';

    expect(scrubUrlSecrets(`Inventory ${presigned} answered HTTP 403`)).toBe(
      'Inventory https://inv.s3.amazonaws.com/repos.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=***&X-Amz-Expires=3600&X-Amz-Signature=***&X-Amz-Security-Token=*** answered HTTP 403',
    );
    expect(scrubUrlSecrets('https://acct.blob.core.windows.net/c/repos.csv?sv=2022-11-02&sig=abc%2Bdef&se=2026-12-01')).toBe(
      'https://acct.blob.core.windows.net/c/repos.csv?sv=2022-11-02&sig=***&se=2026-12-01',
    );
    expect(scrubUrlSecrets('https://git.test/raw/repos.csv?token=glpat-123456&ref=main')).toBe('https://git.test/raw/repos.csv?token=***&ref=main');
    expect(createScrubber([])('see https://h/x?page=2&sort=asc')).toBe('see https://h/x?page=2&sort=asc');
  });

  it('replaces known secret values, URL-encoded and base64 forms too', () => {
    const scrub = createScrubber(['p@ss/word!', 'tok123456']);

    expect(scrub('a p@ss/word! b p%40ss%2Fword! c tok123456 d dG9rMTIzNDU2')).toBe('a *** b *** c *** d ***');
  });

  it('removes all of a known secret holding an @, even where the userinfo rule would end at that @', () => {
    const scrub = createScrubber(['Pa55@word-tail-part']);

    const out = scrub('GET https://registry.test?token=Pa55@word-tail-part and x://Pa55@word-tail-part');

    expect(out).not.toContain('word-tail-part');
  });

  it('ignores values too short to be secrets', () => {
    const scrub = createScrubber(['ab']);

    expect(scrub('abc ab')).toBe('abc ab');
  });

  it('scrubs every string of a nested object', () => {
    const scrub = createScrubber(['hunter22']);

    expect(scrubDeep({ a: ['x hunter22'], b: { c: 'hunter22', n: 5 } }, scrub)).toEqual({ a: ['x ***'], b: { c: '***', n: 5 } });
  });

  it('scrubs what a Date or URL is written as, and writes no object nested deeper than it scrubs', () => {
    const scrub = createScrubber(['hunter22']);
    let deep: unknown = { leaf: 'hunter22' };
    for (let level = 0; level < 12; level += 1) deep = { next: deep };

    const scrubbed = scrubDeep({ at: new Date(0), url: new URL('https://bob:pw55@git.test/a.git'), deep }, scrub);

    expect(scrubbed.at).toBe('1970-01-01T00:00:00.000Z');
    expect(scrubbed.url).toBe('https://***@git.test/a.git');
    expect(JSON.stringify(scrubbed.deep)).not.toContain('hunter22');
    expect(JSON.stringify(scrubbed.deep)).toContain('[nested too deep]');
  });

  it('takes the password of a database URL and the tokens of credential lines', () => {
    expect(secretsOfUrl('postgres://u:p%40ss@h/db')).toEqual(['postgres://u:p%40ss@h/db', 'p@ss']);
    expect(secretsOfUrl('postgres://u@h/db?sslmode=require&password=q%2Fpw')).toEqual(['postgres://u@h/db?sslmode=require&password=q%2Fpw', 'q/pw']);
    expect(scrubUrlSecrets('postgres://u@h/db?password=qpw&sslmode=require')).toBe('postgres://***@h/db?password=***&sslmode=require');
    expect(secretsOfCredentialLines('https://u:tok1@a.test\n\nhttps://v:tok2@b.test')).toEqual(['https://u:tok1@a.test', 'tok1', 'https://v:tok2@b.test', 'tok2']);
  });
});
