import type { Database } from '../results/database.js';
import { OUTCOMES } from '../results/outcome.js';
import { findRun, outcomeCounts } from '../results/report-queries.js';
import type { ReportSummary } from './model.js';
import { loadAggregates } from './queries.js';

/**
 * The run, its outcome counts and its aggregates: the numbers every report format shows. Every
 * outcome has a count, 0 included, so that a reader of the JSON finds `counts.build_failed`.
 */
export async function loadSummary(db: Database, run: string, options: { trendRuns?: number } = {}): Promise<ReportSummary> {
  const info = await findRun(db, run);
  const found = await outcomeCounts(db, info.id);
  const counts = Object.fromEntries(OUTCOMES.map((outcome) => [outcome, found[outcome] ?? 0]));
  return { run: info, counts, aggregates: await loadAggregates(db, info, counts, options) };
}
