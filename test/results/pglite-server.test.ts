import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import fs from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageQueue, queryMessage, readyStatus } from '../../src/results/pg-wire.js';
import { startPgliteServer, type PgliteServer } from '../../src/results/pglite-server.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

let tmp: TempDir;
let db: PGlite;
let server: PgliteServer;

/** The initialised directory `npm run build` leaves in dist/ opens in a second; initdb takes many. */
async function openPglite(): Promise<PGlite> {
  const template = path.resolve('dist/pglite-template');
  if (!existsSync(path.join(template, 'PG_VERSION'))) return PGlite.create();
  const dir = path.join(tmp.path, 'db');
  await fs.cp(template, dir, { recursive: true });
  return PGlite.create(dir);
}

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-pglite-server-');
  db = await openPglite();
  await db.exec('CREATE TABLE t (id int PRIMARY KEY, writer text)');
  server = await startPgliteServer(db);
});

afterAll(async () => {
  await server?.close();
  await db?.close();
  await tmp?.remove();
});

describe('startPgliteServer', () => {
  it('serves one PGlite to several pg pools without mixing their transactions', async () => {
    const pools = Array.from({ length: 3 }, () => new pg.Pool({ connectionString: server.url, max: 3 }));

    const committed = await Promise.all(
      pools.flatMap((pool, p) =>
        Array.from({ length: 10 }, async (_, i) => {
          const client = await pool.connect();
          try {
            await client.query('BEGIN');
            await client.query('INSERT INTO t VALUES ($1, $2)', [p * 100 + i, `pool${p}`]);
            if (i % 4 === 0) {
              await client.query('SELECT no_such_column FROM t').catch(() => undefined);
              await client.query('ROLLBACK');
              return 0;
            }
            await client.query('COMMIT');
            return 1;
          } finally {
            client.release();
          }
        }),
      ),
    );
    const { rows } = await pools[0]!.query<{ n: number }>('SELECT count(*)::int AS n FROM t');
    await Promise.all(pools.map((pool) => pool.end()));

    expect(rows[0]?.n).toBe(committed.reduce<number>((sum, n) => sum + n, 0));
    expect(rows[0]?.n).toBe(21);
  });

  it('rolls back the transaction of a client that disconnects in the middle of it', async () => {
    const quitter = new pg.Client({ connectionString: server.url });
    quitter.on('error', () => undefined);
    await quitter.connect();
    await quitter.query('BEGIN');
    await quitter.query("INSERT INTO t VALUES (999, 'quitter')");
    (quitter as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    const other = new pg.Client({ connectionString: server.url });
    await other.connect();

    const { rows } = await other.query("SELECT count(*)::int AS n FROM t WHERE writer = 'quitter'");
    await other.end();

    expect(rows[0]).toEqual({ n: 0 });
  });

  it('passes on a message of several megabytes that arrives in many socket chunks', async () => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    const text = 'x'.repeat(6_000_000);

    const { rows } = await client.query<{ n: number }>('SELECT length($1::text) AS n', [text]);
    await client.end();

    expect(rows).toEqual([{ n: 6_000_000 }]);
  });

  it('answers every query of a client that sends several in one write', async () => {
    const socket = await loggedIn(server);

    socket.write(Buffer.concat([queryMessage('SELECT 1 AS a'), queryMessage('SELECT 2 AS b')]));
    const messages = await readUntilReady(socket, 2);
    socket.destroy();

    const dataRows = messages.filter((m) => m[0] === 0x44).map((m) => m.subarray(11).toString());
    expect(dataRows).toEqual(['1', '2']);
  });

  it('refuses a wrong password', async () => {
    const client = new pg.Client({ connectionString: server.url.replace(/:[0-9a-f]{48}@/, ':wrong@') });

    await expect(client.connect()).rejects.toThrow(/password authentication failed/);
  });

  it('listens on 127.0.0.1 with a random 48-hex-digit password', () => {
    expect(server.url).toMatch(/^postgres:\/\/mass_ingest:[0-9a-f]{48}@127\.0\.0\.1:\d+\/postgres$/);
  });
});

describe('readyStatus', () => {
  it('reads the status byte of the last ReadyForQuery in a response', () => {
    const commandComplete = Buffer.from([0x43, 0, 0, 0, 9, 0x42, 0x45, 0x47, 0x49, 0x4e].slice(0, 10));
    commandComplete.writeInt32BE(9, 1);
    const ready = (status: string) => Buffer.from([0x5a, 0, 0, 0, 5, status.charCodeAt(0)]);

    expect(readyStatus(Buffer.concat([commandComplete, ready('T')]))).toBe(0x54);
    expect(readyStatus(Buffer.concat([ready('T'), ready('I')]))).toBe(0x49);
    expect(readyStatus(commandComplete)).toBeUndefined();
  });
});

describe('MessageQueue', () => {
  const typed = (type: string, body: string) => {
    const header = Buffer.alloc(5);
    header.write(type, 0);
    header.writeInt32BE(4 + body.length, 1);
    return Buffer.concat([header, Buffer.from(body)]);
  };

  it('cuts bytes that arrive one at a time into whole messages', () => {
    const startup = Buffer.from([0, 0, 0, 8, 0, 3, 0, 0]);
    const stream = Buffer.concat([startup, typed('Q', 'SELECT 1\0'), typed('S', '')]);
    const queue = new MessageQueue();
    const taken: Buffer[] = [];

    for (const byte of stream) {
      queue.push(Buffer.from([byte]));
      const message = queue.take(taken.length > 0);
      if (message) taken.push(message);
    }

    expect(taken.map((m) => m.toString('hex'))).toEqual([startup.toString('hex'), typed('Q', 'SELECT 1\0').toString('hex'), typed('S', '').toString('hex')]);
  });

  it('refuses a message whose length is shorter than its header', () => {
    const queue = new MessageQueue();
    queue.push(Buffer.from([0x51, 0, 0, 0, 1]));

    expect(() => queue.take(true)).toThrow(/invalid message length/);
  });
});

/** A raw protocol connection past authentication, for what `pg` never sends. */
async function loggedIn(target: PgliteServer): Promise<Socket> {
  const url = new URL(target.url);
  const socket = connect(Number(url.port), '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const params = Buffer.from(`user\0${url.username}\0database\0postgres\0\0`);
  const startup = Buffer.alloc(8);
  startup.writeInt32BE(8 + params.length, 0);
  startup.writeInt32BE(196608, 4);
  socket.write(Buffer.concat([startup, params]));
  await readUntil(socket, (m) => m[0] === 0x52);
  const password = Buffer.from(`${url.password}\0`);
  const header = Buffer.alloc(5);
  header.write('p', 0);
  header.writeInt32BE(4 + password.length, 1);
  socket.write(Buffer.concat([header, password]));
  await readUntilReady(socket, 1);
  return socket;
}

function readUntilReady(socket: Socket, count: number): Promise<Buffer[]> {
  let seen = 0;
  return readUntil(socket, (m) => m[0] === 0x5a && ++seen === count);
}

/** Backend messages until `last` says so (then stops listening). */
function readUntil(socket: Socket, last: (message: Buffer) => boolean): Promise<Buffer[]> {
  const queue = new MessageQueue();
  const messages: Buffer[] = [];
  return new Promise((resolve, reject) => {
    const onData = (data: Buffer) => {
      queue.push(data);
      for (let m = queue.take(true); m; m = queue.take(true)) {
        messages.push(m);
        if (last(m)) {
          socket.off('data', onData);
          resolve(messages);
          return;
        }
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}
