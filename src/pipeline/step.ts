import type { Logger } from '../logging/logger.js';

export type StepName = 'resolve' | 'clone' | 'detect' | 'build' | 'collect' | 'publish' | 'record';

/** Marks an error with the step it came from, so the orchestrator can name the outcome. */
export class StepFailure extends Error {
  constructor(
    readonly step: StepName,
    override readonly cause: unknown,
  ) {
    super(`${step} failed`);
  }
}

/** Logs started/completed/failed with fixed text (STYLE 6) and tags errors with the step. */
export async function runStep<T>(step: StepName, log: Logger, work: () => Promise<T>): Promise<T> {
  const stepLog = log.child({ step });
  const started = Date.now();
  stepLog.debug('Step started');
  try {
    const result = await work();
    stepLog.debug({ durationMs: Date.now() - started }, 'Step completed');
    return result;
  } catch (err) {
    stepLog.debug({ durationMs: Date.now() - started, err }, 'Step failed');
    throw new StepFailure(step, err);
  }
}
