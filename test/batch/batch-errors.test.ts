import { describe, expect, it } from 'vitest';
import { AMBIGUOUS_CODES, classifyBatchError } from '../../src/batch/batch-errors.js';
import { InfrastructureError, UsageError } from '../../src/errors.js';

function sdkError(name: string, status?: number, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} happened`), { name, ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }), ...extra });
}

describe('classifyBatchError', () => {
  it.each([
    ['429 TooManyRequestsException', sdkError('TooManyRequestsException', 429), InfrastructureError, 'batch_throttled', true],
    ['a 503', sdkError('ServerException', 503), InfrastructureError, 'batch_server_error', true],
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), InfrastructureError, 'batch_unreachable', true],
    ['a reset connection', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), InfrastructureError, 'batch_connection_lost', true],
    ['ClientException 400', sdkError('ClientException', 400), UsageError, 'batch_rejected', false],
    ['AccessDenied 403', sdkError('AccessDeniedException', 403), UsageError, 'batch_denied', false],
    ['missing credentials', sdkError('CredentialsProviderError'), UsageError, 'batch_no_credentials', false],
    ['a certificate Node does not trust', Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), UsageError, 'batch_tls', false],
  ])('classifies %s', (_name, err, type, code, retryable) => {
    const classified = classifyBatchError(err, 'SubmitJob');

    expect(classified).toBeInstanceOf(type);
    expect(classified.code).toBe(code);
    expect(classified.retryable).toBe(retryable);
  });

  it('treats only 5xx and lost connections as possibly having created the job', () => {
    expect([...AMBIGUOUS_CODES].sort()).toEqual(['batch_connection_lost', 'batch_server_error']);
  });
});
