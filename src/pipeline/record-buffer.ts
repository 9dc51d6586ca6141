import { InfrastructureError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { RepositoryOutcome } from '../results/outcome.js';
import type { ResultStore } from '../results/result-store.js';

/**
 * Outcomes are written in batches (DESIGN §5 `record`): every `size` outcomes or `intervalMs`,
 * and on `close`. A write that fails is kept and tried again at the next flush.
 */
export class RecordBuffer {
  private pending: RepositoryOutcome[] = [];
  private writing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: Pick<ResultStore, 'recordOutcomes'>,
    private readonly log: Logger,
    private readonly size = 50,
    intervalMs = 2000,
  ) {
    this.timer = setInterval(() => void this.flush().catch(() => undefined), intervalMs);
    this.timer.unref();
  }

  add(outcome: RepositoryOutcome): void {
    this.pending.push(outcome);
    if (this.pending.length >= this.size) void this.flush().catch(() => undefined);
  }

  flush(final = false): Promise<void> {
    // After the write before it, failed or not: a failure must not skip every later write.
    this.writing = this.writing.catch(() => undefined).then(async () => {
      if (this.pending.length === 0) return;
      const batch = this.pending;
      this.pending = [];
      try {
        await this.store.recordOutcomes(batch);
        this.log.debug({ count: batch.length }, 'Outcomes recorded');
      } catch (err) {
        this.pending = batch.concat(this.pending);
        if (!final) {
          this.log.warn({ err, count: batch.length }, 'Recording outcomes failed, will retry');
          throw err;
        }
        // The final flush's error goes up (the run ends with it): no retry to promise, and the
        // rows whose outcomes are lost are named.
        this.log.error({ err, count: batch.length, rows: rowRanges(batch) }, 'Recording outcomes failed');
        throw notRecorded(err, batch);
      }
    });
    return this.writing;
  }

  /** Final flush; its error (database down) reaches the caller. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.writing.catch(() => undefined);
    await this.flush(true);
  }
}

/** The database's error (unreachable, disk full) with the outcomes it kept from being recorded. */
function notRecorded(err: unknown, batch: readonly RepositoryOutcome[]): unknown {
  if (!(err instanceof InfrastructureError)) return err;
  const lost = batch.length === 1 ? '1 outcome was' : `${batch.length} outcomes were`;
  return new InfrastructureError(err.code, `${err.message}; ${lost} not recorded (${batch.length === 1 ? 'row' : 'rows'} ${rowRanges(batch)})`, err);
}

/** Row numbers as ranges (`3-7, 9`), the first 10 of them: enough to rerun them by `--start`/`--end`. */
function rowRanges(outcomes: readonly RepositoryOutcome[]): string {
  const rows = [...new Set(outcomes.map((outcome) => outcome.rowNumber))].sort((a, b) => a - b);
  const ranges: Array<[number, number]> = [];
  for (const row of rows) {
    const last = ranges.at(-1);
    if (last && row === last[1] + 1) last[1] = row;
    else ranges.push([row, row]);
  }
  const shown = ranges.slice(0, 10).map(([from, to]) => (from === to ? String(from) : `${from}-${to}`));
  return ranges.length > 10 ? `${shown.join(', ')}, …` : shown.join(', ');
}
