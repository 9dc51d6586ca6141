import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DiscoveryProgress, type ProgressState } from '../../src/discovery/progress.js';
import { createLogger } from '../../src/logging/logger.js';

function terminal(): { stream: Writable; text: () => string } {
  let written = '';
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      written += String(chunk);
      callback();
    },
  });
  return { stream, text: () => written };
}

const log = createLogger({ level: 'silent', format: 'json', scrub: (text) => text, fd: 2 });
const state = (overrides: Partial<ProgressState>): ProgressState => ({
  streamsDone: 1, streamsPlanned: 4, repositories: 240, expected: 1000, requests: 3, budgets: [{ number: 1, remaining: 4990, restingUntil: undefined }], ...overrides,
});

describe('DiscoveryProgress', () => {
  it('shows the share of the expected repositories while buckets remain', () => {
    const { stream, text } = terminal();
    const progress = new DiscoveryProgress(stream, true, log, 5000, () => 1_000_000);

    progress.update(state({}));

    expect(text()).toContain('] 24% · buckets 1/4 · repositories 240/1000');
  });

  it('ends at 100% when every bucket is done, even if the search counted repositories it then left out', () => {
    const { stream, text } = terminal();
    const progress = new DiscoveryProgress(stream, true, log, 5000, () => 1_000_000);

    progress.done(state({ streamsDone: 4, repositories: 962 }));

    expect(text()).toContain(`[${'#'.repeat(24)}] 100% · buckets 4/4 · repositories 962/1000`);
    expect(text().endsWith('\n')).toBe(true);
  });
});
