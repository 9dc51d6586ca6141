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

    const text = renderTextReport(SUMMARY, { first: [failed(message)], codes: [] });

    expect(errorLines(text)).toEqual([
      "       fatal: 'https://git.test/acme/gone.git' does not appear to be a git repository",
      '       fatal: Could not read from remote repository.',
      '       Please make sure you have the correct access rights',
    ]);
  });

  it('cuts a long line and strips terminal escapes from the error', () => {
    const text = renderTextReport(SUMMARY, { first: [failed(`\u001b[31merror:\u001b[0m ${'x'.repeat(300)}`)], codes: [] });

    expect(errorLines(text)).toEqual([`       error: ${'x'.repeat(152)}…`]);
  });
});

function failedRows(count: number, outcome: ReportRepository['outcome'], errorCode: string): ReportRepository[] {
  return Array.from({ length: count }, (_, index) => ({ ...failed(`error ${index + 1}`), rowNumber: index + 1, path: `acme/r${index + 1}`, outcome, errorCode }));
}

function withFailed(failedCount: number): ReportSummary {
  return { ...SUMMARY, aggregates: { ...SUMMARY.aggregates, failed: failedCount } };
}

describe('renderTextReport with many failures', () => {
  it('lists the first 100 failed rows, then says how many more there are and where they are', () => {
    const rows = failedRows(120, 'clone_failed', 'repository_not_found');

    const lines = renderTextReport(withFailed(250), { first: rows, codes: [] }).trimEnd().split('\n');

    expect(lines.filter((line) => /^\d+ +clone_failed /.test(line))).toHaveLength(100);
    expect(lines.some((line) => line.endsWith('git.test/acme/r100@main'))).toBe(true);
    expect(lines.some((line) => line.endsWith('git.test/acme/r101@main'))).toBe(false);
    expect(lines.at(-1)).toBe('… and 150 more failed repositories (250 in all): --format csv or --format json lists every one, --failed-csv F writes them as a repos.csv to rerun');
  });

  it('shows the failed rows per outcome and error code above them, and folds the rarest into one line', () => {
    const codes = Array.from({ length: 17 }, (_, index) => ({ outcome: 'build_failed' as const, errorCode: `build_exit_${index + 1}`, count: 100 - index }));

    const lines = renderTextReport(withFailed(1600), { first: failedRows(1, 'build_failed', 'build_exit_1'), codes: [{ outcome: 'invalid', errorCode: null, count: 200 }, ...codes] }).split('\n');

    const start = lines.indexOf('failed by error code');
    expect(lines.slice(start, start + 3)).toEqual(['failed by error code', '    200  invalid         -', '    100  build_failed    build_exit_1']);
    expect(lines[start + 16]).toBe('    255  (3 other error codes)');
  });

  it('widens the error code column to the longest code, so the repositories stay aligned', () => {
    const rows = [{ ...failed('x'), rowNumber: 1, errorCode: 'git_repository_not_found' }, { ...failed('y'), rowNumber: 2, errorCode: 'git_network', path: 'acme/other' }];

    const lines = renderTextReport(withFailed(2), { first: rows, codes: [] }).split('\n');

    const header = lines.find((line) => line.startsWith('row '));
    const repoColumn = header?.indexOf('repository');
    expect(lines.find((line) => line.startsWith('1 '))?.indexOf('git.test/acme/gone')).toBe(repoColumn);
    expect(lines.find((line) => line.startsWith('2 '))?.indexOf('git.test/acme/other')).toBe(repoColumn);
  });

  it('names the trigger once when the mode repeats it, and both otherwise', () => {
    const scheduled = { ...SUMMARY, run: { ...SUMMARY.run, trigger: 'schedule', mode: 'array' } };

    const lines = [renderTextReport(SUMMARY, { first: [], codes: [] }), renderTextReport(scheduled, { first: [], codes: [] })].map((text) => text.split('\n')[0]);

    expect(lines).toEqual(['Run r1 (process) started 2025-01-01T00:00:00.000Z', 'Run r1 (schedule, array mode) started 2025-01-01T00:00:00.000Z']);
  });
});

describe('renderTextReport with an invalid row named across lines', () => {
  it('shows the repository of a row whose branch holds a newline and a tab on its own line, the breaks visible', () => {
    const invalid: ReportRepository = {
      ...failed('Row 7: branch "main\n9      published" is not a valid git branch name'),
      outcome: 'invalid', errorCode: 'invalid_branch', branch: 'main\n9      published\tx',
    };

    const lines = renderTextReport(SUMMARY, { first: [invalid], codes: [] }).trimEnd().split('\n');

    expect(lines.filter((line) => /^\d/.test(line))).toEqual(['7      invalid         invalid_branch git.test/acme/gone@main\\n9      published\\tx']);
  });
});
