/**
 * The earlier valid rows by repository (origin, path, branch), for DESIGN §4's rule that a repeat
 * of an earlier row is invalid. A `Map<string, number>` is one; `rowNumber` is the row asking, for
 * a reader that knows a row's repeat from elsewhere (src/inventory/partition-index.ts).
 */
export interface SeenRows {
  get(key: string, rowNumber: number): number | undefined;
  set(key: string, rowNumber: number): unknown;
}

/**
 * SeenRows in 12 bytes a slot, 16–24 a row (the table is kept at most 3/4 full): a 64-bit hash of
 * the key and the row number, in an open-addressed table, where a Map of the keys themselves holds
 * ≈90–230 bytes a row (the chunk job reads inventories of millions of rows within 256 MiB, and a
 * processor without an index remembers every row before its partition). Two keys sharing a hash
 * would make the later row a repeat: among a million rows that happens with a chance of about 3 in
 * 100 million.
 */
export class HashedSeenRows implements SeenRows {
  private hashes = new Uint32Array(2 * 1024);
  private rows = new Uint32Array(1024);
  private size = 0;

  get(key: string): number | undefined {
    const [high, low] = hash64(key);
    const slot = this.find(high, low);
    const row = this.rows[slot] ?? 0;
    return row === 0 ? undefined : row;
  }

  set(key: string, rowNumber: number): void {
    if ((this.size + 1) * 4 > this.rows.length * 3) this.grow();
    const [high, low] = hash64(key);
    const slot = this.find(high, low);
    if (this.rows[slot] === 0) this.size += 1;
    this.hashes[2 * slot] = high;
    this.hashes[2 * slot + 1] = low;
    this.rows[slot] = rowNumber;
  }

  /** The slot holding this hash, or the empty slot where it would go (rows count from 1: 0 is empty). */
  private find(high: number, low: number): number {
    const mask = this.rows.length - 1;
    let slot = low & mask;
    while (this.rows[slot] !== 0 && (this.hashes[2 * slot] !== high || this.hashes[2 * slot + 1] !== low)) slot = (slot + 1) & mask;
    return slot;
  }

  private grow(): void {
    const { hashes, rows } = this;
    this.hashes = new Uint32Array(hashes.length * 2);
    this.rows = new Uint32Array(rows.length * 2);
    rows.forEach((row, slot) => {
      if (row === 0) return;
      const high = hashes[2 * slot] ?? 0;
      const low = hashes[2 * slot + 1] ?? 0;
      const target = this.find(high, low);
      this.hashes[2 * target] = high;
      this.hashes[2 * target + 1] = low;
      this.rows[target] = row;
    });
  }
}

/** Two 32-bit murmur3-style lanes over the UTF-16 code units, with different seeds, each finalised. */
function hash64(key: string): [number, number] {
  let a = 0x9747b28c ^ key.length;
  let b = 0x5bd1e995 ^ key.length;
  for (let index = 0; index < key.length; index++) {
    const unit = key.charCodeAt(index);
    a = Math.imul(rotate(Math.imul(unit, 0xcc9e2d51), 15), 0x1b873593) ^ a;
    a = Math.imul(rotate(a, 13), 5) + 0xe6546b64;
    b = Math.imul(rotate(Math.imul(unit ^ 0x5a5a, 0x85ebca6b), 17), 0xc2b2ae35) ^ b;
    b = Math.imul(rotate(b, 11), 9) + 0x27d4eb2f;
  }
  return [finalise(a) >>> 0, finalise(b) >>> 0];
}

function rotate(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

function finalise(value: number): number {
  let h = value ^ (value >>> 16);
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
