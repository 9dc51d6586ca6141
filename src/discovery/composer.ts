import { PAGE_SIZE, remainingOf, type Segment, type StreamState } from './types.js';

export interface ComposerLimits {
  /** Nodes per request (GitHub's `first` limit). */
  readonly pageSize: number;
  /** Streams per request: aliases are cheap, but each search costs GitHub a query. */
  readonly maxSegments: number;
}

export const DEFAULT_LIMITS: ComposerLimits = Object.freeze({ pageSize: PAGE_SIZE, maxSegments: 4 });

/**
 * Packs pages of several streams into one request so that the request is full: the tail of one
 * bucket and the head of the next travel together (`first: 37` and `first: 63`), instead of
 * each bucket ending in a partly filled page. A stream is in at most one request at a time,
 * because its next page needs the cursor the previous one returns.
 */
export class RequestComposer {
  private active: StreamState[] = [];
  private readonly busy = new Set<string>();

  constructor(private readonly limits: ComposerLimits = DEFAULT_LIMITS) {}

  /** New streams, or known ones whose goal grew. */
  add(streams: readonly StreamState[]): void {
    const known = new Set(this.active.map((stream) => stream.key));
    const added = streams.filter((stream) => !known.has(stream.key) && remainingOf(stream) > 0);
    if (added.length === 0) return;
    this.active = [...this.active, ...added].sort((a, b) => a.position - b.position);
  }

  /** Nodes a request could carry now, up to one page. */
  available(): number {
    let nodes = 0;
    let segments = 0;
    for (const stream of this.active) {
      if (this.busy.has(stream.key)) continue;
      const remaining = remainingOf(stream);
      if (remaining === 0) continue;
      nodes += remaining;
      segments += 1;
      if (nodes >= this.limits.pageSize || segments >= this.limits.maxSegments) break;
    }
    return Math.min(nodes, this.limits.pageSize);
  }

  /** Streams already started come first, so buckets finish (and checkpoint as done) early. */
  take(): Segment[] {
    const segments: Segment[] = [];
    let capacity = this.limits.pageSize;
    const started = this.active.filter((stream) => stream.fetched > 0);
    const fresh = this.active.filter((stream) => stream.fetched === 0);
    for (const stream of [...started, ...fresh]) {
      if (capacity === 0 || segments.length >= this.limits.maxSegments) break;
      if (this.busy.has(stream.key)) continue;
      const first = Math.min(remainingOf(stream), capacity);
      if (first === 0) continue;
      segments.push({ stream, first });
      this.busy.add(stream.key);
      capacity -= first;
    }
    return segments;
  }

  /** The request carrying these streams answered (or failed for good). */
  release(segments: readonly Segment[]): void {
    for (const { stream } of segments) this.busy.delete(stream.key);
    this.active = this.active.filter((stream) => this.busy.has(stream.key) || remainingOf(stream) > 0);
  }

  /** Streams with pages left or in flight. */
  pending(): number {
    return this.active.length;
  }
}
