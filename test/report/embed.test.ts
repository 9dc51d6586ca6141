import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { embedJson, inlineScript, packJson, scriptHash } from '../../src/report/embed.js';

describe('embedJson', () => {
  it('escapes every character that could end or change a script element, and parses back to the same value', () => {
    const value = { path: '</script><script>alert(1)</script>', note: '<!-- x --> & "q"', separators: 'a\u2028b\u2029c' };

    const text = embedJson(value);

    expect(text).not.toMatch(/[<>&\u2028\u2029]/);
    expect(text).toContain('\\u003c/script\\u003e');
    expect(text).toContain('\\u2028');
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe('packJson', () => {
  it('packs a value as base64 of its gzipped JSON, which needs no escaping in a page and unpacks to the same value', async () => {
    const value = { excerpts: ['</script><script>alert(1)</script>', 'é \u2028 ✓'], columns: { row: Array(1000).fill(1) } };

    const packed = await packJson(value);

    expect(packed).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(JSON.parse(gunzipSync(Buffer.from(packed, 'base64')).toString('utf8'))).toEqual(value);
  });
});

describe('inlineScript', () => {
  it('turns a closing script tag inside a string into one that cannot close the element', () => {
    const source = 'var s = "</script>"; var t = "</SCRIPT >";';

    const text = inlineScript(source);

    expect(text).toBe('var s = "<\\/script>"; var t = "<\\/SCRIPT >";');
    expect(new Function(`${text}; return [s, t];`)()).toEqual(['</script>', '</SCRIPT >']);
  });

  it('refuses a script containing an HTML comment opener', () => {
    expect(() => inlineScript('if (a <!--b) {}')).toThrow('<!--');
  });
});

describe('scriptHash', () => {
  it('is the CSP source of the sha256 of the exact script text', () => {
    const expected = createHash('sha256').update('alert(1)').digest('base64');

    expect(scriptHash('alert(1)')).toBe(`'sha256-${expected}'`);
  });
});
