import type { Logger } from '../logging/logger.js';
import type { PartitionRecord } from '../results/result-store.js';

/**
 * Records submitted partitions (`batch_job_id`, status `submitted`) in batches: every `size`
 * records or `intervalMs`, and on `close`. A chunk job killed between a SubmitJob and its
 * record is covered by the retry, which finds the job by name (ListJobs).
 */
export class PartitionRecorder {
  private pending: PartitionRecord[] = [];
  private writing: Promise<void> = Promise.resolve();
  private failure: unknown;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly write: (records: readonly PartitionRecord[]) => Promise<void>,
    private readonly log: Logger,
    private readonly size = 500,
    intervalMs = 250,
  ) {
    this.timer = setInterval(() => this.flush(), intervalMs);
    this.timer.unref();
  }

  add(records: readonly PartitionRecord[]): void {
    this.pending.push(...records);
    if (this.pending.length >= this.size) this.flush();
  }

  private flush(): void {
    this.writing = this.writing.then(async () => {
      if (this.pending.length === 0 || this.failure !== undefined) return;
      const batch = this.pending;
      this.pending = [];
      try {
        await this.write(batch);
        this.log.debug({ count: batch.length }, 'Submitted partitions recorded');
      } catch (err) {
        this.pending = batch.concat(this.pending);
        this.failure = err;
        this.log.warn({ err, count: batch.length }, 'Recording submitted partitions failed');
      }
    });
  }

  /** Writes what is left; a database failure reaches the caller (exit 3, the retry reconciles). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.flush();
    await this.writing;
    if (this.failure !== undefined) {
      const err = this.failure;
      this.failure = undefined;
      await this.write(this.pending).catch(() => {
        throw err;
      });
      this.pending = [];
    }
  }
}
