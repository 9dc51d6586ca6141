import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { EXIT, InfrastructureError, StepError, isOutOfDescriptors, isUntrustedCertificate } from '../src/errors.js';

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

describe('isUntrustedCertificate', () => {
  it('knows a certificate refused by Node, on the error or among its causes (fetch, Octokit around fetch), and nothing else', () => {
    const failures = [
      Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
      new TypeError('fetch failed', { cause: Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' }) }),
      new Error('self-signed certificate', { cause: new TypeError('fetch failed', { cause: Object.assign(new Error('self-signed certificate'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }) }) }),
      Object.assign(new Error("Hostname/IP does not match certificate's altnames"), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }),
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      new TypeError('fetch failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) }),
      undefined,
    ];

    expect(failures.map(isUntrustedCertificate)).toEqual([true, true, true, true, false, false, false]);
  });
});

describe('isOutOfDescriptors', () => {
  const errno = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code });

  it('finds EMFILE or ENFILE on the error or among its causes', () => {
    const wrapped = new InfrastructureError('db_unreachable', 'PostgreSQL query failed: connect EMFILE 127.0.0.1:5432', errno('EMFILE'));
    const publish = new StepError('publish_io', 'Cannot write x (ENFILE)', { cause: errno('ENFILE') });

    expect([isOutOfDescriptors(errno('EMFILE')), isOutOfDescriptors(wrapped), isOutOfDescriptors(publish)]).toEqual([true, true, true]);
  });

  it('takes no other error for it, a dropped connection included', () => {
    const reset = new InfrastructureError('db_unreachable', 'PostgreSQL query failed: read ECONNRESET', errno('ECONNRESET'));

    expect([isOutOfDescriptors(reset), isOutOfDescriptors(new Error('EMFILE')), isOutOfDescriptors(undefined)]).toEqual([false, false, false]);
  });
});
