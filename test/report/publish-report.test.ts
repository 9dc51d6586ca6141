import { describe, expect, it } from 'vitest';
import { connectionError, statusError } from '../../src/artifacts/publish-errors.js';
import { InfrastructureError, StepError, UsageError } from '../../src/errors.js';
import { publishRunReport } from '../../src/report/publish-report.js';
import { MemoryStore } from '../fakes/memory-store.js';

const FILES = { html: '<!DOCTYPE html>\n', summaryJson: '{}\n' };

function failingStore(failure: Error, failOn: (key: string) => boolean = () => true): MemoryStore {
  const store = new MemoryStore();
  store.failOn = failOn;
  store.failure = failure;
  return store;
}

describe('publishRunReport', () => {
  it('puts report.html, then summary.json, under _runs/<run id>/ and gives their addresses', async () => {
    const store = new MemoryStore();

    const published = await publishRunReport(store, 'nightly-1', FILES);

    expect(store.puts).toEqual(['_runs/nightly-1/report.html', '_runs/nightly-1/summary.json']);
    expect(published).toEqual({ reportUrl: 'memory://_runs/nightly-1/report.html', summaryUrl: 'memory://_runs/nightly-1/summary.json' });
  });

  it('writes no summary when the page could not be written (a reader that finds the summary finds the page)', async () => {
    const store = failingStore(statusError(503, 'PUT', 'https://repo.example/_runs/r/report.html'), (key) => key.endsWith('report.html'));

    await expect(publishRunReport(store, 'r', FILES)).rejects.toBeInstanceOf(InfrastructureError);

    expect(store.puts).toEqual([]);
  });

  it.each([
    ['401', statusError(401, 'PUT', 'https://repo.example/x')],
    ['404', statusError(404, 'PUT', 'https://repo.example/x')],
    ['a redirect (301)', statusError(301, 'PUT', 'https://repo.example/x')],
    ['405 Method Not Allowed', statusError(405, 'PUT', 'https://repo.example/x')],
    ['413 Payload Too Large', statusError(413, 'PUT', 'https://repo.example/x')],
    ['a web page instead of a repository', new StepError('publish_not_a_repository', 'PUT https://repo.example/x answered a web page')],
    ['a certificate not trusted', connectionError(Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), 'PUT', 'https://repo.example/x')],
  ])('exits 2 (a refusal a retried report job cannot change) for %s', async (_name, failure) => {
    const store = failingStore(failure);

    const error = await publishRunReport(store, 'r', FILES).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(UsageError);
    expect(error).toMatchObject({ code: 'report_publish_refused', exitCode: 2 });
    expect((error as Error).message).toContain('Publishing the run report to memory:// failed');
  });

  it.each([
    ['503', statusError(503, 'PUT', 'https://repo.example/x')],
    ['429', statusError(429, 'PUT', 'https://repo.example/x')],
    ['no answer', new StepError('publish_unreachable', 'PUT https://repo.example/x got no answer (ECONNREFUSED)', { retryable: true })],
    ['a timeout', new StepError('publish_timeout', 'PUT https://repo.example/x stalled', { retryable: true })],
  ])('exits 3 so that Batch retries the report job for %s', async (_name, failure) => {
    const store = failingStore(failure);

    const error = await publishRunReport(store, 'r', FILES).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(InfrastructureError);
    expect(error).toMatchObject({ code: 'report_publish_failed', exitCode: 3 });
  });

  it('refuses a run id that cannot name a directory before putting anything', async () => {
    const store = new MemoryStore();

    await expect(publishRunReport(store, '../other', FILES)).rejects.toMatchObject({ code: 'report_run_id', exitCode: 2 });

    expect(store.puts).toEqual([]);
  });
});
