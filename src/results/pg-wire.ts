/**
 * The few PostgreSQL frontend/backend protocol messages (protocol 3.0, PostgreSQL docs
 * "Message Formats") that src/results/pglite-server.ts writes or reads itself; everything else
 * passes through PGlite untouched.
 */
/** Status byte of the last ReadyForQuery ('Z') in a backend response, if any. */
export function readyStatus(response: Uint8Array): number | undefined {
  const view = Buffer.from(response.buffer, response.byteOffset, response.byteLength);
  let status: number | undefined;
  for (let offset = 0; offset + 5 <= view.length; ) {
    const length = view.readInt32BE(offset + 1);
    if (view[offset] === 0x5a && length === 5) status = view[offset + 5];
    offset += 1 + length;
  }
  return status;
}

export function authentication(code: number): Buffer {
  const message = Buffer.alloc(9);
  message.write('R', 0);
  message.writeInt32BE(8, 1);
  message.writeInt32BE(code, 5);
  return message;
}

export function errorResponse(sqlState: string, text: string): Buffer {
  const fields = Buffer.concat([field('S', 'FATAL'), field('V', 'FATAL'), field('C', sqlState), field('M', text), Buffer.from([0])]);
  const header = Buffer.alloc(5);
  header.write('E', 0);
  header.writeInt32BE(4 + fields.length, 1);
  return Buffer.concat([header, fields]);
}

function field(code: string, value: string): Buffer {
  return Buffer.concat([Buffer.from(code), Buffer.from(value), Buffer.from([0])]);
}

export function syncMessage(): Buffer {
  return Buffer.from([0x53, 0, 0, 0, 4]);
}

export function queryMessage(sql: string): Buffer {
  const body = Buffer.concat([Buffer.from(sql), Buffer.from([0])]);
  const header = Buffer.alloc(5);
  header.write('Q', 0);
  header.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([header, body]);
}
