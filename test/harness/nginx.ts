import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PortInUseError, startOnFreePort } from './free-port.js';
import { cleanUpOnExit, isRoot } from './process.js';
import { createTempDir, type TempDir } from './tmp.js';
import { waitFor } from './wait.js';

export interface NginxWebdavOptions {
  /** Files land in `${root}/repo/...` (basic auth), `${root}/token/...` (bearer) and `${root}/open/...` (no auth). */
  root: string;
  user: string;
  password: string;
  token: string;
  startTimeoutMs?: number;
}

export interface NginxWebdavServer {
  baseUrl: string;
  /** One line per request: `METHOD URI STATUS REMOTE_USER` (REMOTE_USER is `-` when none). */
  accessLog(): Promise<string[]>;
  stop(): Promise<void>;
}

const NGINX_CANDIDATES = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'];
// Answers 204 and is never logged: the readiness probe and the access-log barrier.
const PING_PATH = '/__harness/ping';
const TOKEN_PATTERN = /^[A-Za-z0-9._~+/=-]+$/;

/** Starts Debian's nginx with WebDAV PUT/DELETE/MKCOL/COPY/MOVE on a free port of 127.0.0.1. */
export async function startNginxWebdav(options: NginxWebdavOptions): Promise<NginxWebdavServer> {
  if (!TOKEN_PATTERN.test(options.token)) {
    throw new Error(`Bearer token ${JSON.stringify(options.token)} must match ${TOKEN_PATTERN} to be embedded in nginx.conf`);
  }
  const binary = findNginx();
  await Promise.all(['repo', 'token', 'open'].map((area) => mkdir(join(options.root, area), { recursive: true })));
  const dir = await createTempDir('mass-ingest-nginx-');
  await writeFile(join(dir.path, 'htpasswd'), `${options.user}:{SHA}${createHash('sha1').update(options.password).digest('base64')}\n`);
  const timeoutMs = options.startTimeoutMs ?? 15_000;
  try {
    return await startOnFreePort((port) => startOnPort(binary, dir, port, options, timeoutMs));
  } catch (err) {
    await dir.remove();
    throw err;
  }
}

function findNginx(): string {
  const found = NGINX_CANDIDATES.find((path) => existsSync(path));
  if (!found) {
    throw new Error(`nginx not found at ${NGINX_CANDIDATES.join(', ')}; install it with \`bash .ci/install.sh\` (Debian package nginx)`);
  }
  return found;
}

async function startOnPort(
  binary: string,
  dir: TempDir,
  port: number,
  options: NginxWebdavOptions,
  timeoutMs: number,
): Promise<NginxWebdavServer> {
  const confPath = join(dir.path, 'nginx.conf');
  const errorLog = join(dir.path, 'error.log');
  await writeFile(errorLog, '');
  await writeFile(confPath, renderConfig(dir.path, port, options));
  // -e: nginx opens its error log before reading the config; keep that one in the temp dir too.
  // detached: own process group, so stop() can kill the master and its workers together.
  const child = spawn(binary, ['-p', dir.path, '-c', confPath, '-e', errorLog], { detached: true, stdio: 'ignore' });
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (err) => {
      spawnError = err;
      resolve();
    });
  });
  const unregisterExitHook = cleanUpOnExit(() => {
    killGroup(child, 'SIGKILL');
    rmSync(dir.path, { recursive: true, force: true });
  });
  const readErrorLog = (): Promise<string> => readFile(errorLog, 'utf8').catch(() => '(no error log)');
  const baseUrl = `http://127.0.0.1:${port}`;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await shutDown(child, exited);
      unregisterExitHook();
      await dir.remove();
    })();
    return stopping;
  };

  try {
    await waitFor(
      async () => {
        if (spawnError) throw new Error(`Could not run ${binary}: ${spawnError.message}`, { cause: spawnError });
        if (child.exitCode !== null || child.signalCode !== null) {
          const log = await readErrorLog();
          if (log.includes('Address already in use')) throw new PortInUseError(port);
          throw new Error(`nginx exited with code ${child.exitCode ?? child.signalCode} during start-up\n--- error log ---\n${log}`);
        }
        const response = await fetch(`${baseUrl}${PING_PATH}`).catch(() => undefined);
        return response?.status === 204 ? true : undefined;
      },
      { what: `nginx to answer GET ${baseUrl}${PING_PATH}`, timeoutMs, log: readErrorLog },
    );
  } catch (err) {
    await shutDown(child, exited);
    unregisterExitHook();
    throw err;
  }

  return {
    baseUrl,
    accessLog: async () => {
      // nginx logs a request just after sending its response, so a client can read the log too early.
      // The single worker handles requests one event at a time: once this barrier request is
      // answered, every request answered before it has been logged.
      await fetch(`${baseUrl}${PING_PATH}`);
      const text = await readFile(join(dir.path, 'access.log'), 'utf8').catch(() => '');
      return text.split('\n').filter(Boolean);
    },
    stop,
  };
}

async function shutDown(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    killGroup(child, 'SIGTERM'); // fast shutdown of master and workers
  }
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
  killGroup(child, 'SIGKILL'); // a worker that outlived its master
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The whole group is gone already.
  }
}

function renderConfig(dir: string, port: number, options: NginxWebdavOptions): string {
  const dav = `
      dav_methods PUT DELETE MKCOL COPY MOVE;
      dav_access user:rw group:r all:r;
      create_full_put_path on;
      client_max_body_size 0;
      autoindex on;`;
  return `# Generated by test/harness/nginx.ts
${isRoot() ? 'user root;' : ''}
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;

events {
  worker_connections 128;
}

http {
  default_type application/octet-stream;
  log_format harness '$request_method $request_uri $status $remote_user';
  access_log ${dir}/access.log harness;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;

  server {
    listen 127.0.0.1:${port};
    root "${options.root}";

    location /repo/ {
      auth_basic "repo";
      auth_basic_user_file ${dir}/htpasswd;${dav}
    }

    location /token/ {
      if ($http_authorization != "Bearer ${options.token}") {
        return 401;
      }${dav}
    }

    location /open/ {${dav}
    }

    location = ${PING_PATH} {
      access_log off;
      return 204;
    }
  }
}
`;
}
