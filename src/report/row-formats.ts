import { stringify } from 'csv-stringify/sync';
import { AbortedError } from '../errors.js';
import type { Database } from '../results/database.js';
import { repositories, type ReportRepository } from '../results/report-queries.js';
import { withoutTerminalControls } from './failure-query.js';
import type { ReportSummary } from './model.js';

/**
 * `report --format csv|json`: every repository of the run, read and written a page at a time.
 * A run of a million rows is ~750 MB of JSON, more than one JavaScript string can hold; paged,
 * memory stays that of one page. The text is the same as one JSON.stringify(…, null, 2) of it.
 */
export const ROWS_PER_PAGE = 5000;

export const CSV_COLUMNS = ['rowNumber', 'origin', 'path', 'branch', 'outcome', 'commitSha', 'builder', 'durationMs', 'errorCode', 'errorMessage', 'logUrl'] as const;

/** Pages in row order; a signal (Ctrl-C on a report of a million rows) stops it between two pages, exit 143. */
async function* pages(db: Database, runId: string, signal: AbortSignal | undefined): AsyncGenerator<ReportRepository[]> {
  let afterRow = 0;
  for (;;) {
    if (signal?.aborted) throw new AbortedError('Report stopped by a termination signal: the output is incomplete');
    const page = await repositories(db, runId, { afterRow, limit: ROWS_PER_PAGE });
    if (page.length > 0) yield page;
    if (page.length < ROWS_PER_PAGE) return;
    afterRow = page[page.length - 1]!.rowNumber;
  }
}

/** `{ run, counts, aggregates, repositories: [...] }`, indented by two spaces, ending in a newline. */
export async function* jsonReport(db: Database, summary: ReportSummary, signal?: AbortSignal): AsyncGenerator<string> {
  const head = JSON.stringify({ ...summary, repositories: [] }, null, 2);
  yield head.slice(0, head.length - '[]\n}'.length);
  yield '[';
  let first = true;
  for await (const page of pages(db, summary.run.id, signal)) {
    yield page.map((row, index) => `${first && index === 0 ? '\n' : ',\n'}${indent(JSON.stringify(row, null, 2))}`).join('');
    first = false;
  }
  yield first ? ']\n}\n' : '\n  ]\n}\n';
}

function indent(json: string): string {
  return `    ${json.replace(/\n/g, '\n    ')}`;
}

/**
 * The header, then one record per repository. Build output without terminal escapes: a CSV is
 * read in terminals and spreadsheets too (json keeps the message as recorded).
 */
export async function* csvReport(db: Database, runId: string, signal?: AbortSignal): AsyncGenerator<string> {
  yield stringify([], { header: true, columns: [...CSV_COLUMNS] });
  for await (const page of pages(db, runId, signal)) {
    yield stringify(page.map(csvRow), { header: false, columns: [...CSV_COLUMNS] });
  }
}

function csvRow(row: ReportRepository): ReportRepository {
  const clean = (value: string | null) => (value === null ? null : notAFormula(withoutTerminalControls(value)));
  return { ...row, origin: clean(row.origin), path: clean(row.path), branch: clean(row.branch), errorMessage: clean(row.errorMessage) };
}

/**
 * A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return before one) as a
 * formula: build output and branch names come from the repositories, so such a text gets a
 * leading apostrophe, which spreadsheets show as text (OWASP's advice for CSV injection).
 */
function notAFormula(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}
