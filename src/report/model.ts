import type { Outcome } from '../results/outcome.js';
import type { RunInfo } from '../results/report-queries.js';

/**
 * The numbers every report format shows (table, csv, json, html), computed in SQL by
 * src/report/queries.ts. Times are epoch milliseconds; durations are milliseconds.
 */
export type OutcomeCounts = Partial<Record<Outcome, number>>;

export interface DurationBucket {
  /** Inclusive lower bound; the first bucket starts at 0. */
  readonly fromMs: number;
  /** Exclusive upper bound; null for the last, open bucket. */
  readonly toMs: number | null;
  readonly counts: OutcomeCounts;
}

export interface Percentiles {
  /** Repositories whose duration the percentiles cover. */
  readonly count: number;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

export interface DurationStats {
  readonly histogram: readonly DurationBucket[];
  /** `all`: every recorded repository but `invalid` rows; `built`: those where a builder ran. */
  readonly percentiles: { readonly all: Percentiles; readonly built: Percentiles };
}

export interface BuilderCounts {
  /** null: no builder ran (unchanged, invalid, clone failures, nothing to build). */
  readonly builder: string | null;
  readonly total: number;
  readonly counts: OutcomeCounts;
}

export interface SlowRepository {
  readonly rowNumber: number;
  readonly origin: string | null;
  readonly path: string | null;
  readonly branch: string | null;
  readonly outcome: Outcome;
  readonly builder: string | null;
  readonly durationMs: number;
  readonly logUrl: string | null;
}

export interface PartitionSpan {
  readonly partition: number;
  /** null when the partition has results but no `run_partitions` row. */
  readonly startRow: number | null;
  readonly endRow: number | null;
  readonly status: string | null;
  readonly updatedAt: number | null;
  /** min(started_at) and max(finished_at) of the partition's results; null without results. */
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly repositories: number;
  readonly failed: number;
}

export interface PartitionStats {
  readonly statuses: Readonly<Record<string, number>>;
  readonly timeline: readonly PartitionSpan[];
}

export interface TrendPoint {
  readonly runId: string;
  readonly trigger: string;
  readonly createdAt: number;
  readonly finishedAt: number | null;
  /** finished_at − created_at; null while the run is not finished. */
  readonly wallMs: number | null;
  readonly total: number;
  readonly published: number;
  readonly unchanged: number;
  readonly failed: number;
}

export interface WallTime {
  readonly startedAt: number;
  /** ingest_runs.finished_at, or null while the run is not marked finished. */
  readonly finishedAt: number | null;
  readonly firstResultAt: number | null;
  readonly lastResultAt: number | null;
  /** (finishedAt ?? lastResultAt) − startedAt. */
  readonly wallMs: number | null;
}

export interface ReportAggregates {
  readonly total: number;
  readonly failed: number;
  readonly wall: WallTime;
  readonly durations: DurationStats;
  readonly builders: readonly BuilderCounts[];
  readonly slowest: readonly SlowRepository[];
  readonly partitions: PartitionStats;
  readonly trend: readonly TrendPoint[];
}

/** `summary.json` and the head of `report --format json`: the run, its counts and the aggregates. */
export interface ReportSummary {
  readonly run: RunInfo;
  readonly counts: OutcomeCounts;
  readonly aggregates: ReportAggregates;
}
