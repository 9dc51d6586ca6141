import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import { authentication, errorResponse, MessageQueue, queryMessage, readyStatus, syncMessage } from './pg-wire.js';

/**
 * Serves one PGlite instance over the PostgreSQL wire protocol on 127.0.0.1, so that several
 * processes (`chunk --local` children) can share the embedded database through `pg`.
 *
 * PGlite has a single backend session. Each connection's messages are passed to it whole
 * (`execProtocolRaw`; all those that have arrived in one call, as a server reads its socket), and
 * the session belongs to one connection from its first message until the backend reports
 * ReadyForQuery "idle": an extended-protocol batch (Parse…Sync) or an open transaction is never
 * interleaved with another connection's messages.
 * (@electric-sql/pglite-socket does the same job, but 0.2.17 pins pglite 0.5.14 and eight
 * extension packages as peers; ours is 0.5.16.)
 */
export interface PgliteServer {
  /** postgres://mass_ingest:<random>@127.0.0.1:<port>/postgres — the password is per server. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
const USER = 'mass_ingest';

export async function startPgliteServer(db: PGlite): Promise<PgliteServer> {
  const password = randomBytes(24).toString('hex');
  const session = new SessionLock();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    new Connection(socket, db, session, password).start();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `postgres://${USER}:${password}@127.0.0.1:${port}/postgres`,
    port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await session.idle();
    },
  };
}

/** Who owns PGlite's one session; the others wait in arrival order. */
class SessionLock {
  private owner: Connection | undefined;
  private readonly waiting: Array<{ connection: Connection; resume: () => void }> = [];

  async acquire(connection: Connection): Promise<void> {
    if (this.owner === connection) return;
    if (this.owner === undefined) {
      this.owner = connection;
      return;
    }
    await new Promise<void>((resume) => this.waiting.push({ connection, resume }));
  }

  release(connection: Connection): void {
    if (this.owner !== connection) return;
    const next = this.waiting.shift();
    this.owner = next?.connection;
    next?.resume();
  }

  owns(connection: Connection): boolean {
    return this.owner === connection;
  }

  /** Resolves once no connection holds the session (used on close). */
  async idle(): Promise<void> {
    while (this.owner !== undefined) await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

type Phase = 'startup' | 'password' | 'ready' | 'closed';

const TERMINATE = 0x58; // 'X'

class Connection {
  private readonly queue = new MessageQueue();
  private phase: Phase = 'startup';
  private startup: Buffer | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: Socket,
    private readonly db: PGlite,
    private readonly session: SessionLock,
    private readonly password: string,
  ) {}

  start(): void {
    this.socket.setNoDelay(true);
    this.socket.on('data', (data: Buffer) => {
      this.queue.push(data);
      // Messages are handled strictly in order, one at a time.
      this.chain = this.chain
        .then(() => this.drain())
        .catch(() => {
          this.socket.destroy();
        });
    });
    this.socket.on('error', () => undefined);
    this.socket.once('close', () => {
      this.chain = this.chain.then(() => this.abandon());
    });
  }

  private async drain(): Promise<void> {
    while (this.phase !== 'closed') {
      if (this.phase === 'ready') {
        if (!(await this.handleArrived())) return;
        continue;
      }
      const message = this.queue.take(this.phase !== 'startup');
      if (message === undefined) return;
      await (this.phase === 'startup' ? this.handleStartup(message) : this.handlePassword(message));
    }
  }

  /** Passes every whole message that has arrived to PGlite in one call; false when none has. */
  private async handleArrived(): Promise<boolean> {
    const messages: Buffer[] = [];
    for (let message = this.queue.take(true); message !== undefined; message = this.queue.take(true)) {
      if (message[0] === TERMINATE) {
        // Never passed on: it would end PGlite's backend. Nothing follows it.
        this.phase = 'closed';
        break;
      }
      messages.push(message);
    }
    if (messages.length > 0) {
      await this.session.acquire(this);
      const response = await this.db.execProtocolRaw(messages.length === 1 ? messages[0]! : Buffer.concat(messages));
      if (readyStatus(response) === 0x49 /* I: idle, no batch or transaction open */) this.session.release(this);
      if (this.socket.writable) this.socket.write(response);
    }
    if (this.phase === 'closed') this.socket.end();
    return messages.length > 0 && this.phase === 'ready';
  }

  private handleStartup(message: Buffer): void {
    const code = message.length >= 8 ? message.readInt32BE(4) : 0;
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
      this.socket.write('N');
      return;
    }
    if (code !== PROTOCOL_3) {
      // CancelRequest (nothing to cancel in a single session) or an unknown protocol.
      this.phase = 'closed';
      if (code === CANCEL_REQUEST) this.socket.end();
      else this.socket.end(errorResponse('08P01', 'unsupported frontend protocol'));
      return;
    }
    this.startup = Buffer.from(message);
    this.phase = 'password';
    this.socket.write(authentication(3 /* cleartext password */));
  }

  private async handlePassword(message: Buffer): Promise<void> {
    const given = message[0] === 0x70 ? message.subarray(5, message.length - 1) : Buffer.alloc(0);
    const expected = Buffer.from(this.password);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      this.phase = 'closed';
      this.socket.end(errorResponse('28P01', `password authentication failed for user "${USER}"`));
      return;
    }
    this.phase = 'ready';
    // PGlite answers the startup packet itself: AuthenticationOk, ParameterStatus…, ReadyForQuery.
    await this.session.acquire(this);
    try {
      const response = await this.db.execProtocolRaw(new Uint8Array(this.startup ?? Buffer.alloc(0)));
      if (this.socket.writable) this.socket.write(response);
    } finally {
      this.session.release(this);
    }
  }

  /** A connection that left mid-batch or mid-transaction must not leave the session dirty. */
  private async abandon(): Promise<void> {
    this.phase = 'closed';
    if (!this.session.owns(this)) return;
    try {
      await this.db.execProtocolRaw(new Uint8Array(syncMessage()));
      if (this.db.isInTransaction()) await this.db.execProtocolRaw(new Uint8Array(queryMessage('ROLLBACK')));
    } finally {
      this.session.release(this);
    }
  }
}
