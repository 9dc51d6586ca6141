import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An http(s) inventory whose bytes change from one GET to the next, as a file replaced on a web
 * server between two reads: GET number n (from 0) gets `bodies[n]`, the last body once they run
 * out. With `etag`, each answer carries a strong ETag of its body and a Last-Modified (each body
 * a minute younger than the one before). Every GET is recorded with the body it got.
 */
export interface SwitchingInventoryServer {
  readonly url: string;
  /** The index in `bodies` each GET got, in order. */
  readonly gets: number[];
  close(): Promise<void>;
}

export async function startSwitchingInventoryServer(bodies: readonly string[], options: { etag: boolean }): Promise<SwitchingInventoryServer> {
  const gets: number[] = [];
  const server = http.createServer((request, response) => {
    if (request.method !== 'GET') {
      response.writeHead(405).end();
      return;
    }
    const index = Math.min(gets.length, bodies.length - 1);
    const body = bodies[index] ?? '';
    gets.push(index);
    const validators = { ETag: `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`, 'Last-Modified': new Date(Date.UTC(2026, 0, 1, 0, index)).toUTCString() };
    response.writeHead(200, { 'Content-Type': 'text/csv', ...(options.etag ? validators : {}) });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/repos.csv`,
    gets,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
