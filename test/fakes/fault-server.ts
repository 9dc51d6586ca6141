import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

/**
 * An HTTP repository (PUT/HEAD/GET, files in memory) that misbehaves on request: it drops the
 * connection mid-body, answers a chosen status (503, 429 with Retry-After, 401…), or never answers.
 * Every request is recorded, so tests can count retries.
 */
export type Fault =
  | { readonly kind: 'drop-mid-body' }
  /** `early`: answer before reading the request body, as nginx does when auth_basic refuses a PUT. */
  | { readonly kind: 'status'; readonly status: number; readonly headers?: Readonly<Record<string, string>>; readonly early?: boolean }
  | { readonly kind: 'stall' }
  /** Answers 200 with the stored file's full Content-Length, sends half of it, then drops the connection. */
  | { readonly kind: 'truncate-response' };

export interface FaultRule {
  readonly method?: string;
  /** Matches the decoded request path (a substring, or a RegExp). */
  readonly path?: string | RegExp;
  /** How many matching requests get the fault; unlimited when absent. */
  readonly times?: number;
  readonly fault: Fault;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The status answered, or what happened instead. */
  readonly result: number | 'dropped' | 'stalled';
  readonly at: number;
}

export interface FaultServerOptions {
  /** Required `Authorization` header value; others get 401. */
  readonly authorization?: string;
  /** Serve HTTPS with this key and certificate. */
  readonly tls?: { readonly key: string; readonly cert: string };
}

export interface FaultServer {
  readonly baseUrl: string;
  /** Stored files by decoded path (`/repo/a/b.jar`). */
  readonly files: Map<string, Buffer>;
  readonly requests: RecordedRequest[];
  addFault(rule: FaultRule): void;
  clearFaults(): void;
  /** Resolves when the next request is stalled (to kill a client at that moment). */
  nextStall(): Promise<RecordedRequest>;
  stop(): Promise<void>;
}

export async function startFaultServer(options: FaultServerOptions = {}): Promise<FaultServer> {
  const files = new Map<string, Buffer>();
  const requests: RecordedRequest[] = [];
  const rules: Array<{ rule: FaultRule; left: number }> = [];
  const sockets = new Set<Socket>();
  let stallWaiters: Array<(request: RecordedRequest) => void> = [];

  const record = (req: http.IncomingMessage, path: string, result: RecordedRequest['result']): RecordedRequest => {
    const entry = { method: req.method ?? '', path, headers: req.headers, result, at: Date.now() };
    requests.push(entry);
    return entry;
  };

  const takeFault = (method: string, path: string): Fault | undefined => {
    const index = rules.findIndex(({ rule, left }) => left > 0 && (!rule.method || rule.method === method) && matches(rule.path, path));
    const found = rules[index];
    if (!found) return undefined;
    found.left -= 1;
    return found.rule.fault;
  };

  /** `expectsContinue`: the client sent `Expect: 100-continue` and waits for a go-ahead before its body. */
  const handler = (req: http.IncomingMessage, res: http.ServerResponse, expectsContinue = false): void => {
    const method = req.method ?? 'GET';
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const fault = takeFault(method, path);
    const refusesEarly = fault?.kind === 'status' && fault.early === true;
    if (expectsContinue && !refusesEarly) res.writeContinue();
    if (fault?.kind === 'drop-mid-body') {
      req.once('data', () => {
        record(req, path, 'dropped');
        req.socket.destroy();
      });
      req.once('end', () => {
        if (!req.socket.destroyed) {
          record(req, path, 'dropped');
          req.socket.destroy();
        }
      });
      return;
    }
    if (fault?.kind === 'stall') {
      req.resume();
      const entry = record(req, path, 'stalled');
      const waiters = stallWaiters;
      stallWaiters = [];
      for (const resolve of waiters) resolve(entry);
      return;
    }
    if (fault?.kind === 'status' && fault.early) {
      record(req, path, fault.status);
      // Then drain what the client still sends, as nginx's lingering close does, so it reads the answer.
      res.writeHead(fault.status, { 'Content-Length': 0, Connection: 'close', ...fault.headers }).end(() => req.resume());
      return;
    }
    if (fault?.kind === 'status') return answer(req, res, path, fault.status, fault.headers ?? {});
    if (fault?.kind === 'truncate-response') {
      const body = files.get(path) ?? Buffer.alloc(0);
      record(req, path, 'dropped');
      res.writeHead(200, { 'Content-Length': body.length });
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => req.socket.destroy());
      return;
    }
    if (options.authorization !== undefined && req.headers.authorization !== options.authorization) return answer(req, res, path, 401, { 'WWW-Authenticate': 'Basic realm="fault"' });
    serve(req, res, path);
  };

  const answer = (req: http.IncomingMessage, res: http.ServerResponse, path: string, status: number, headers: Record<string, string>): void => {
    req.resume();
    record(req, path, status);
    res.writeHead(status, { 'Content-Length': 0, ...headers }).end();
  };

  const serve = (req: http.IncomingMessage, res: http.ServerResponse, path: string): void => {
    if (req.method === 'PUT') {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const existed = files.has(path);
        // As servers that honour RFC 9110's conditional PUT do (nginx's WebDAV module does not).
        if (existed && req.headers['if-none-match']?.trim() === '*') return answer(req, res, path, 412, {});
        files.set(path, Buffer.concat(chunks));
        answer(req, res, path, existed ? 204 : 201, {});
      });
      return;
    }
    const body = files.get(path);
    if (!body) return answer(req, res, path, 404, {});
    record(req, path, 200);
    res.writeHead(200, { 'Content-Length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const server = options.tls ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, handler) : http.createServer(handler);
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => handler(req, res, true));
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    files,
    requests,
    addFault: (rule) => rules.push({ rule, left: rule.times ?? Number.POSITIVE_INFINITY }),
    clearFaults: () => {
      rules.length = 0;
    },
    nextStall: () => new Promise((resolve) => stallWaiters.push(resolve)),
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function matches(pattern: string | RegExp | undefined, path: string): boolean {
  if (pattern === undefined) return true;
  return typeof pattern === 'string' ? path.includes(pattern) : pattern.test(path);
}
