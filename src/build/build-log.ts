import fs from 'node:fs';
import { once } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import type { Scrubber } from '../logging/scrub.js';

export interface BuildLogLimits {
  /** Characters kept of one line: a minified bundle or a base64 dump on one line must not hold the processor's memory, or its event loop in the scrubber. */
  readonly lineChars: number;
  /** The first bytes of output kept in build.log. */
  readonly headBytes: number;
  /** The last bytes of output kept after them (where a failed build says why: `error_message` is read from there). */
  readonly tailBytes: number;
}

export const BUILD_LOG_LIMITS: BuildLogLimits = { lineChars: 16 * 1024, headBytes: 32 * 1024 * 1024, tailBytes: 1024 * 1024 };

/** Read past the kept part of a long line so a secret that straddles the cut is scrubbed whole, then dropped. */
const SECRET_SLACK = 4096;

/**
 * A build's output on its way to build.log, line by line and scrubbed: long lines are cut, and a
 * chatty build keeps its first `headBytes` and last `tailBytes`, with a line saying what was left out.
 */
export class BuildLog {
  private written = 0;
  private readonly tail: string[] = [];
  private tailStart = 0;
  private tailSize = 0;
  private cutLines = 0;
  private cutBytes = 0;

  constructor(
    private readonly file: fs.WriteStream,
    private readonly scrub: Scrubber,
    private readonly limits: BuildLogLimits = BUILD_LOG_LIMITS,
  ) {}

  /** Copies a stream into the log, splitting lines as readline does (`\n`, `\r\n`, `\r`). */
  async copy(stream: Readable): Promise<void> {
    const decoder = new StringDecoder('utf8');
    const window = this.limits.lineChars + SECRET_SLACK;
    let pending = '';
    let overflow = 0;
    let afterCr = false;
    const take = (text: string) => {
      const room = window - pending.length;
      if (text.length > room) overflow += text.length - room;
      pending += text.length > room ? text.slice(0, room) : text;
    };
    const end = async () => {
      const line = pending;
      const cut = overflow;
      pending = '';
      overflow = 0;
      await this.line(line, cut);
    };
    for await (const chunk of stream) {
      let text = decoder.write(chunk as Buffer);
      if (afterCr && text.startsWith('\n')) text = text.slice(1);
      afterCr = text.endsWith('\r');
      let from = 0;
      for (const match of text.matchAll(/\r\n|\r|\n/g)) {
        take(text.slice(from, match.index));
        from = match.index + match[0].length;
        await end();
      }
      take(text.slice(from));
    }
    take(decoder.end());
    if (pending !== '' || overflow > 0) await end();
  }

  async write(text: string): Promise<void> {
    const bytes = Buffer.byteLength(text);
    if (this.written + bytes <= this.limits.headBytes && this.tail.length === 0) {
      this.written += bytes;
      await this.direct(text);
      return;
    }
    this.tail.push(text);
    this.tailSize += bytes;
    while (this.tailSize > this.limits.tailBytes && this.tailStart < this.tail.length - 1) {
      const dropped = Buffer.byteLength(this.tail[this.tailStart] ?? '');
      this.tail[this.tailStart++] = '';
      this.tailSize -= dropped;
      this.cutLines += 1;
      this.cutBytes += dropped;
    }
    if (this.tailStart > 1024 && this.tailStart * 2 > this.tail.length) {
      this.tail.splice(0, this.tailStart);
      this.tailStart = 0;
    }
  }

  /** Writes the kept tail; the log file stays open for the caller's closing notes. */
  async flush(): Promise<void> {
    if (this.cutLines > 0) {
      await this.direct(`[mass-ingest] ${this.cutLines} lines (${this.cutBytes} bytes) of output left out: build.log keeps the first ${this.limits.headBytes} and the last ${this.limits.tailBytes} bytes\n`);
    }
    for (const text of this.tail.slice(this.tailStart)) await this.direct(text);
    this.tail.length = 0;
    this.tailStart = 0;
  }

  private async line(raw: string, overflow: number): Promise<void> {
    const { lineChars } = this.limits;
    let text = this.scrub(raw);
    if (overflow > 0 || text.length > lineChars) {
      // A window that ended mid-line may end in part of a secret: what lies within the slack of its end is dropped.
      const keep = overflow > 0 ? Math.min(lineChars, Math.max(0, text.length - SECRET_SLACK)) : lineChars;
      const cut = text.length - keep + overflow;
      text = `${text.slice(0, keep)} [mass-ingest: ${cut} more characters of this line left out]`;
    }
    await this.write(`${text}\n`);
  }

  /**
   * A log file that failed (a full disk) takes no more: the build's output is still read, so the
   * build does not block on a full pipe, and dropped. runBuild reports the file's error.
   */
  private async direct(text: string): Promise<void> {
    if (this.file.destroyed || this.file.errored) return;
    if (!this.file.write(text)) await once(this.file, 'drain').catch(() => undefined);
  }
}
