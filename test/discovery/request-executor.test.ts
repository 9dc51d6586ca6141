import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { GithubRequestError, type GithubFailure, type GraphqlTransport } from '../../src/discovery/github-client.js';
import { RequestExecutor } from '../../src/discovery/request-executor.js';
import { TokenPool } from '../../src/discovery/token-pool.js';
import type { RequestPlan } from '../../src/discovery/types.js';

const NO_WAIT = { retries: 3, minTimeout: 0, maxTimeout: 0, factor: 1, randomize: false };
const plan: RequestPlan = { segments: [], probes: [{ key: 'stars:0', kind: 'search', query: 'stars:>=0 sort:stars-desc' }] };
const answer = { rateLimit: { cost: 1, remaining: 4999, resetAt: new Date(Date.now() + 60_000).toISOString() }, p0: { repositoryCount: 42 } };

/** Answers with the scripted failures first, then with `answer`; records the token of every call. */
function scripted(failures: GithubFailure[]): GraphqlTransport & { tokens: string[] } {
  const tokens: string[] = [];
  return {
    tokens,
    async send(_document, _variables, token) {
      tokens.push(token);
      const failure = failures.shift();
      if (failure) throw new GithubRequestError(failure);
      return answer;
    },
  };
}

function executor(transport: GraphqlTransport, tokens = ['tok-one', 'tok-two']) {
  const pool = new TokenPool(tokens, { perToken: 2, maxWaitMs: 0 });
  const run = new RequestExecutor({ transport, pool, log: pino({ level: 'silent' }), signal: new AbortController().signal, endpoint: 'http://127.0.0.1:1/graphql', transientRetry: NO_WAIT, secondaryRetry: NO_WAIT });
  return { run, pool };
}

describe('RequestExecutor', () => {
  it('moves a RATE_LIMITED request to another token and rests the spent one', async () => {
    const transport = scripted([{ kind: 'rate_limited', resetAtMs: Date.now() + 3_600_000 }]);
    const { run, pool } = executor(transport);

    const result = await run.execute(plan, await pool.acquire(new AbortController().signal));

    expect(result.probes).toEqual([{ key: 'stars:0', count: 42 }]);
    expect(transport.tokens).toEqual(['tok-one', 'tok-two']);
    expect(pool.budgets()[0]?.restingUntil).toBeGreaterThan(Date.now());
  });

  it('backs off a token after a secondary limit and retries on another', async () => {
    const transport = scripted([{ kind: 'secondary_limit', retryAfterMs: 30_000 }]);
    const { run, pool } = executor(transport);

    await run.execute(plan, await pool.acquire(new AbortController().signal));

    expect(transport.tokens).toEqual(['tok-one', 'tok-two']);
    expect(run.attempts).toBe(2);
  });

  it('retries network errors a bounded number of times, then fails with exit 3 and progress to resume', async () => {
    const down = { kind: 'transient', detail: 'connect ECONNREFUSED 127.0.0.1:1' } as const;
    const { run, pool } = executor(scripted([down, down, down, down, down]));

    const outcome = run.execute(plan, await pool.acquire(new AbortController().signal));

    await expect(outcome).rejects.toMatchObject({ code: 'github_unreachable', exitCode: 3, message: expect.stringContaining('rerun with --resume') });
    expect(run.attempts).toBe(4);
  });

  it('retries an answer without data instead of reading it as no results', async () => {
    const answers: Array<Record<string, unknown> | null> = [null, answer];
    const transport: GraphqlTransport = { send: async () => answers.shift() as Record<string, unknown> };
    const { run, pool } = executor(transport);

    const result = await run.execute(plan, await pool.acquire(new AbortController().signal));

    expect(result.probes).toEqual([{ key: 'stars:0', count: 42 }]);
    expect(run.attempts).toBe(2);
  });

  it('leaves a rejected token out and carries on with the others', async () => {
    const transport = scripted([{ kind: 'bad_credentials', status: 401, detail: '401 Bad credentials' }]);
    const { run, pool } = executor(transport);

    const result = await run.execute(plan, await pool.acquire(new AbortController().signal));
    const next = await pool.acquire(new AbortController().signal);

    expect(result.probes).toEqual([{ key: 'stars:0', count: 42 }]);
    expect(transport.tokens).toEqual(['tok-one', 'tok-two']);
    expect(next.number).toBe(2);
    expect(pool.budgets()[0]).toMatchObject({ number: 1, rejected: true });
  });

  it('stops once the last token is rejected, naming which one without showing it', async () => {
    const rejected = { kind: 'bad_credentials', status: 401, detail: '401 Bad credentials' } as const;
    const { run, pool } = executor(scripted([rejected, rejected]));

    const outcome = run.execute(plan, await pool.acquire(new AbortController().signal));

    await expect(outcome).rejects.toMatchObject({ code: 'github_token_rejected', exitCode: 2, message: expect.stringContaining('token 2 of 2') });
    await expect(outcome).rejects.not.toMatchObject({ message: expect.stringMatching(/tok-one|tok-two/) });
    await expect(pool.acquire(new AbortController().signal)).rejects.toMatchObject({ code: 'github_token_rejected', exitCode: 2 });
  });

  it('reports an organization GitHub does not know as a usage error naming it', async () => {
    const ownerPlan: RequestPlan = { segments: [], probes: [{ key: 'owner:organization:nope', kind: 'owner', ownerType: 'organization', login: 'nope', filter: { includeForks: false, includeArchived: false } }] };
    const { run, pool } = executor(scripted([{ kind: 'not_found', aliases: ['p0'], detail: 'Could not resolve' }]));

    await expect(run.execute(ownerPlan, await pool.acquire(new AbortController().signal))).rejects.toMatchObject({ code: 'github_owner_not_found', message: expect.stringContaining('"nope"') });
  });

  it('leaves a token refused for SAML SSO out like a rejected one, logging it once by position and fingerprint', async () => {
    const sso = { kind: 'token_refused', reason: 'sso', status: 403, detail: '403 Resource protected by organization SAML enforcement.' } as const;
    const lines: Array<Record<string, unknown>> = [];
    const transport = scripted([sso]);
    const pool = new TokenPool(['tok-one', 'tok-two'], { perToken: 2, maxWaitMs: 0 });
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    const run = new RequestExecutor({ transport, pool, log, signal: new AbortController().signal, endpoint: 'http://127.0.0.1:1/graphql', transientRetry: NO_WAIT });

    const result = await run.execute(plan, await pool.acquire(new AbortController().signal));

    expect(result.probes).toEqual([{ key: 'stars:0', count: 42 }]);
    expect(transport.tokens).toEqual(['tok-one', 'tok-two']);
    expect(lines.map(({ msg, tokenNumber, reason, tokenFingerprint }) => ({ msg, tokenNumber, reason, tokenFingerprint }))).toEqual([
      { msg: 'GitHub refused a token: it is left out and the other tokens carry on', tokenNumber: 1, reason: 'sso', tokenFingerprint: expect.stringMatching(/^sha256:[0-9a-f]{8}$/) },
    ]);
    expect(JSON.stringify(lines)).not.toContain('tok-one');
  });

  it('asks another token when one resource is refused to the first, without retiring it', async () => {
    const ownerPlan: RequestPlan = { segments: [], probes: [{ key: 'owner:organization:acme', kind: 'owner', ownerType: 'organization', login: 'acme', filter: { includeForks: false, includeArchived: false } }] };
    const transport = scripted([{ kind: 'forbidden', aliases: ['p0'], sso: true, detail: 'Resource protected by organization SAML enforcement.' }]);
    const { run, pool } = executor(transport);

    await run.execute(ownerPlan, await pool.acquire(new AbortController().signal));

    expect(transport.tokens).toEqual(['tok-one', 'tok-two']);
    expect(pool.budgets().map((budget) => budget.rejected ?? false)).toEqual([false, false]);
  });

  it('sends later requests for an organization refused to a token to another token straight away', async () => {
    const ownerPlan: RequestPlan = { segments: [], probes: [{ key: 'owner:organization:acme', kind: 'owner', ownerType: 'organization', login: 'acme', filter: { includeForks: false, includeArchived: false } }] };
    const transport = scripted([{ kind: 'forbidden', aliases: ['p0'], sso: true, detail: 'Resource protected by organization SAML enforcement.' }]);
    const { run, pool } = executor(transport);
    await run.execute(ownerPlan, await pool.acquire(new AbortController().signal));

    await run.execute(ownerPlan, await pool.acquire(new AbortController().signal));
    await run.execute(plan, await pool.acquire(new AbortController().signal));

    expect(transport.tokens).toEqual(['tok-one', 'tok-two', 'tok-two', 'tok-one']);
  });

  it('exits 2 naming the organization when every token is refused it', async () => {
    const ownerPlan: RequestPlan = { segments: [], probes: [{ key: 'owner:organization:acme', kind: 'owner', ownerType: 'organization', login: 'acme', filter: { includeForks: false, includeArchived: false } }] };
    const refused = { kind: 'forbidden', aliases: ['p0'], sso: true, detail: 'Resource protected by organization SAML enforcement.' } as const;
    const { run, pool } = executor(scripted([refused, refused, refused]));

    const outcome = run.execute(ownerPlan, await pool.acquire(new AbortController().signal));

    await expect(outcome).rejects.toMatchObject({ code: 'github_forbidden', exitCode: 2, message: expect.stringContaining('GitHub refused organization acme to every token') });
    expect(run.attempts).toBe(2);
  });

  it('asks once more after an unknown error type, then stops with exit 2 instead of looping', async () => {
    const odd = { kind: 'unknown', type: 'SOMETHING_NEW', detail: 'A new kind of error' } as const;
    const { run, pool } = executor(scripted([odd, odd, odd]));

    const outcome = run.execute(plan, await pool.acquire(new AbortController().signal));

    await expect(outcome).rejects.toMatchObject({ code: 'github_error_unknown', exitCode: 2, message: expect.stringContaining('type SOMETHING_NEW') });
    expect(run.attempts).toBe(2);
  });

  it('carries on when an unknown error type does not come back', async () => {
    const { run, pool } = executor(scripted([{ kind: 'unknown', type: 'SOMETHING_NEW', detail: 'once' }]));

    const result = await run.execute(plan, await pool.acquire(new AbortController().signal));

    expect(result.probes).toEqual([{ key: 'stars:0', count: 42 }]);
  });

  it('does not resend a query GitHub rejects for its own limits', async () => {
    const { run, pool } = executor(scripted([{ kind: 'rejected', detail: 'This query requests up to 1,010,000 possible nodes' }]));

    await expect(run.execute(plan, await pool.acquire(new AbortController().signal))).rejects.toMatchObject({ code: 'github_query_rejected', exitCode: 2 });
    expect(run.attempts).toBe(1);
  });

  it('exits 2 naming the organization when the only token it was not refused to is rejected while the request waits for it', async () => {
    const ownerPlan: RequestPlan = { segments: [], probes: [{ key: 'owner:organization:acme', kind: 'owner', ownerType: 'organization', login: 'acme', filter: { includeForks: false, includeArchived: false } }] };
    const transport = scripted([{ kind: 'forbidden', aliases: ['p0'], sso: true, detail: 'Resource protected by organization SAML enforcement.' }]);
    const pool = new TokenPool(['tok-one', 'tok-two'], { perToken: 1, maxWaitMs: 0 });
    const run = new RequestExecutor({ transport, pool, log: pino({ level: 'silent' }), signal: new AbortController().signal, endpoint: 'http://127.0.0.1:1/graphql', transientRetry: NO_WAIT, secondaryRetry: NO_WAIT });
    const first = await pool.acquire(new AbortController().signal);
    const otherRequest = await pool.acquire(new AbortController().signal);

    const outcome = run.execute(ownerPlan, first);
    await new Promise((resolve) => setImmediate(resolve));
    // Another request on token 2 is answered Bad credentials: token 2 is retired.
    pool.retire(otherRequest.number);
    otherRequest.release();

    await expect(outcome).rejects.toMatchObject({ code: 'github_forbidden', exitCode: 2, message: expect.stringContaining('organization acme') });
    expect(transport.tokens).toEqual(['tok-one']);
  });
});
