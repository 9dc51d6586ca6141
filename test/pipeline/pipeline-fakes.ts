import type { PublishLayout, PublishRequest } from '../../src/artifacts/layout.js';
import type { InventoryEntry, RepositoryRow } from '../../src/inventory/rows.js';

/** A publish target that has nothing and takes everything (the seam src/artifacts/layout.ts owns). */
export class MemoryLayout implements PublishLayout {
  async isPublished() {
    return false;
  }
  async publish(request: PublishRequest) {
    return { logUrl: 'file:///x/build.log', artifacts: request.artifacts.map((a) => ({ name: a.name, size: a.size, sha256: 'f' })), alreadyPublished: false };
  }
  async publishLog() {
    return 'file:///x/build.log';
  }
}

/** Valid rows 1..count, repository `acme/r<n>` at `https://git.example.test/acme/r<n>.git`. */
export async function* rows(count: number): AsyncGenerator<InventoryEntry> {
  for (let n = 1; n <= count; n++) {
    const row: RepositoryRow = { rowNumber: n, cloneUrl: `https://git.example.test/acme/r${n}.git`, branch: 'main', origin: 'git.example.test', path: `acme/r${n}`, buildCommand: undefined, artifacts: 'dist/*' };
    yield { kind: 'valid', row };
  }
}
