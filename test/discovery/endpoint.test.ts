import { describe, expect, it } from 'vitest';
import { resolveGraphqlUrl } from '../../src/discovery/endpoint.js';

describe('resolveGraphqlUrl', () => {
  it('maps api.github.com to its /graphql endpoint', () => {
    expect(resolveGraphqlUrl('https://api.github.com')).toBe('https://api.github.com/graphql');
    expect(resolveGraphqlUrl('https://api.github.com/')).toBe('https://api.github.com/graphql');
  });

  it('maps a GitHub Enterprise Server base /api/v3 to /api/graphql', () => {
    expect(resolveGraphqlUrl('https://ghe.example.com/api/v3')).toBe('https://ghe.example.com/api/graphql');
    expect(resolveGraphqlUrl('https://ghe.example.com/api/v3/')).toBe('https://ghe.example.com/api/graphql');
  });

  it('appends /graphql to any other base', () => {
    expect(resolveGraphqlUrl('http://127.0.0.1:4000')).toBe('http://127.0.0.1:4000/graphql');
    expect(resolveGraphqlUrl('https://proxy.example.com/github/')).toBe('https://proxy.example.com/github/graphql');
  });

  it('drops credentials written into the base URL', () => {
    expect(resolveGraphqlUrl('https://user:secret@ghe.example.com/api/v3')).toBe('https://ghe.example.com/api/graphql');
  });

  it('refuses a value that is not an http(s) URL, as a usage error', () => {
    expect(() => resolveGraphqlUrl('api.github.com')).toThrow(expect.objectContaining({ code: 'github_api_url_invalid', exitCode: 2 }));
    expect(() => resolveGraphqlUrl('ftp://example.com')).toThrow(expect.objectContaining({ code: 'github_api_url_invalid' }));
  });
});
