import { describe, expect, it } from 'vitest';
import type { ReportSummary } from '../../src/report/model.js';
import { renderTextReport } from '../../src/report/text-report.js';
import type { ReportRepository } from '../../src/results/report-queries.js';

const NO_TIMES = { count: 0, p50: null, p90: null, p99: null, max: null };
const SUMMARY: ReportSummary = {
  run: { id: 'r1', trigger: 'process', mode: 'process', inventoryUri: 'repos.csv', inventorySha256: null, inventoryRows: null, partitionSize: null, partitions: null, createdAt: '2025-01-01T00:00:00.000Z', finishedAt: null },
  counts: { clone_failed: 1 },
  aggregates: {
    total: 1,
    failed: 1,
    wall: { startedAt: 0, finishedAt: null, firstResultAt: null, lastResultAt: null, wallMs: null },
    durations: { histogram: [], percentiles: { all: NO_TIMES, built: NO_TIMES } },
    builders: [],
    slowest: [],
    partitions: { statuses: {}, timeline: [] },
    trend: [],
  },
};

function failed(errorMessage: string): ReportRepository {
  return {
    rowNumber: 7, origin: 'git.test', path: 'acme/gone', branch: 'main', cloneUrl: 'https://git.test/acme/gone.git', outcome: 'clone_failed',
    commitSha: null, builder: null, durationMs: 40, errorCode: 'repository_not_found', errorMessage, logUrl: null,
  };
}

function errorLines(text: string): string[] {
  const lines = text.trimEnd().split('\n');
  return lines.slice(lines.findIndex((line) => line.startsWith('7 ')) + 1);
}

describe('renderTextReport', () => {
  it('shows the first lines of a failed row\'s error, not its last', () => {
    const message = "fatal: 'https://git.test/acme/gone.git' does not appear to be a git repository\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n";

    const text = renderTextReport(SUMMARY, [failed(message)]);

    expect(errorLines(text)).toEqual([
      "       fatal: 'https://git.test/acme/gone.git' does not appear to be a git repository",
      '       fatal: Could not read from remote repository.',
      '       Please make sure you have the correct access rights',
    ]);
  });

  it('cuts a long line and strips terminal escapes from the error', () => {
    const text = renderTextReport(SUMMARY, [failed(`\u001b[31merror:\u001b[0m ${'x'.repeat(300)}`)]);

    expect(errorLines(text)).toEqual([`       error: ${'x'.repeat(152)}…`]);
  });
});
