import { InfrastructureError, UsageError, errorMessage, trustRemedy, untrustedCertificateCode, type MassIngestError } from '../errors.js';

/**
 * The one boundary that classifies AWS Batch failures (by SDK error name, HTTP status and
 * Node error code; never by message text). Throttling, 5xx and lost connections are worth a
 * retry; a request Batch refuses (unknown queue, bad definition, no permission) is not.
 */
export const THROTTLED = 'batch_throttled';
export const SERVER_ERROR = 'batch_server_error';
export const CONNECTION_LOST = 'batch_connection_lost';
export const UNREACHABLE = 'batch_unreachable';

/** Codes after which a SubmitJob may have created its job although no answer arrived. */
export const AMBIGUOUS_CODES: ReadonlySet<string> = new Set([SERVER_ERROR, CONNECTION_LOST]);

const THROTTLING_NAMES = new Set(['TooManyRequestsException', 'ThrottlingException', 'Throttling', 'RequestLimitExceeded']);
const DENIED_NAMES = new Set(['AccessDeniedException', 'UnrecognizedClientException', 'InvalidSignatureException', 'ExpiredTokenException', 'InvalidClientTokenId']);
const REFUSED_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const LOST_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED']);

interface SdkFailure {
  name?: string;
  code?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
}

export function classifyBatchError(err: unknown, operation: string): MassIngestError {
  const failure = (err ?? {}) as SdkFailure;
  const status = failure.$metadata?.httpStatusCode;
  const name = failure.name ?? '';
  const text = errorMessage(err);
  if (status === 429 || THROTTLING_NAMES.has(name)) {
    return new InfrastructureError(THROTTLED, `AWS Batch throttled ${operation} (${name || status})`, err);
  }
  if ((status !== undefined && status >= 500) || name === 'ServerException') {
    return new InfrastructureError(SERVER_ERROR, `AWS Batch failed ${operation} with HTTP ${status ?? 500}: ${text}`, err);
  }
  if (status === 401 || status === 403 || DENIED_NAMES.has(name)) {
    return new UsageError('batch_denied', `AWS Batch denied ${operation} (${name || status}): check the credentials and that the role may call batch:${operation} on this queue and job definition`, [], err);
  }
  if (status !== undefined) {
    return new UsageError('batch_rejected', `AWS Batch rejected ${operation} (${name || status}): ${text}`, [], err);
  }
  if (name === 'CredentialsProviderError') {
    return new UsageError('batch_no_credentials', `No AWS credentials for ${operation}: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile, or run inside AWS Batch with a job role`, [], err);
  }
  const certificate = untrustedCertificateCode(err);
  if (certificate !== undefined) {
    // The same certificate on every attempt and in a retried job: configuration, not an outage.
    return new UsageError('batch_tls', `AWS Batch failed TLS verification for ${operation} (${certificate}): the endpoint's certificate is not trusted; ${trustRemedy('AWS_ENDPOINT_URL_BATCH (or AWS_ENDPOINT_URL)')}`, [], err);
  }
  const code = failure.code ?? '';
  if (LOST_CODES.has(code) || name === 'TimeoutError') {
    return new InfrastructureError(CONNECTION_LOST, `The connection to AWS Batch was lost during ${operation} (${code || name})`, err);
  }
  const reason = REFUSED_CODES.has(code) ? code : text;
  return new InfrastructureError(UNREACHABLE, `AWS Batch cannot be reached for ${operation}: ${reason}`, err);
}
