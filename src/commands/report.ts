import fs from 'node:fs/promises';
import { stringify } from 'csv-stringify/sync';
import type { CommandContext } from './context.js';
import { commandLogger, openResults } from './context.js';
import { EXIT, UsageError, type ExitCode } from '../errors.js';
import { findRun, outcomeCounts, repositories, type ReportRepository, type RunInfo } from '../results/report-queries.js';
import { OUTCOMES, type Outcome } from '../results/outcome.js';

export interface ReportOptions {
  readonly run: string;
  readonly format: 'table' | 'csv' | 'json' | 'html';
  readonly out?: string | undefined;
  readonly failedCsv?: string | undefined;
}

/** `mass-ingest report`: what a run did, as a table, CSV or JSON (DESIGN §2). */
export async function runReport(options: ReportOptions, context: CommandContext): Promise<ExitCode> {
  const log = commandLogger(context, 2);
  if (options.format === 'html') throw new UsageError('report_format', 'The HTML report is not available in this version: use --format table, csv or json');
  const database = await openResults(context, log);
  try {
    const run = await findRun(database, options.run);
    const counts = await outcomeCounts(database, run.id);
    if (options.failedCsv) {
      const failed = await repositories(database, run.id, { failedOnly: true });
      await fs.writeFile(options.failedCsv, failedInventory(failed));
      log.info({ file: options.failedCsv, rows: failed.filter((r) => r.cloneUrl).length }, 'Failed rows written as an inventory');
    }
    const rows = options.format === 'table' ? await repositories(database, run.id, { failedOnly: true }) : await repositories(database, run.id);
    const text = render(options.format, run, counts, rows);
    if (options.out) await fs.writeFile(options.out, text);
    else context.stdout.write(text);
    return EXIT.ok;
  } finally {
    await database.close();
  }
}

function render(format: ReportOptions['format'], run: RunInfo, counts: Partial<Record<Outcome, number>>, rows: ReportRepository[]): string {
  if (format === 'json') return `${JSON.stringify({ run, counts, repositories: rows }, null, 2)}\n`;
  if (format === 'csv') {
    return stringify(rows, {
      header: true,
      columns: ['rowNumber', 'origin', 'path', 'branch', 'outcome', 'commitSha', 'builder', 'durationMs', 'errorCode', 'errorMessage', 'logUrl'],
    });
  }
  return renderTable(run, counts, rows);
}

function renderTable(run: RunInfo, counts: Partial<Record<Outcome, number>>, failed: ReportRepository[]): string {
  const total = Object.values(counts).reduce((sum, n) => sum + (n ?? 0), 0);
  const lines = [
    `Run ${run.id} (${run.trigger}, ${run.mode}) started ${run.createdAt}${run.finishedAt ? `, finished ${run.finishedAt}` : ''}`,
    `Inventory ${run.inventoryUri}${run.inventoryRows === null ? '' : ` (${run.inventoryRows} rows)`}`,
    '',
    'outcome          count',
    ...OUTCOMES.filter((outcome) => counts[outcome]).map((outcome) => `${outcome.padEnd(16)} ${String(counts[outcome]).padStart(5)}`),
    `${'total'.padEnd(16)} ${String(total).padStart(5)}`,
  ];
  if (failed.length > 0) {
    lines.push('', 'row    outcome         error_code            repository');
    for (const row of failed) {
      lines.push(`${String(row.rowNumber).padEnd(6)} ${row.outcome.padEnd(15)} ${(row.errorCode ?? '').padEnd(21)} ${row.origin ?? '?'}/${row.path ?? '?'}${row.branch ? `@${row.branch}` : ''}`);
      const first = row.errorMessage?.split('\n').filter(Boolean).at(-1);
      if (first) lines.push(`       ${first.slice(0, 160)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The failed rows as a repos.csv to rerun (`--failed-csv`). */
function failedInventory(rows: ReportRepository[]): string {
  const usable = rows.filter((row) => row.cloneUrl && row.origin && row.path);
  return stringify(
    usable.map((row) => [row.cloneUrl, row.branch ?? '', row.origin, row.path]),
    { header: true, columns: ['cloneUrl', 'branch', 'origin', 'path'] },
  );
}
