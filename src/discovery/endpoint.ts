import { UsageError } from '../errors.js';

const GHES_V3 = /\/api\/v3\/?$/;

/**
 * GITHUB_API_URL is the API base as Octokit takes it (issue 8): `https://api.github.com` →
 * `/graphql`; a GitHub Enterprise Server base `https://HOST/api/v3` → `https://HOST/api/graphql`;
 * any other base `B` → `B/graphql`.
 */
export function resolveGraphqlUrl(apiUrl: string): string {
  let parsed: URL;
  try {
    parsed = new URL(apiUrl);
  } catch {
    throw new UsageError('github_api_url_invalid', `GITHUB_API_URL "${apiUrl}" is not a URL: use https://api.github.com or https://HOST/api/v3`);
  }
  if (!/^https?:$/.test(parsed.protocol)) {
    throw new UsageError('github_api_url_invalid', `GITHUB_API_URL "${apiUrl}" must use http or https`);
  }
  const base = `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, '');
  if (GHES_V3.test(base)) return base.replace(GHES_V3, '/api/graphql');
  return `${base}/graphql`;
}
