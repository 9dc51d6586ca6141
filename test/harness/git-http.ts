import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface GitHttpOptions {
  /** Directory holding the bare repositories; `${root}/acme/widget.git` is `${baseUrl}/acme/widget.git`. */
  root: string;
  user: string;
  password: string;
  /** Answer the first N requests with 503, to exercise retries. */
  failFirst?: number;
  /** Wait this long before answering each request. */
  delayMs?: number;
  /** Send response bodies at this rate (a slow link: the data keeps coming, slowly). */
  bytesPerSecond?: number;
  /** Speak protocol v0 only (as older servers do): a fetch gets only the commits refs point at. */
  protocolV0?: boolean;
}

export interface GitHttpRequest {
  method: string;
  url: string;
  authorized: boolean;
}

export interface GitHttpServer {
  baseUrl: string;
  requests: GitHttpRequest[];
  /** stderr of git http-backend, for diagnosing failed requests. */
  backendLog: string[];
  stop(): Promise<void>;
}

/**
 * Serves the bare repositories under `root` over git's smart HTTP protocol behind HTTP basic auth,
 * by running `git http-backend` as a CGI program per request (https://git-scm.com/docs/git-http-backend).
 */
export async function startGitHttpServer(options: GitHttpOptions): Promise<GitHttpServer> {
  const requests: GitHttpRequest[] = [];
  const backendLog: string[] = [];
  const backends = new Set<ChildProcess>();
  const expected = `Basic ${Buffer.from(`${options.user}:${options.password}`).toString('base64')}`;
  let remainingFailures = options.failFirst ?? 0;

  const server = createServer((req, res) => {
    const authorized = req.headers.authorization === expected;
    requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', authorized });
    void (async () => {
      if (options.delayMs) await sleep(options.delayMs);
      if (remainingFailures > 0) {
        remainingFailures--;
        res.writeHead(503, { 'Content-Type': 'text/plain', 'Retry-After': '0' }).end('Service unavailable (test)\n');
        return;
      }
      if (!authorized) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"', 'Content-Type': 'text/plain' }).end('Unauthorized\n');
        return;
      }
      runBackend(req, res, options, backends, backendLog);
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= new Promise<void>((resolve) => {
      for (const child of backends) child.kill('SIGKILL');
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return stopping;
  };
  return { baseUrl: `http://127.0.0.1:${port}`, requests, backendLog, stop };
}

function runBackend(
  req: IncomingMessage,
  res: ServerResponse,
  options: GitHttpOptions,
  backends: Set<ChildProcess>,
  backendLog: string[],
): void {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const child = spawn('git', ['http-backend'], { env: cgiEnv(req, url, options) });
  backends.add(child);
  child.once('close', () => backends.delete(child));
  child.once('error', (err) => {
    backendLog.push(`could not run git http-backend: ${err.message}`);
    if (!res.headersSent) res.writeHead(500).end();
  });
  child.stderr.on('data', (chunk: Buffer) => backendLog.push(chunk.toString()));
  child.stdin.on('error', () => {
    // EPIPE when the backend answers without reading the whole body (e.g. an error status).
  });
  req.pipe(child.stdin);
  res.once('close', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  relayCgiResponse(options.bytesPerSecond ? child.stdout.pipe(throttled(options.bytesPerSecond)) : child.stdout, child, res);
}

/** Passes bytes on at `bytesPerSecond`, a tenth of a second's worth at a time. */
function throttled(bytesPerSecond: number): Transform {
  const slice = Math.max(1, Math.floor(bytesPerSecond / 10));
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      void (async () => {
        for (let offset = 0; offset < chunk.length; offset += slice) {
          this.push(chunk.subarray(offset, offset + slice));
          await sleep(100);
        }
        done();
      })();
    },
  });
}

function cgiEnv(req: IncomingMessage, url: URL, options: GitHttpOptions): NodeJS.ProcessEnv {
  const header = (name: string): string => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(', ') : (value ?? '');
  };
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: options.root,
    GIT_HTTP_EXPORT_ALL: '1',
    // The fixtures may be owned by another user than the server; see git-config safe.directory.
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'safe.directory',
    GIT_CONFIG_VALUE_0: '*',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: header('content-type'),
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    // Set only after a successful login; it also enables push (http.receivepack defaults to authenticated users).
    REMOTE_USER: options.user,
    // http-backend inflates gzip bodies itself when told about the encoding.
    HTTP_CONTENT_ENCODING: header('content-encoding'),
    // Protocol v2 is negotiated through this header.
    GIT_PROTOCOL: options.protocolV0 ? '' : header('git-protocol'),
  };
  // Without CONTENT_LENGTH (chunked uploads) http-backend reads the body to EOF.
  if (req.headers['content-length'] !== undefined) env.CONTENT_LENGTH = header('content-length');
  return env;
}

/** Parses the CGI header block (Status:, Content-Type:, ...) and streams the rest as the body. */
function relayCgiResponse(stdout: Readable, child: ChildProcessWithoutNullStreams, res: ServerResponse): void {
  let head = Buffer.alloc(0);
  let headersDone = false;
  stdout.on('data', (chunk: Buffer) => {
    if (headersDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = findHeaderEnd(head);
    if (!end) return;
    headersDone = true;
    writeCgiHeaders(res, head.subarray(0, end.index).toString('latin1'));
    const rest = head.subarray(end.index + end.length);
    if (rest.length > 0) res.write(rest);
  });
  // The body ends with the (possibly throttled) output; a backend that sent no headers is a 500.
  stdout.once('end', () => {
    if (headersDone) res.end();
  });
  child.once('close', (code) => {
    if (!headersDone && !res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`git http-backend exited with code ${code} before sending headers\n`);
  });
}

function findHeaderEnd(buffer: Buffer): { index: number; length: number } | undefined {
  const crlf = buffer.indexOf('\r\n\r\n');
  const lf = buffer.indexOf('\n\n');
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return { index: crlf, length: 4 };
  if (lf !== -1) return { index: lf, length: 2 };
  return undefined;
}

function writeCgiHeaders(res: ServerResponse, block: string): void {
  let status = 200;
  let reason: string | undefined;
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') {
      const match = /^(\d{3})\s*(.*)$/.exec(value);
      status = Number(match?.[1] ?? 500);
      reason = match?.[2] || undefined;
    } else {
      res.appendHeader(name, value);
    }
  }
  if (reason) res.writeHead(status, reason);
  else res.writeHead(status);
}
