import type { Database } from '../results/database.js';
import { OUTCOMES } from '../results/outcome.js';
import { FAILED_OUTCOMES } from '../results/report-queries.js';
import { CLIENT_SCRIPT } from './client/main.js';
import { loadChartLibrary } from './echarts-source.js';
import { embedJson, packJson } from './embed.js';
import { compactFailures } from './failure-query.js';
import type { PartitionSpan, ReportSummary } from './model.js';
import { renderPage } from './page.js';

/** [partition, startRow, endRow, status, updatedAt, startedAt, finishedAt, repositories, failed] */
type CompactPartition = [number, number | null, number | null, string | null, number | null, number | null, number | null, number, number];

/**
 * One self-contained HTML file for a run: the summary's numbers, the failed rows, ECharts and
 * the client script, all inlined (DESIGN §2 `report --format html`).
 */
export async function renderHtmlReport(db: Database, summary: ReportSummary, now: Date = new Date()): Promise<string> {
  const library = await loadChartLibrary();
  const failures = await compactFailures(db, summary.run.id, summary.aggregates.failed);
  const { partitions, ...aggregates } = summary.aggregates;
  const data = {
    schema: 2,
    generatedAt: now.getTime(),
    library: { name: library.name, version: library.version },
    outcomes: OUTCOMES,
    failedOutcomes: FAILED_OUTCOMES,
    run: summary.run,
    counts: summary.counts,
    aggregates,
    partitions: { statuses: partitions.statuses, rows: partitions.timeline.map(compactPartition) },
    // The failed rows are most of the page: packed (embed.ts), unpacked by the page's script.
    failures: await packJson(failures),
  };
  return renderPage({ dataJson: embedJson(data), librarySource: library.source, clientSource: CLIENT_SCRIPT });
}

function compactPartition(span: PartitionSpan): CompactPartition {
  return [span.partition, span.startRow, span.endRow, span.status, span.updatedAt, span.startedAt, span.finishedAt, span.repositories, span.failed];
}
