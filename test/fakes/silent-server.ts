import net from 'node:net';

/**
 * A TCP server on 127.0.0.1 that accepts connections and then stops making progress:
 * - `silent`: never reads and never answers (a hung repository manager, a black-holing proxy);
 * - `stall-body`: reads the request head, answers `200` with a Content-Length and the first bytes
 *   of the body, then nothing more;
 * - `trickle-body`: the same, then one more byte of the body every `trickleMs` (never done).
 * It counts connections, so tests can tell how many attempts reached it.
 */
export type SilentMode =
  | { readonly kind: 'silent' }
  | { readonly kind: 'stall-body'; readonly contentType?: string; readonly firstBytes: string }
  | { readonly kind: 'trickle-body'; readonly trickleMs: number };

export interface SilentServer {
  readonly baseUrl: string;
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: () => number;
  stop(): Promise<void>;
}

const DECLARED_LENGTH = 1_000_000;

export async function startSilentServer(mode: SilentMode = { kind: 'silent' }): Promise<SilentServer> {
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (mode.kind === 'silent') {
      socket.pause();
      return;
    }
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.pause();
      const contentType = mode.kind === 'stall-body' ? (mode.contentType ?? 'application/octet-stream') : 'application/octet-stream';
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: ${contentType}\r\nContent-Length: ${DECLARED_LENGTH}\r\n\r\n`);
      if (mode.kind === 'stall-body') {
        socket.write(mode.firstBytes);
        return;
      }
      const timer = setInterval(() => socket.write('x'), mode.trickleMs);
      timers.add(timer);
      socket.on('close', () => clearInterval(timer));
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    connections: () => accepted,
    stop: async () => {
      for (const timer of timers) clearInterval(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
