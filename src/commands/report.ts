import path from 'node:path';
import type { CommandContext } from './context.js';
import { commandLogger, openResults } from './context.js';
import type { Logger } from '../logging/logger.js';
import { EXIT, UsageError, type ExitCode } from '../errors.js';
import type { Database } from '../results/database.js';
import { findRun, repositories } from '../results/report-queries.js';
import { createStore } from '../artifacts/publisher.js';
import { refuseInventoryItself, writeFailedInventory } from '../report/failed-inventory.js';
import { markRunFinished } from '../report/finish-run.js';
import { renderHtmlReport } from '../report/html-report.js';
import type { ReportSummary } from '../report/model.js';
import { publishRunReport, runReportPrefix } from '../report/publish-report.js';
import { writeOutputFile, writeToStdout, type ReportText } from '../report/output.js';
import { DEFAULT_TREND_RUNS, errorCodeCounts } from '../report/queries.js';
import { loadSummary } from '../report/summary.js';
import { csvReport, jsonReport } from '../report/row-formats.js';
import { TABLE_FAILURES, renderTextReport } from '../report/text-report.js';

export interface ReportOptions {
  readonly run: string;
  readonly format: 'table' | 'csv' | 'json' | 'html';
  readonly out?: string | undefined;
  readonly failedCsv?: string | undefined;
  /** Upload report.html and summary.json under `_runs/<runId>/` of PUBLISH_URL; implies `finish`. */
  readonly publish?: boolean | undefined;
  /** Set ingest_runs.finished_at (the report job at the end of a run). */
  readonly finish?: boolean | undefined;
  /** Runs in the trend, this one included (default 30); `--trend` as typed, or a number. */
  readonly trendRuns?: number | string | undefined;
}

const MAX_TREND_RUNS = 1000;

/** `mass-ingest report`: what a run did, as a table, CSV, JSON or a self-contained HTML page (DESIGN §2). */
export async function runReport(options: ReportOptions, context: CommandContext): Promise<ExitCode> {
  const log = commandLogger(context, 2);
  checkOptions(options, context);
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
  if (options.out) await refuseInventoryItself('--out', summary.run, options.out);
  if (options.failedCsv) {
    const failed = await repositories(database, runId, { failedOnly: true });
    const written = await writeFailedInventory({ run: summary.run, failed, file: options.failedCsv, source: { s3: context.config.s3 } }, log);
    log.info({ file: options.failedCsv, rows: written.rows, from: written.from }, 'Failed rows written as an inventory');
  }
  const text = await render(options.format, database, summary, context.signal);
  if (options.out) await writeOutputFile('--out', options.out, text);
  else if (!(options.publish && options.format === 'html') && (await writeToStdout(context.stdout, text)) === 'closed') {
    log.debug('Stdout closed by its reader: report cut short');
  }
  if (options.publish) {
    const html = typeof text === 'string' && options.format === 'html' ? text : await renderHtmlReport(database, summary);
    const published = await publishRunReport(await createStore(context.config, log), runId, { html, summaryJson: `${JSON.stringify(summary, null, 2)}\n` });
    log.info({ report: published.reportUrl, summary: published.summaryUrl, bytes: Buffer.byteLength(html) }, 'Run report published');
  }
  return EXIT.ok;
}

/** Flags checked before the database is opened. */
function checkOptions(options: ReportOptions, context: CommandContext): void {
  trendRunsOf(options);
  // A self-contained page is ~1 MB of script and data: on a terminal it is noise, not a report.
  if (options.format === 'html' && !options.out && !options.publish && context.stdoutIsTty) {
    throw new UsageError('report_html_to_terminal', '--format html writes a page, not text for a terminal: add --out report.html (or redirect stdout to a file)');
  }
  if (options.run.trim() === '') throw new UsageError('option_value_missing', '--run needs a run id or "last", got an empty one');
  // `--out ""` (an unset shell variable) must not fall back to stdout, nor `--failed-csv ""` write nothing.
  for (const [flag, file] of [['--out', options.out], ['--failed-csv', options.failedCsv]] as const) {
    if (file !== undefined && file.trim() === '') throw new UsageError('option_value_missing', `${flag} needs a file name, got an empty one`);
  }
  // The report would be written over the failed rows (or they over it), with exit 0.
  if (options.out && options.failedCsv && path.resolve(options.out) === path.resolve(options.failedCsv)) {
    throw new UsageError('report_same_file', `--out and --failed-csv both name ${options.out}: one would replace the other; name two files`);
  }
}

function trendRunsOf(options: ReportOptions): number {
  const given = options.trendRuns;
  const trendRuns = given === undefined ? DEFAULT_TREND_RUNS : typeof given === 'number' ? given : /^\s*\d+\s*$/.test(given) ? Number(given) : Number.NaN;
  if (!Number.isInteger(trendRuns) || trendRuns < 1 || trendRuns > MAX_TREND_RUNS) {
    throw new UsageError('report_trend', `--trend must be an integer from 1 to ${MAX_TREND_RUNS}, got "${String(given)}"`);
  }
  return trendRuns;
}

/** csv and json are produced while they are written (src/report/row-formats.ts); table and html are one string. */
async function render(format: ReportOptions['format'], database: Database, summary: ReportSummary, signal: AbortSignal): Promise<ReportText> {
  const runId = summary.run.id;
  switch (format) {
    case 'html':
      return renderHtmlReport(database, summary);
    case 'json':
      return jsonReport(database, summary, signal);
    case 'csv':
      return csvReport(database, runId, signal);
    case 'table':
      return renderTextReport(summary, { first: await repositories(database, runId, { failedOnly: true, limit: TABLE_FAILURES }), codes: await errorCodeCounts(database, runId) });
  }
}
