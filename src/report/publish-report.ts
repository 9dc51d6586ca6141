import { RUN_ID_PATTERN } from '../config/config.js';
import { InfrastructureError, StepError, UsageError, errorMessage } from '../errors.js';
import { publishFailureKind } from '../artifacts/publish-errors.js';
import type { ArtifactStore } from '../artifacts/store.js';

/**
 * `report --publish`: `report.html` and `summary.json` under `<PUBLISH_URL>/_runs/<runId>/`,
 * summary last (a reader that finds the summary finds the page). A refused write (401/403,
 * permissions, any other 3xx/4xx) exits 2; an unreachable target exits 3 so Batch retries the report job.
 */
export interface PublishedReport {
  readonly reportUrl: string;
  readonly summaryUrl: string;
}

export function runReportPrefix(runId: string): string {
  if (!RUN_ID_PATTERN.test(runId)) {
    throw new UsageError('report_run_id', `Run id "${runId}" cannot name a publish directory: it must match ${RUN_ID_PATTERN.source}`);
  }
  return `_runs/${runId}`;
}

export async function publishRunReport(store: ArtifactStore, runId: string, files: { html: string; summaryJson: string }): Promise<PublishedReport> {
  const prefix = runReportPrefix(runId);
  const reportKey = `${prefix}/report.html`;
  const summaryKey = `${prefix}/summary.json`;
  try {
    await store.putBytes(reportKey, Buffer.from(files.html, 'utf8'), 'text/html; charset=utf-8');
    await store.putBytes(summaryKey, Buffer.from(files.summaryJson, 'utf8'), 'application/json');
  } catch (err) {
    throw publishFailure(err, store.description);
  }
  return { reportUrl: store.url(reportKey), summaryUrl: store.url(summaryKey) };
}

function publishFailure(err: unknown, target: string): Error {
  if (err instanceof UsageError || err instanceof InfrastructureError) return err;
  const code = err instanceof StepError ? err.code : 'publish_io';
  const message = `Publishing the run report to ${target} failed: ${errorMessage(err)}`;
  // The same refusals that make `process` exit 2 (a redirect, 405, 413, a login page…): a retried job would meet them again.
  if (publishFailureKind(code) === 'configuration' || code === 'publish_bad_key') {
    return new UsageError('report_publish_refused', message, [], err);
  }
  return new InfrastructureError('report_publish_failed', message, err);
}
