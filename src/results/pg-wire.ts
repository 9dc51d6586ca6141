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

/**
 * The bytes a connection has received, cut into whole messages. Socket chunks are kept as they
 * arrive and a message is copied once, when it spans several: appending every chunk to one
 * buffer copied a multi-megabyte message (a 10,000-outcome Bind) once per 64 KiB chunk.
 */
export class MessageQueue {
  private readonly chunks: Buffer[] = [];
  /** Bytes of chunks[0] already taken. */
  private offset = 0;
  private size = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  /**
   * The next whole message, or undefined until it has arrived: a startup packet (length first)
   * or a typed message (type byte, then length). A length shorter than its header is a protocol
   * violation: it throws.
   */
  take(typed: boolean): Buffer | undefined {
    const header = typed ? 5 : 4;
    if (this.size < header) return undefined;
    const length = this.peek(header).readInt32BE(typed ? 1 : 0) + (typed ? 1 : 0);
    if (length < header) throw new Error(`invalid message length ${length}`);
    return this.size < length ? undefined : this.read(length);
  }

  private peek(count: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length - this.offset >= count) return first.subarray(this.offset, this.offset + count);
    const bytes = Buffer.alloc(count);
    let filled = 0;
    for (let index = 0, start = this.offset; filled < count; index++, start = 0) {
      const chunk = this.chunks[index]!;
      filled += chunk.copy(bytes, filled, start, Math.min(chunk.length, start + count - filled));
    }
    return bytes;
  }

  private read(count: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length - this.offset >= count) {
      const bytes = first.subarray(this.offset, this.offset + count);
      this.advance(count);
      return bytes;
    }
    const bytes = Buffer.allocUnsafe(count);
    let filled = 0;
    while (filled < count) {
      const chunk = this.chunks[0]!;
      const copied = chunk.copy(bytes, filled, this.offset, Math.min(chunk.length, this.offset + count - filled));
      filled += copied;
      this.advance(copied);
    }
    return bytes;
  }

  private advance(count: number): void {
    this.offset += count;
    this.size -= count;
    if (this.offset === this.chunks[0]!.length) {
      this.chunks.shift();
      this.offset = 0;
    }
  }
}
