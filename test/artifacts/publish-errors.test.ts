import { describe, expect, it } from 'vitest';
import { connectionError, isUnanswered, publishFailureKind, retryAfterMs, statusError, timeoutError } from '../../src/artifacts/publish-errors.js';
import { StepError } from '../../src/errors.js';

describe('statusError', () => {
  it('sorts statuses into the publish error codes, retrying only what may pass', () => {
    const statuses = [401, 403, 404, 400, 409, 408, 429, 500, 502, 503];

    const sorted = statuses.map((status) => {
      const error = statusError(status, 'PUT', 'https://repo.test/a.jar');
      return [status, error.code, error.retryable];
    });

    expect(sorted).toEqual([
      [401, 'publish_auth', false],
      [403, 'publish_auth', false],
      [404, 'publish_not_found', false],
      [400, 'publish_http_400', false],
      [409, 'publish_http_409', false],
      [408, 'publish_unreachable', true],
      [429, 'publish_unreachable', true],
      [500, 'publish_unreachable', true],
      [502, 'publish_unreachable', true],
      [503, 'publish_unreachable', true],
    ]);
  });

  it('names the method, the URL and the status in the message', () => {
    const error = statusError(401, 'PUT', 'https://repo.test/a.jar');

    expect(error.message).toMatch(/^PUT https:\/\/repo\.test\/a\.jar answered HTTP 401: check PUBLISH_USER/);
    expect(error.status).toBe(401);
  });

  it('says a redirect is not followed and names where it points', () => {
    const error = statusError(301, 'HEAD', 'http://repo.test/a.jar', 'to https://repo.test/a.jar');

    expect([error.code, error.retryable]).toEqual(['publish_http_301', false]);
    expect(error.message).toBe(
      'HEAD http://repo.test/a.jar answered HTTP 301 (to https://repo.test/a.jar): redirects are not followed (credentials stay with the configured host); set PUBLISH_URL to the repository\'s final address',
    );
  });
});

describe('publishFailureKind', () => {
  it('counts refusals a retry cannot fix (an untrusted certificate too) as configuration, an unreachable target as an outage', () => {
    const codes = ['publish_auth', 'publish_not_found', 'publish_denied', 'publish_not_a_repository', 'publish_tls', 'publish_http_302', 'publish_http_405', 'publish_unreachable', 'publish_io', 'publish_s3_error', 'publish_metadata_conflict'];

    const kinds = codes.map((code) => [code, publishFailureKind(code)]);

    expect(kinds).toEqual([
      ['publish_auth', 'configuration'],
      ['publish_not_found', 'configuration'],
      ['publish_denied', 'configuration'],
      ['publish_not_a_repository', 'configuration'],
      ['publish_tls', 'configuration'],
      ['publish_http_302', 'configuration'],
      ['publish_http_405', 'configuration'],
      ['publish_unreachable', 'outage'],
      ['publish_io', 'outage'],
      ['publish_s3_error', 'other'],
      ['publish_metadata_conflict', 'other'],
    ]);
  });

  it('counts a target that stopped answering as an outage (exit 3 when every repository failed so)', () => {
    const kinds = ['publish_timeout', 'publish_target_down'].map(publishFailureKind);

    expect(kinds).toEqual(['outage', 'outage']);
  });
});

describe('timeoutError', () => {
  it('says where the exchange stopped and names PUBLISH_TIMEOUT, as a publish_timeout worth a retry', () => {
    const errors = (['connect', 'send', 'answer', 'receive', 'deadline'] as const).map((phase) => timeoutError(phase, 'PUT', 'https://repo.test/a.jar', 30_000));

    expect(errors.map((error) => [error.code, error.retryable])).toEqual(Array(5).fill(['publish_timeout', true]));
    expect(errors.map((error) => error.message.replace(/^PUT https:\/\/repo\.test\/a\.jar /, '').replace(/: the publish target is not responding \(PUBLISH_TIMEOUT sets the limit\)$/, ''))).toEqual([
      'could not connect within 30 s',
      'stalled: the connection took no byte of the body for 30 s',
      'got no answer within 30 s of sending the request',
      'stalled: no byte of the answer came for 30 s',
      'was still unfinished at its deadline, 30 s (twice PUBLISH_TIMEOUT plus 4 s per MiB)',
    ]);
  });
});

describe('isUnanswered', () => {
  it('is true for a refused, reset or timed-out request only, not for an answer, a TLS refusal or a local error', () => {
    const failures = [
      connectionError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), 'PUT', 'https://repo.test/a'),
      timeoutError('answer', 'HEAD', 'https://repo.test/a', 1000),
      statusError(503, 'PUT', 'https://repo.test/a'),
      connectionError(Object.assign(new Error('self signed'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), 'PUT', 'https://repo.test/a'),
      new StepError('publish_io', 'Cannot read the file'),
      new Error('not ours'),
    ];

    expect(failures.map(isUnanswered)).toEqual([true, true, false, false, false, false]);
  });
});

describe('connectionError', () => {
  it('retries a reset connection, but not an untrusted certificate: publish_tls, naming NODE_EXTRA_CA_CERTS', () => {
    const reset = connectionError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), 'PUT', 'https://repo.test/a');
    const untrusted = ['DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID'].map((code) => connectionError(Object.assign(new Error('untrusted'), { code }), 'PUT', 'https://repo.test/a'));

    expect([reset.code, reset.retryable]).toEqual(['publish_unreachable', true]);
    expect(untrusted.map((error) => [error.code, error.retryable])).toEqual(Array(3).fill(['publish_tls', false]));
    expect(untrusted[0]!.message).toBe(
      "PUT https://repo.test/a failed TLS verification (DEPTH_ZERO_SELF_SIGNED_CERT): the publish target's certificate is not trusted; give its CA to Node with NODE_EXTRA_CA_CERTS=/path/ca.pem, or check the host name in PUBLISH_URL",
    );
  });
});

describe('retryAfterMs', () => {
  it('reads seconds and HTTP dates, caps long waits and ignores what it cannot read', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');

    const waits = ['2', '0', 'Thu, 01 Jan 2026 00:00:05 GMT', '86400', 'soon', '', undefined].map((header) => retryAfterMs(header, 30_000, now));

    expect(waits).toEqual([2000, 0, 5000, 30_000, undefined, undefined, undefined]);
  });
});
