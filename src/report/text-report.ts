import { OUTCOMES } from '../results/outcome.js';
import type { ReportRepository } from '../results/report-queries.js';
import { excerptOf, withoutTerminalControls } from './failure-query.js';
import type { ReportSummary } from './model.js';
import type { ErrorCodeCount } from './queries.js';

/** Characters shown of each of the first lines of an error (`excerptOf`: three, as in the HTML report). */
const LINE_CHARS = 160;
/** Failed rows listed with their errors; the HTML report, csv and json have them all. */
export const TABLE_FAILURES = 100;
const TABLE_ERROR_CODES = 15;
const CODE_WIDTH_MAX = 32;

/**
 * `report --format table`: the same numbers as the HTML report (src/report/queries.ts), as
 * plain text for a terminal, followed by the failed rows with the first lines of their errors
 * (terminal escapes and control characters removed: build output must not drive the terminal).
 */
export function renderTextReport(summary: ReportSummary, failures: TableFailures): string {
  return `${[
    ...runLines(summary), ...countLines(summary), ...durationLines(summary), ...builderLines(summary), ...slowestLines(summary), ...partitionLines(summary), ...trendLines(summary),
    ...errorCodeLines(failures.codes), ...failureLines(failures.first, Math.max(summary.aggregates.failed, failures.first.length)),
  ].join('\n')}\n`;
}

/** What the table shows of the failures: the first rows (report.ts reads TABLE_FAILURES) and the counts of every one. */
export interface TableFailures {
  readonly first: readonly ReportRepository[];
  readonly codes: readonly ErrorCodeCount[];
}

function runLines({ run, aggregates }: ReportSummary): string[] {
  const { wall } = aggregates;
  return [
    `Run ${run.id} (${runKind(run)}) started ${run.createdAt}${run.finishedAt ? `, finished ${run.finishedAt}` : ''}${wall.wallMs === null ? '' : `, wall time ${formatDuration(wall.wallMs)}`}`,
    `Inventory ${run.inventoryUri}${run.inventoryRows === null ? '' : ` (${run.inventoryRows} rows)`}${run.inventorySha256 ? ` sha256 ${run.inventorySha256}` : ''}`,
    ...(run.rerunOf ? [`Rerun of run ${run.rerunOf.runId}: its ${run.rerunOf.rows} rows (chunk --only ${run.rerunOf.rows})`] : []),
  ];
}

/** `schedule, array mode`; a local `process` run is just `process`. */
function runKind({ trigger, mode }: ReportSummary['run']): string {
  return trigger === mode ? trigger : `${trigger}, ${mode} mode`;
}

function countLines({ counts, aggregates }: ReportSummary): string[] {
  return [
    '',
    'outcome          count',
    ...OUTCOMES.filter((outcome) => counts[outcome]).map((outcome) => `${outcome.padEnd(16)} ${String(counts[outcome]).padStart(5)}`),
    `${'total'.padEnd(16)} ${String(aggregates.total).padStart(5)}`,
    `${'failed'.padEnd(16)} ${String(aggregates.failed).padStart(5)}`,
  ];
}

function durationLines({ aggregates }: ReportSummary): string[] {
  const { all, built } = aggregates.durations.percentiles;
  const line = (label: string, p: typeof all) =>
    `${label.padEnd(16)} ${String(p.count).padStart(5)}  p50 ${formatDuration(p.p50)}  p90 ${formatDuration(p.p90)}  p99 ${formatDuration(p.p99)}  max ${formatDuration(p.max)}`;
  return ['', 'durations        count', line('all', all), line('built', built)];
}

function builderLines({ aggregates }: ReportSummary): string[] {
  if (aggregates.builders.length === 0) return [];
  return [
    '',
    'builder          count  outcomes',
    ...aggregates.builders.map((b) => {
      const parts = OUTCOMES.filter((outcome) => b.counts[outcome]).map((outcome) => `${outcome} ${b.counts[outcome]}`);
      return `${(b.builder ?? '(no build)').padEnd(16)} ${String(b.total).padStart(5)}  ${parts.join(', ')}`;
    }),
  ];
}

function slowestLines({ aggregates }: ReportSummary): string[] {
  if (aggregates.slowest.length === 0) return [];
  return [
    '',
    `slowest ${aggregates.slowest.length}`,
    ...aggregates.slowest.map((s) => `${String(s.rowNumber).padEnd(6)} ${formatDuration(s.durationMs).padStart(12)}  ${s.outcome.padEnd(15)} ${s.origin ?? '?'}/${s.path ?? '?'}`),
  ];
}

function partitionLines({ aggregates }: ReportSummary): string[] {
  const { statuses, timeline } = aggregates.partitions;
  if (timeline.length === 0) return [];
  const spans = timeline.filter((p) => p.startedAt !== null && p.finishedAt !== null);
  const longest = [...spans].sort((a, b) => (b.finishedAt ?? 0) - (b.startedAt ?? 0) - ((a.finishedAt ?? 0) - (a.startedAt ?? 0))).slice(0, 5);
  return [
    '',
    `partitions ${timeline.length}: ${Object.entries(statuses).sort(([a], [b]) => a.localeCompare(b)).map(([status, n]) => `${n} ${status}`).join(', ')}`,
    ...(longest.length > 1 ? [`longest: ${longest.map((p) => `#${p.partition} ${formatDuration((p.finishedAt ?? 0) - (p.startedAt ?? 0))}`).join(', ')}`] : []),
  ];
}

function trendLines({ aggregates }: ReportSummary): string[] {
  if (aggregates.trend.length < 2) return [];
  return [
    '',
    `last ${aggregates.trend.length} runs`,
    'started (UTC)    published unchanged  failed   total   wall time  run',
    ...aggregates.trend.map(
      (t) =>
        `${new Date(t.createdAt).toISOString().slice(0, 16).replace('T', ' ')} ${String(t.published).padStart(9)} ${String(t.unchanged).padStart(9)} ${String(t.failed).padStart(7)} ${String(t.total).padStart(7)}  ${formatDuration(t.wallMs).padStart(10)}  ${t.runId}`,
    ),
  ];
}

/**
 * The first TABLE_FAILURES failed rows (a terminal cannot show 16,000 errors; the error codes
 * above them count every one), then how many more there are and where to find them.
 */
function failureLines(failed: readonly ReportRepository[], failedTotal: number): string[] {
  if (failed.length === 0) return [];
  const shown = failed.slice(0, TABLE_FAILURES);
  const codeWidth = Math.min(CODE_WIDTH_MAX, Math.max('error_code'.length, ...shown.map((row) => (row.errorCode ?? '').length)));
  const lines = ['', `row    outcome         ${'error_code'.padEnd(codeWidth)} repository`];
  for (const row of shown) {
    const repository = `${row.origin ?? '?'}/${row.path ?? '?'}${row.branch ? `@${row.branch}` : ''}`;
    // An invalid row keeps the fields as the inventory gave them: a line break there would start a row of its own.
    const shownRepository = withoutTerminalControls(repository).replace(/\n/g, '\\n').replace(/\t/g, '\\t');
    lines.push(`${String(row.rowNumber).padEnd(6)} ${row.outcome.padEnd(15)} ${(row.errorCode ?? '').padEnd(codeWidth)} ${shownRepository}`);
    for (const line of excerptOf(row.errorMessage, Number.POSITIVE_INFINITY, row.outcome)?.split('\n') ?? []) {
      lines.push(`       ${line.length > LINE_CHARS ? `${line.slice(0, LINE_CHARS - 1)}…` : line}`);
    }
  }
  const rest = failedTotal - shown.length;
  if (rest > 0) {
    lines.push('', `… and ${rest} more failed repositories (${failedTotal} in all): --format csv or --format json lists every one, --failed-csv F writes them as a repos.csv to rerun`);
  }
  return lines;
}

/** Failed rows per outcome and error code, most frequent first: what went wrong, at any scale. */
function errorCodeLines(codes: readonly ErrorCodeCount[]): string[] {
  if (codes.length === 0) return [];
  const shown = codes.slice(0, TABLE_ERROR_CODES);
  const lines = ['', 'failed by error code', ...shown.map((e) => `${String(e.count).padStart(7)}  ${e.outcome.padEnd(15)} ${e.errorCode ?? '-'}`)];
  const others = codes.slice(shown.length);
  if (others.length > 0) lines.push(`${String(others.reduce((sum, e) => sum + e.count, 0)).padStart(7)}  (${others.length} other error codes)`);
  return lines;
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes - hours * 60} min`;
}
