import { stringify } from 'csv-stringify/sync';
import type { CommandContext } from './context.js';
import { commandLogger, openResults } from './context.js';
import type { Logger } from '../logging/logger.js';
import { EXIT, UsageError, type ExitCode } from '../errors.js';
import type { Database } from '../results/database.js';
import { findRun, repositories } from '../results/report-queries.js';
import { createStore } from '../artifacts/publisher.js';
import { writeFailedInventory } from '../report/failed-inventory.js';
import { markRunFinished } from '../report/finish-run.js';
import { renderHtmlReport } from '../report/html-report.js';
import type { ReportSummary } from '../report/model.js';
import { publishRunReport, runReportPrefix } from '../report/publish-report.js';
import { writeOutputFile, writeToStdout } from '../report/output.js';
import { DEFAULT_TREND_RUNS } from '../report/queries.js';
import { loadSummary } from '../report/summary.js';
import { renderTextReport } from '../report/text-report.js';

export interface ReportOptions {
  readonly run: string;
  readonly format: 'table' | 'csv' | 'json' | 'html';
  readonly out?: string | undefined;
  readonly failedCsv?: string | undefined;
  /** Upload report.html and summary.json under `_runs/<runId>/` of PUBLISH_URL; implies `finish`. */
  readonly publish?: boolean | undefined;
  /** Set ingest_runs.finished_at (the report job at the end of a run). */
  readonly finish?: boolean | undefined;
  /** Runs in the trend, this one included (default 30). */
  readonly trendRuns?: number | undefined;
}

const MAX_TREND_RUNS = 1000;

/** `mass-ingest report`: what a run did, as a table, CSV, JSON or a self-contained HTML page (DESIGN §2). */
export async function runReport(options: ReportOptions, context: CommandContext): Promise<ExitCode> {
  const log = commandLogger(context, 2);
  trendRunsOf(options);
  const database = await openResults(context, log, { existing: true });
  try {
    return await reportOn(database, options, context, log);
  } finally {
    await database.close();
  }
}

/** The report over an open database: `chunk --local` publishes one at the end of its run this way. */
export async function reportOn(database: Database, options: ReportOptions, context: CommandContext, parentLog: Logger): Promise<ExitCode> {
  const trendRuns = trendRunsOf(options);
  const runId = (await findRun(database, options.run)).id;
  // Every line names the run once (chunk's logger names it already).
  const log = parentLog.bindings().runId === undefined ? parentLog.child({ runId }) : parentLog;
  if (options.publish) runReportPrefix(runId);
  if (options.publish || options.finish) {
    await markRunFinished(database, runId);
    log.info('Run marked finished');
  }
  const summary = await loadSummary(database, runId, { trendRuns });
  if (options.failedCsv) {
    const failed = await repositories(database, runId, { failedOnly: true });
    const written = await writeFailedInventory({ run: summary.run, failed, file: options.failedCsv, source: { s3: context.config.s3 } }, log);
    log.info({ file: options.failedCsv, rows: written.rows, from: written.from }, 'Failed rows written as an inventory');
  }
  const text = await render(options.format, database, summary);
  if (options.out) await writeOutputFile('--out', options.out, text);
  else if (!(options.publish && options.format === 'html') && (await writeToStdout(context.stdout, text)) === 'closed') {
    log.debug('Stdout closed by its reader: report cut short');
  }
  if (options.publish) {
    const html = options.format === 'html' ? text : await renderHtmlReport(database, summary);
    const published = await publishRunReport(await createStore(context.config, log), runId, { html, summaryJson: `${JSON.stringify(summary, null, 2)}\n` });
    log.info({ report: published.reportUrl, summary: published.summaryUrl, bytes: Buffer.byteLength(html) }, 'Run report published');
  }
  return EXIT.ok;
}

/** `--trend`, checked before the database is opened. */
function trendRunsOf(options: ReportOptions): number {
  const trendRuns = options.trendRuns ?? DEFAULT_TREND_RUNS;
  if (!Number.isInteger(trendRuns) || trendRuns < 1 || trendRuns > MAX_TREND_RUNS) {
    throw new UsageError('report_trend', `--trend must be an integer from 1 to ${MAX_TREND_RUNS}, got ${String(options.trendRuns)}`);
  }
  return trendRuns;
}

async function render(format: ReportOptions['format'], database: Database, summary: ReportSummary): Promise<string> {
  const runId = summary.run.id;
  switch (format) {
    case 'html':
      return renderHtmlReport(database, summary);
    case 'json':
      return `${JSON.stringify({ ...summary, repositories: await repositories(database, runId) }, null, 2)}\n`;
    case 'csv':
      return stringify(await repositories(database, runId), {
        header: true,
        columns: ['rowNumber', 'origin', 'path', 'branch', 'outcome', 'commitSha', 'builder', 'durationMs', 'errorCode', 'errorMessage', 'logUrl'],
      });
    case 'table':
      return renderTextReport(summary, await repositories(database, runId, { failedOnly: true }));
  }
}
