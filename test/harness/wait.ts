import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** What is awaited, for the timeout message: "nginx on 127.0.0.1:5123 to answer". */
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Server log to append to the timeout message. */
  log?: () => Promise<string>;
}

export class WaitTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WaitTimeoutError';
  }
}

/**
 * Polls `probe` until it returns a value other than undefined, or the deadline passes.
 * A probe that throws ends the wait at once (the server died; waiting longer cannot help).
 */
export async function waitFor<T>(probe: () => Promise<T | undefined>, options: WaitOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) {
      const log = options.log ? await options.log().catch((err: unknown) => `(log unreadable: ${String(err)})`) : '';
      throw new WaitTimeoutError(
        `Timed out after ${options.timeoutMs} ms waiting for ${options.what}` + (log ? `\n--- log ---\n${log}` : ''),
      );
    }
    await sleep(options.intervalMs ?? 50);
  }
}
