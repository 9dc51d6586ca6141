import type { Database } from '../results/database.js';
import { findRun, outcomeCounts } from '../results/report-queries.js';
import type { ReportSummary } from './model.js';
import { loadAggregates } from './queries.js';

/** The run, its outcome counts and its aggregates: the numbers every report format shows. */
export async function loadSummary(db: Database, run: string, options: { trendRuns?: number } = {}): Promise<ReportSummary> {
  const info = await findRun(db, run);
  const counts = await outcomeCounts(db, info.id);
  return { run: info, counts, aggregates: await loadAggregates(db, info, counts, options) };
}
