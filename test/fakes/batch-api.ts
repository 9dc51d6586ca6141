import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import https from 'node:https';

/**
 * A fake AWS Batch API on 127.0.0.1 speaking restJson1 like the real one (POST /v1/submitjob,
 * /v1/describejobs, /v1/listjobs), validating SubmitJob the way AWS does (AWS Batch API
 * reference and service quotas): required jobName/jobQueue/jobDefinition, the job name pattern,
 * array size 2–10,000, at most 20 dependencies that must exist, a 30 KiB payload, a SigV4
 * Authorization header. SubmitJob is throttled by a token bucket of `submitRate` calls per
 * second (burst = rate) with 429 TooManyRequestsException, like the account quota.
 */
export interface FakeJob {
  jobId: string;
  jobName: string;
  jobQueue: string;
  jobDefinition: string;
  arraySize: number | undefined;
  parameters: Record<string, string>;
  command: string[] | undefined;
  dependsOn: Array<{ jobId: string; type?: string }>;
  createdAt: number;
}

export interface FakeBatchOptions {
  /** Queues that exist (default: ["test-queue"]). */
  queues?: string[];
  /** Job definitions that exist, by name (default: processor, report). */
  definitions?: string[];
  /** SubmitJob calls per second before 429 (default: unlimited). */
  submitRate?: number;
  /** Called after a job is created, before the answer is sent. */
  onSubmit?: (job: FakeJob, count: number) => void;
  /** Serves https with this key and certificate (an endpoint behind a private CA). */
  tls?: { key: string; cert: string };
}

export interface FakeBatchApi {
  readonly url: string;
  readonly port: number;
  /** Jobs created, in order. */
  readonly jobs: FakeJob[];
  /** Every SubmitJob request that reached the server, accepted or not. */
  readonly submitCalls: number;
  readonly throttled: number;
  readonly listCalls: number;
  /** The next `count` SubmitJob calls fail with `status` (after creating the job when `afterCreate`). */
  failNextSubmits(count: number, status: number, options?: { afterCreate?: boolean }): void;
  /** Answer every request with HTTP 503 (Batch is down). */
  setDown(down: boolean): void;
  setSubmitRate(rate: number | undefined): void;
  close(): Promise<void>;
}

const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const MAX_PAYLOAD = 30 * 1024;
const MAX_DEPENDENCIES = 20;
const LIST_PAGE = 100;

export class FakeBatchError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startFakeBatchApi(options: FakeBatchOptions = {}): Promise<FakeBatchApi> {
  const state = new FakeBatchState(options);
  const handler = (request: IncomingMessage, response: ServerResponse): void => {
    void handle(state, request, response);
  };
  const server: Server = options.tls ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, handler) : http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    jobs: state.jobs,
    get submitCalls() {
      return state.submitCalls;
    },
    get throttled() {
      return state.throttledCalls;
    },
    get listCalls() {
      return state.listCalls;
    },
    failNextSubmits: (count, status, failure = {}) => {
      state.failures.push(...Array.from({ length: count }, () => ({ status, afterCreate: failure.afterCreate === true })));
    },
    setDown: (down) => {
      state.down = down;
    },
    setSubmitRate: (rate) => state.bucket.setRate(rate),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(state: FakeBatchState, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const body = await readBody(request);
  try {
    if (state.down) throw new FakeBatchError(503, 'ServerException', 'Service unavailable');
    if (request.method !== 'POST') throw new FakeBatchError(404, 'UnknownOperationException', `${request.method} ${request.url}`);
    if (!String(request.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ')) {
      throw new FakeBatchError(403, 'MissingAuthenticationTokenException', 'Request is missing a SigV4 Authorization header');
    }
    const input = parseJson(body);
    const output = route(state, request.url ?? '', input, body.length);
    send(response, 200, output);
  } catch (err) {
    const failure = err instanceof FakeBatchError ? err : new FakeBatchError(500, 'ServerException', String(err));
    send(response, failure.status, { message: failure.message }, failure.type);
  }
}

function route(state: FakeBatchState, url: string, input: Record<string, unknown>, bytes: number): unknown {
  switch (url.split('?')[0]) {
    case '/v1/submitjob':
      return state.submit(input, bytes);
    case '/v1/describejobs':
      return state.describe(input);
    case '/v1/listjobs':
      return state.list(input);
    default:
      throw new FakeBatchError(404, 'UnknownOperationException', `No operation at ${url}`);
  }
}

class FakeBatchState {
  readonly jobs: FakeJob[] = [];
  readonly byId = new Map<string, FakeJob>();
  readonly failures: Array<{ status: number; afterCreate: boolean }> = [];
  readonly bucket: TokenBucket;
  submitCalls = 0;
  throttledCalls = 0;
  listCalls = 0;
  down = false;
  private readonly queues: Set<string>;
  private readonly definitions: Set<string>;

  constructor(private readonly options: FakeBatchOptions) {
    this.queues = new Set(options.queues ?? ['test-queue']);
    this.definitions = new Set(options.definitions ?? ['processor', 'report']);
    this.bucket = new TokenBucket(options.submitRate);
  }

  submit(input: Record<string, unknown>, bytes: number): unknown {
    this.submitCalls += 1;
    if (!this.bucket.take()) {
      this.throttledCalls += 1;
      throw new FakeBatchError(429, 'TooManyRequestsException', 'Too Many Requests');
    }
    const failure = this.failures.shift();
    if (failure && !failure.afterCreate) throw new FakeBatchError(failure.status, failure.status >= 500 ? 'ServerException' : 'ClientException', 'Injected failure');
    const job = this.validate(input, bytes);
    this.jobs.push(job);
    this.byId.set(job.jobId, job);
    this.options.onSubmit?.(job, this.jobs.length);
    if (failure) throw new FakeBatchError(failure.status, 'ServerException', 'Injected failure after the job was created');
    return { jobArn: `arn:aws:batch:us-east-1:123456789012:job/${job.jobId}`, jobName: job.jobName, jobId: job.jobId };
  }

  describe(input: Record<string, unknown>): unknown {
    const ids = input.jobs;
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > 100) throw new FakeBatchError(400, 'ClientException', 'jobs must list 1 to 100 job ids');
    return { jobs: ids.map((id) => this.byId.get(String(id))).filter((job): job is FakeJob => job !== undefined).map(describeJob) };
  }

  list(input: Record<string, unknown>): unknown {
    this.listCalls += 1;
    const queue = String(input.jobQueue ?? '');
    if (!this.queues.has(queue)) throw new FakeBatchError(400, 'ClientException', `Job queue ${queue} does not exist`);
    const filters = (input.filters ?? []) as Array<{ name?: string; values?: string[] }>;
    const nameFilter = filters.find((filter) => filter.name === 'JOB_NAME')?.values?.[0];
    const matches = this.jobs
      .filter((job) => job.jobQueue === queue && matchesName(job.jobName, nameFilter))
      .reverse(); // newest first, like AWS
    const start = Number(input.nextToken ?? 0);
    const limit = Math.min(Number(input.maxResults ?? LIST_PAGE), nameFilter ? LIST_PAGE : 1000);
    const page = matches.slice(start, start + limit);
    const next = start + limit < matches.length ? String(start + limit) : undefined;
    return {
      jobSummaryList: page.map((job) => ({ jobArn: `arn:aws:batch:us-east-1:123456789012:job/${job.jobId}`, jobId: job.jobId, jobName: job.jobName, createdAt: job.createdAt, status: 'SUBMITTED', ...(job.arraySize ? { arrayProperties: { size: job.arraySize } } : {}) })),
      ...(next ? { nextToken: next } : {}),
    };
  }

  private validate(input: Record<string, unknown>, bytes: number): FakeJob {
    const problems: string[] = [];
    if (bytes > MAX_PAYLOAD) problems.push(`payload of ${bytes} bytes exceeds ${MAX_PAYLOAD}`);
    const jobName = requiredString(input, 'jobName', problems);
    const jobQueue = requiredString(input, 'jobQueue', problems);
    const jobDefinition = requiredString(input, 'jobDefinition', problems);
    if (jobName !== undefined && !JOB_NAME.test(jobName)) problems.push(`jobName ${jobName} must match ${JOB_NAME.source}`);
    if (jobQueue !== undefined && !this.queues.has(jobQueue)) problems.push(`Job queue ${jobQueue} does not exist`);
    if (jobDefinition !== undefined && !this.definitions.has(jobDefinition.split(':')[0] ?? '')) problems.push(`Job definition ${jobDefinition} does not exist`);
    const arraySize = validateArray(input.arrayProperties, problems);
    const dependsOn = validateDependencies(input.dependsOn, this.byId, problems);
    const parameters = validateStringMap(input.parameters, 'parameters', problems);
    const command = validateCommand(input.containerOverrides, problems);
    if (problems.length > 0) throw new FakeBatchError(400, 'ClientException', problems.join('; '));
    return { jobId: randomUUID(), jobName: jobName ?? '', jobQueue: jobQueue ?? '', jobDefinition: jobDefinition ?? '', arraySize, parameters, command, dependsOn, createdAt: Date.now() };
  }
}

/** Tokens refill continuously at `rate` per second up to `rate` (one second of burst). */
class TokenBucket {
  private tokens = 0;
  private at = performance.now();

  constructor(private rate: number | undefined) {
    this.tokens = rate ?? 0;
  }

  setRate(rate: number | undefined): void {
    this.rate = rate;
    this.tokens = rate ?? 0;
    this.at = performance.now();
  }

  take(): boolean {
    if (this.rate === undefined) return true;
    const now = performance.now();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

function matchesName(name: string, filter: string | undefined): boolean {
  if (filter === undefined) return true;
  const lower = name.toLowerCase();
  return filter.endsWith('*') ? lower.startsWith(filter.slice(0, -1).toLowerCase()) : lower === filter.toLowerCase();
}

function requiredString(input: Record<string, unknown>, key: string, problems: string[]): string | undefined {
  const value = input[key];
  if (typeof value !== 'string' || value === '') {
    problems.push(`${key} is required`);
    return undefined;
  }
  return value;
}

function validateArray(value: unknown, problems: string[]): number | undefined {
  if (value === undefined) return undefined;
  const size = (value as { size?: unknown }).size;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 2 || size > 10_000) {
    problems.push(`arrayProperties.size must be between 2 and 10000, got ${String(size)}`);
    return undefined;
  }
  return size;
}

function validateDependencies(value: unknown, jobs: Map<string, FakeJob>, problems: string[]): Array<{ jobId: string; type?: string }> {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.push('dependsOn must be a list');
    return [];
  }
  if (value.length > MAX_DEPENDENCIES) problems.push(`dependsOn lists ${value.length} jobs; a job can depend on at most ${MAX_DEPENDENCIES}`);
  for (const dependency of value as Array<{ jobId?: unknown }>) {
    if (typeof dependency.jobId === 'string' && !jobs.has(dependency.jobId)) problems.push(`dependency ${dependency.jobId} does not exist`);
  }
  return value as Array<{ jobId: string; type?: string }>;
}

function validateStringMap(value: unknown, key: string, problems: string[]): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Object.values(value).some((item) => typeof item !== 'string')) {
    problems.push(`${key} must map names to strings`);
    return {};
  }
  return value as Record<string, string>;
}

function validateCommand(value: unknown, problems: string[]): string[] | undefined {
  const command = (value as { command?: unknown } | undefined)?.command;
  if (command === undefined) return undefined;
  if (!Array.isArray(command) || command.some((item) => typeof item !== 'string')) {
    problems.push('containerOverrides.command must be a list of strings');
    return undefined;
  }
  return command as string[];
}

function describeJob(job: FakeJob): unknown {
  return {
    jobArn: `arn:aws:batch:us-east-1:123456789012:job/${job.jobId}`,
    jobName: job.jobName,
    jobId: job.jobId,
    jobQueue: job.jobQueue,
    jobDefinition: job.jobDefinition,
    status: 'SUBMITTED',
    createdAt: job.createdAt,
    parameters: job.parameters,
    dependsOn: job.dependsOn,
    ...(job.arraySize ? { arrayProperties: { size: job.arraySize } } : {}),
    ...(job.command ? { container: { command: job.command } } : {}),
  };
}

function parseJson(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Reported below.
  }
  throw new FakeBatchError(400, 'SerializationException', 'Request body is not a JSON object');
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.once('end', () => resolve(Buffer.concat(chunks)));
    request.once('error', reject);
  });
}

function send(response: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  response.end(text);
}
