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
        // The final flush's error goes up (the run ends with it): no retry to promise.
        if (final) this.log.error({ err, count: batch.length }, 'Recording outcomes failed');
        else this.log.warn({ err, count: batch.length }, 'Recording outcomes failed, will retry');
        throw err;
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
