import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { EXIT, InfrastructureError, StepError } from '../src/errors.js';

describe('errors as logged', () => {
  it('logs a repository step failure with its code and no exit code', () => {
    const err = new StepError('git_unreachable', 'Clone failed: connection refused', { retryable: true });

    const logged = pino.stdSerializers.err(err);

    expect(logged).toMatchObject({ type: 'StepError', code: 'git_unreachable', retryable: true, message: 'Clone failed: connection refused' });
    expect(logged).not.toHaveProperty('exitCode');
    expect(err.exitCode).toBe(EXIT.ok);
  });

  it('logs a command-level failure with the exit code it leads to', () => {
    const logged = pino.stdSerializers.err(new InfrastructureError('db_unreachable', 'PostgreSQL cannot be reached'));

    expect(logged).toMatchObject({ code: 'db_unreachable', exitCode: EXIT.infrastructure });
  });
});
