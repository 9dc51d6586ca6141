import { createConnection, createServer } from 'node:net';

/** A server start failed because another process took the probed port first. */
export class PortInUseError extends Error {
  constructor(readonly port: number) {
    super(`Port ${port} on 127.0.0.1 was taken between probing and binding; retry with another port`);
    this.name = 'PortInUseError';
  }
}

/** Asks the kernel for a free port on 127.0.0.1, for servers that cannot listen(0) themselves. */
export async function findFreePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') {
    throw new Error(`Expected a TCP address from listen(0), got ${String(address)}`);
  }
  return address.port;
}

/**
 * Runs `start` on a probed free port. A probed port can be taken by another process before the
 * server binds it, so a start that throws PortInUseError is retried on a fresh port.
 */
export async function startOnFreePort<T>(start: (port: number) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = await findFreePort();
    try {
      return await start(port);
    } catch (err) {
      if (!(err instanceof PortInUseError) || attempt >= attempts) throw err;
    }
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:port (to check that stop() freed it). */
export function isPortOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
