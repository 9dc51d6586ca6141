import type { Logger } from '../logging/logger.js';
import type { TokenBudget } from './token-pool.js';

export interface ProgressState {
  readonly streamsDone: number;
  readonly streamsPlanned: number;
  readonly repositories: number;
  readonly expected: number | undefined;
  readonly requests: number;
  readonly budgets: readonly TokenBudget[];
}

const BAR_WIDTH = 24;

/**
 * A progress bar on a terminal (stderr: buckets, repositories, rate budget, the countdown while
 * every token rests); elsewhere JSON log lines every few seconds.
 */
export class DiscoveryProgress {
  private lastDraw = 0;
  private lastLog = 0;
  private lastWaitLog = 0;

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly tty: boolean,
    private readonly log: Logger,
    private readonly logEveryMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  update(state: ProgressState): void {
    const now = this.now();
    if (this.tty) {
      if (now - this.lastDraw < 100) return;
      this.lastDraw = now;
      this.draw(line(state));
    } else if (now - this.lastLog >= this.logEveryMs) {
      this.lastLog = now;
      this.log.info(fields(state), 'Discovery progress');
    }
  }

  waiting(state: ProgressState, resumeAtMs: number): void {
    const now = this.now();
    const seconds = Math.max(0, Math.ceil((resumeAtMs - now) / 1000));
    if (this.tty) {
      this.draw(`${line(state)} · every token rate-limited, resuming in ${clock(seconds)}`);
    } else if (now - this.lastWaitLog >= 30_000) {
      this.lastWaitLog = now;
      this.log.warn({ ...fields(state), resumeAt: new Date(resumeAtMs).toISOString(), waitSeconds: seconds }, 'Every GitHub token is rate-limited, waiting');
    }
  }

  done(state: ProgressState): void {
    if (!this.tty) return;
    this.draw(line(state));
    this.stream.write('\n');
  }

  private draw(text: string): void {
    this.stream.write(`\r\x1b[2K${text}`);
  }
}

function line(state: ProgressState): string {
  // The expected count is the search's total, which counts repositories that are then left out
  // (empty ones, no default branch): once every bucket is done, the bar is full.
  const finished = state.streamsPlanned > 0 && state.streamsDone >= state.streamsPlanned;
  const share = finished ? 1 : state.expected ? Math.min(1, state.repositories / state.expected) : 0;
  const filled = Math.round(share * BAR_WIDTH);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${Math.floor(share * 100)}%`;
  const expected = state.expected === undefined ? '?' : String(state.expected);
  const budget = state.budgets.map((token) => (token.rejected ? 'rejected' : token.restingUntil ? 'resting' : String(token.remaining ?? '?'))).join('/');
  return `${bar} · buckets ${state.streamsDone}/${state.streamsPlanned} · repositories ${state.repositories}/${expected} · requests ${state.requests} · budget ${budget}`;
}

function fields(state: ProgressState): Record<string, unknown> {
  return {
    buckets: state.streamsDone,
    bucketsPlanned: state.streamsPlanned,
    repositories: state.repositories,
    expected: state.expected,
    requests: state.requests,
    budget: state.budgets.map((token) => ({ tokenNumber: token.number, remaining: token.remaining, restingUntil: token.restingUntil ? new Date(token.restingUntil).toISOString() : undefined })),
  };
}

function clock(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  return `${String(minutes).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
}
