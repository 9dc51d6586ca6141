import { createHash } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A Git LFS server on 127.0.0.1 (the batch API, https://github.com/git-lfs/git-lfs/blob/main/docs/api/batch.md,
 * and the basic transfer's downloads) serving `objects`:
 * - `stall`: the headers and the first half of an object, then nothing more (a stalled server, a
 *   black-holing proxy mid-transfer);
 * - `slow`: each object whole, a twentieth every 250 ms (5 s: a slow link, whose data keeps coming).
 * Any repository path works: `${baseUrl}/<anything>` is an `lfs.url`.
 */
export type LfsServerMode = 'stall' | 'slow';

export interface LfsServer {
  readonly baseUrl: string;
  /** Object downloads started so far (GET /objects/<oid>). */
  readonly downloads: () => number;
  stop(): Promise<void>;
}

export async function startLfsServer(objects: readonly Buffer[], mode: LfsServerMode): Promise<LfsServer> {
  const byOid = new Map(objects.map((content) => [createHash('sha256').update(content).digest('hex'), content]));
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let downloads = 0;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method === 'POST' && url.pathname.endsWith('/objects/batch')) {
        answerBatch(res, Buffer.concat(chunks).toString('utf8'), byOid, baseUrl);
        return;
      }
      const oid = /\/objects\/([0-9a-f]{64})$/.exec(url.pathname)?.[1];
      const content = oid === undefined ? undefined : byOid.get(oid);
      if (req.method !== 'GET' || content === undefined) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found\n');
        return;
      }
      downloads += 1;
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(content.length) });
      if (mode === 'stall') res.write(content.subarray(0, Math.floor(content.length / 2)));
      else sendSlowly(res, content, timers);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl,
    downloads: () => downloads,
    stop: async () => {
      for (const timer of timers) clearInterval(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function answerBatch(res: ServerResponse, body: string, byOid: ReadonlyMap<string, Buffer>, baseUrl: string): void {
  const request = JSON.parse(body) as { operation: string; objects: Array<{ oid: string; size: number }> };
  const objects = request.objects.map(({ oid, size }) =>
    byOid.has(oid)
      ? { oid, size, authenticated: true, actions: { download: { href: `${baseUrl}/objects/${oid}`, expires_in: 3600 } } }
      : { oid, size, error: { code: 404, message: 'Object does not exist' } },
  );
  res.writeHead(200, { 'Content-Type': 'application/vnd.git-lfs+json' }).end(JSON.stringify({ transfer: 'basic', objects }));
}

function sendSlowly(res: ServerResponse, content: Buffer, timers: Set<NodeJS.Timeout>): void {
  const slice = Math.ceil(content.length / 20);
  let sent = 0;
  const timer = setInterval(() => {
    res.write(content.subarray(sent, sent + slice));
    sent += slice;
    if (sent < content.length) return;
    clearInterval(timer);
    timers.delete(timer);
    res.end();
  }, 250);
  timers.add(timer);
  res.on('close', () => clearInterval(timer));
}
