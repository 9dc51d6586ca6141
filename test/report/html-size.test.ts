import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChromium, type ChromiumSession, type OpenedReport } from '../harness/chromium.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import type { Database } from '../../src/results/database.js';
import { renderHtmlReport } from '../../src/report/html-report.js';
import type { ReportSummary } from '../../src/report/model.js';

/**
 * The worst case for the page's size: 100,000 repositories, every one failed with an error of
 * its own (a compiler error naming its own file, a clone error naming its own URL), each with
 * its own build log. The database is a fake that answers the failures query with these rows.
 */
const ROWS = 100_000;
const MiB = 1024 * 1024;
const START = Date.parse('2026-11-01T00:00:00Z');
const hex = (n: number, length: number) => (n * 2654435761 % 2 ** 32).toString(16).padStart(8, '0').repeat(6).slice(0, length);

function failedRow(n: number): Record<string, unknown> {
  const path = `org${n % 5000}/repo-${n}`;
  if (n % 10 === 3) {
    return { row_number: n, origin: 'github.com', path, branch: 'main', outcome: 'clone_failed', error_code: 'git_repository_not_found', message: `fatal: repository 'https://github.com/${path}.git/' not found`, log_url: null };
  }
  if (n % 10 === 7) {
    return { row_number: n, origin: 'github.com', path, branch: 'main', outcome: 'timed_out', error_code: 'build_timeout', message: `Running tests ${hex(n, 12)}\n[mass-ingest] build timed out after 1800 s; process group killed`, log_url: logOf(n) };
  }
  const message = `[INFO] Compiling ${n % 700} source files\n[ERROR] ${hex(n, 10)}.java:[${n % 400},17] cannot find symbol\n[ERROR]   symbol:   class Widget${n % 97}\n[INFO] BUILD FAILURE`;
  return { row_number: n, origin: 'github.com', path, branch: n % 5 === 0 ? 'master' : 'main', outcome: 'build_failed', error_code: 'build_exit_1', message, log_url: logOf(n) };
}

/** 100,000 failures leave 60 characters of each error (failure-query.ts excerptChars). */
const cut = (text: string) => (text.length > 60 ? `${text.slice(0, 59)}…` : text);
const logOf = (n: number) => `https://artifacts.example.com/repo/github.com/org${n % 5000}/repo-${n}/${hex(n, 40)}/build.log`;
const ROWS_FAILED = Array.from({ length: ROWS }, (_, index) => failedRow(index + 1));
const COUNTS = { published: 0, unchanged: 0, no_build_tool: 0, invalid: 0, clone_failed: 10_000, build_failed: 80_000, timed_out: 10_000, publish_failed: 0, aborted: 0, crashed: 0 };
const SUMMARY: ReportSummary = {
  run: { id: 'all-failed', trigger: 'schedule', mode: 'array', inventoryUri: 's3://inventories/repos.csv', inventorySha256: null, inventoryRows: ROWS, partitionSize: 50, partitions: 1, createdAt: '2026-11-01T00:00:00.000Z', finishedAt: '2026-11-01T08:00:00.000Z' },
  counts: COUNTS,
  aggregates: {
    total: ROWS,
    failed: ROWS,
    wall: { startedAt: START, finishedAt: START + 28_800_000, firstResultAt: START, lastResultAt: START + 28_800_000, wallMs: 28_800_000 },
    durations: { histogram: [{ fromMs: 0, toMs: null, counts: COUNTS }], percentiles: { all: { count: ROWS, p50: 1000, p90: 2000, p99: 3000, max: 4000 }, built: { count: 90_000, p50: 1000, p90: 2000, p99: 3000, max: 4000 } } },
    builders: [{ builder: 'maven', total: ROWS, counts: COUNTS }],
    slowest: [],
    partitions: { statuses: { succeeded: 1 }, timeline: [{ partition: 0, startRow: 1, endRow: ROWS, status: 'succeeded', updatedAt: START + 28_800_000, startedAt: START, finishedAt: START + 28_800_000, repositories: ROWS, failed: ROWS }] },
    trend: [{ runId: 'all-failed', trigger: 'schedule', createdAt: START, finishedAt: START + 28_800_000, wallMs: 28_800_000, total: ROWS, published: 0, unchanged: 0, failed: ROWS }],
  },
};

const database: Database = {
  kind: 'pglite',
  query: async <Row>() => ({ rows: ROWS_FAILED as Row[] }),
  session: () => Promise.reject(new Error('not used')),
  close: async () => undefined,
};

let tmp: TempDir;
let chromium: ChromiumSession;
let file: string;
let report: OpenedReport;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-html-size-');
  file = path.join(tmp.path, 'report.html');
  await fs.writeFile(file, await renderHtmlReport(database, SUMMARY, new Date(START)));
  chromium = await startChromium();
  report = await chromium.open(file);
}, 180_000);

afterAll(async () => {
  await chromium?.close();
  await tmp?.remove();
});

/** The page's CSP refuses the eval that page.waitForFunction polls with: poll from here (bounded). */
async function filteredUntil(done: (filtered: string | null) => boolean): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (done(await report.page.getAttribute('#failures-table', 'data-filtered'))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the failures table did not apply the filter within 10 s');
}

async function showOnly(text: string): Promise<string[][]> {
  await report.page.fill('#filter-text', text);
  await filteredUntil((filtered) => filtered !== String(ROWS));
  const rows = await report.page.locator('#failures-body tr').evaluateAll((trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.querySelector('a')?.getAttribute('href') ?? td.textContent ?? '')),
  );
  await report.page.fill('#filter-text', '');
  await filteredUntil((filtered) => filtered === String(ROWS));
  return rows;
}

describe('the HTML report of 100,000 failed repositories, each with its own error', () => {
  it('is one file under 8 MiB that opens with no error and no other request', async () => {
    const size = (await fs.stat(file)).size;

    expect(size).toBeLessThan(8 * MiB);
    expect(report.errors).toEqual([]);
    expect(report.requests).toHaveLength(1);
    expect(await report.page.getAttribute('#failures-table', 'data-total')).toBe(String(ROWS));
  });

  it("keeps every repository's own error text and build log, found by the text filter", async () => {
    const build = await showOnly(hex(54_321, 10));
    const clone = await showOnly('repo-77773 @');
    const timedOut = await showOnly('repo-99997 @');

    expect(build).toEqual([['54321', 'github.com/org4321/repo-54321 @ main', 'build_failed', 'build_exit_1', cut(`[ERROR] ${hex(54_321, 10)}.java:[321,17] cannot find symbol\n[ERROR]   symbol:   class Widget${54_321 % 97}`), logOf(54_321)]]);
    expect(clone).toEqual([['77773', 'github.com/org2773/repo-77773 @ main', 'clone_failed', 'git_repository_not_found', cut("fatal: repository 'https://github.com/org2773/repo-77773.git/' not found"), '–']]);
    expect(timedOut).toEqual([['99997', 'github.com/org4997/repo-99997 @ main', 'timed_out', 'build_timeout', cut(`Running tests ${hex(99_997, 12)}\n[mass-ingest] build timed out after 1800 s; process group killed`), logOf(99_997)]]);
  });

  it('filters by outcome and sorts by repository over all of them', async () => {
    await report.page.selectOption('#filter-outcome', 'timed_out');
    const timedOut = await report.page.getAttribute('#failures-table', 'data-filtered');
    await report.page.selectOption('#filter-outcome', '');
    await report.page.click('#failures-table th[data-sort=repo]');
    const first = await report.page.locator('#failures-body tr td:nth-child(2)').first().textContent();
    await report.page.click('#failures-table th[data-sort=row]');

    expect(timedOut).toBe('10000');
    expect(first).toBe('github.com/org0/repo-10000 @ master');
  });
});
