import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChromium, type ChromiumSession, type OpenedReport } from '../harness/chromium.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import type { Database } from '../../src/results/database.js';
import { OUTCOMES } from '../../src/results/outcome.js';
import { renderHtmlReport } from '../../src/report/html-report.js';
import type { ReportSummary } from '../../src/report/model.js';

/**
 * The HTML page itself in headless Chromium, over a run's numbers given inline and a database
 * that answers the failures query with fixed rows (no CLI, no real database: a few seconds).
 */
const S3_LOG = (n: number) => `s3://my-company-artifacts-bucket/mass-ingest/nightly/github.com/acme/repo-${n}/${'0123456789'.repeat(4)}/build.log`;
const FAILED_ROWS = [
  { row_number: 1, origin: 'github.com', path: 'acme/zeta', branch: 'main', outcome: 'build_failed', error_code: 'build_exit_2', message: 'error: zeta', log_url: S3_LOG(1) },
  { row_number: 2, origin: 'github.com', path: 'acme/alpha', branch: 'main', outcome: 'clone_failed', error_code: 'constructor', message: 'fatal: gone', log_url: null },
  { row_number: 3, origin: 'github.com', path: 'acme/mid', branch: 'main', outcome: 'publish_failed', error_code: '__proto__', message: 'HTTP 503', log_url: S3_LOG(3) },
  { row_number: 4, origin: 'github.com', path: 'acme/beta', branch: 'main', outcome: 'timed_out', error_code: 'build_timeout', message: 'timed out', log_url: S3_LOG(4) },
  { row_number: 5, origin: 'github.com', path: 'acme/gamma', branch: 'main', outcome: 'invalid', error_code: 'unknown_scheme', message: 'Row 5', log_url: null },
];
const COUNTS = { published: 1, unchanged: 1, no_build_tool: 1, invalid: 1, clone_failed: 1, build_failed: 1, timed_out: 1, publish_failed: 1, aborted: 1, crashed: 1 };
const START = Date.parse('2026-11-01T00:00:00Z');

const SUMMARY: ReportSummary = {
  run: { id: 'nightly', trigger: 'schedule', mode: 'array', inventoryUri: 's3://inventories/repos.csv', inventorySha256: null, inventoryRows: 10, partitionSize: 10, partitions: 1, createdAt: '2026-11-01T00:00:00.000Z', finishedAt: '2026-11-01T00:10:00.000Z' },
  counts: COUNTS,
  aggregates: {
    total: 10,
    failed: 7,
    wall: { startedAt: START, finishedAt: START + 600_000, firstResultAt: START, lastResultAt: START + 600_000, wallMs: 600_000 },
    durations: { histogram: [{ fromMs: 0, toMs: 1000, counts: COUNTS }, { fromMs: 1000, toMs: null, counts: {} }], percentiles: { all: { count: 9, p50: 500, p90: 900, p99: 990, max: 1000 }, built: { count: 0, p50: null, p90: null, p99: null, max: null } } },
    builders: [{ builder: 'make', total: 10, counts: COUNTS }],
    slowest: [{ rowNumber: 1, origin: 'github.com', path: 'acme/zeta', branch: 'main', outcome: 'build_failed', builder: 'make', durationMs: 1000, logUrl: S3_LOG(1) }],
    partitions: { statuses: { succeeded: 1 }, timeline: [{ partition: 0, startRow: 1, endRow: 10, status: 'succeeded', updatedAt: START + 600_000, startedAt: START, finishedAt: START + 600_000, repositories: 10, failed: 7 }] },
    trend: [{ runId: 'nightly', trigger: 'schedule', createdAt: START, finishedAt: START + 600_000, wallMs: 600_000, total: 10, published: 1, unchanged: 1, failed: 7 }],
  },
};

/** A database whose one query the page makes (its failed rows) answers `rows`. */
function failuresDatabase(rows: ReadonlyArray<Record<string, unknown>>): Database {
  return {
    kind: 'pglite',
    query: async <Row>() => ({ rows: rows as Row[] }),
    session: () => Promise.reject(new Error('not used')),
    close: async () => undefined,
  };
}

let tmp: TempDir;
let chromium: ChromiumSession;
let report: OpenedReport;

async function openReport(name: string, rows: ReadonlyArray<Record<string, unknown>>, summary = SUMMARY): Promise<OpenedReport> {
  const file = path.join(tmp.path, `${name}.html`);
  await fs.writeFile(file, await renderHtmlReport(failuresDatabase(rows), summary, new Date(START)));
  return chromium.open(file);
}

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-html-page-');
  chromium = await startChromium();
  report = await openReport('report', FAILED_ROWS);
}, 120_000);

afterAll(async () => {
  await chromium?.close();
  await tmp?.remove();
});

const failureRows = () => report.page.locator('#failures-body tr td:nth-child(1)').allTextContents();

describe('the HTML report page', () => {
  it('opens with no console error and no request but the file itself', () => {
    expect(report.errors).toEqual([]);
    expect(report.requests).toHaveLength(1);
  });

  it('keeps its tables within the window when log URLs cannot be links (s3://)', async () => {
    const { page, window } = (await report.page.evaluate('({ page: document.documentElement.scrollWidth, window: window.innerWidth })')) as { page: number; window: number };

    expect(page).toBe(window);
  });

  it('sorts the failures table from the keyboard', async () => {
    let focused = '';
    for (let tab = 0; tab < 20 && focused !== 'repo'; tab++) {
      await report.page.keyboard.press('Tab');
      focused = (await report.page.evaluate("document.activeElement.closest('th[data-sort]')?.dataset.sort ?? ''")) as string;
    }

    await report.page.keyboard.press('Enter');
    const sorted = await failureRows();
    await report.page.click('#failures-table th[data-sort=row]');

    expect(focused).toBe('repo');
    expect(sorted).toEqual(['2', '4', '5', '3', '1']);
  });

  it('announces how many failures a filter leaves as a status, for screen readers', async () => {
    await report.page.selectOption('#filter-outcome', 'timed_out');
    const status = await report.page.getByRole('status').textContent();
    await report.page.selectOption('#filter-outcome', '');

    expect(status).toBe('Showing 1–1 of 1 (filtered from 5)');
  });

  it('counts every error code in its filter, whatever its name', async () => {
    const options = await report.page.locator('#filter-code option').allTextContents();

    expect(options.sort()).toEqual(['__proto__ (1)', 'all error codes (5)', 'build_exit_2 (1)', 'build_timeout (1)', 'constructor (1)', 'unknown_scheme (1)']);
  });

  it('writes each outcome badge with text contrast of at least 4.5:1 (WCAG AA)', async () => {
    const contrasts = await report.page.evaluate(`(() => {
      const luminance = (rgb) => {
        const [r, g, b] = rgb.match(/\\d+/g).slice(0, 3).map((v) => v / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      return Object.fromEntries([...document.querySelectorAll('#counts-body .badge')].map((badge) => {
        const style = getComputedStyle(badge);
        const [light, dark] = [luminance(style.color), luminance(style.backgroundColor)].sort((a, b) => b - a);
        return [badge.textContent, Math.round(((light + 0.05) / (dark + 0.05)) * 100) / 100];
      }));
    })()`) as Record<string, number>;

    expect(Object.keys(contrasts)).toEqual([...OUTCOMES]);
    expect(Object.entries(contrasts).filter(([, contrast]) => contrast < 4.5)).toEqual([]);
  });

  it("stacks each run's bar to its total: published, unchanged, failed and the other outcomes", async () => {
    const series = (await report.page.evaluate(`(() => {
      const chart = echarts.getInstanceByDom(document.getElementById('chart-trend'));
      return chart.getOption().series.filter((s) => s.type === 'bar').map((s) => [s.name, s.data]);
    })()`)) as Array<[string, number[]]>;

    expect(series).toEqual([['published', [1]], ['unchanged', [1]], ['failed', [7]], ['other', [1]]]);
  });

  it('names every chart for screen readers', async () => {
    const charts = await report.page.getByRole('img').evaluateAll((nodes) => nodes.map((node) => [node.id, (node.getAttribute('aria-label') ?? '').length > 0]));

    expect(charts).toEqual(['chart-outcomes', 'chart-builders', 'chart-histogram', 'chart-timeline', 'chart-trend'].map((id) => [id, true]));
  });

  it('prints every chart within the width of its card, and the outcome badges in their colours', async () => {
    await report.page.emulateMedia({ media: 'print' });
    // Paper is narrower than the window, and printing resizes no chart: only the stylesheet can fit them.
    await report.page.evaluate("document.body.style.width = '700px'");
    const overflowing = await report.page.evaluate(`[...document.querySelectorAll('.chart')].filter((chart) => {
      const canvas = chart.querySelector('canvas').getBoundingClientRect();
      const card = chart.closest('section').getBoundingClientRect();
      return canvas.width === 0 || canvas.right > card.right || canvas.bottom > card.bottom;
    }).map((chart) => chart.id)`);
    const badgeColours = await report.page.evaluate("getComputedStyle(document.querySelector('.badge')).printColorAdjust");
    await report.page.evaluate("document.body.style.width = ''");
    await report.page.emulateMedia({ media: 'screen' });

    expect(overflowing).toEqual([]);
    expect(badgeColours).toBe('exact');
  });
});

describe('the HTML report page over 250 failures', () => {
  it('keeps the first row shown on the page when the page size changes', async () => {
    const rows = Array.from({ length: 250 }, (_, index) => ({ ...FAILED_ROWS[0], row_number: index + 1, path: `acme/r${index + 1}` }));
    const many = await openReport('many', rows, { ...SUMMARY, aggregates: { ...SUMMARY.aggregates, failed: 250 } });
    await many.page.selectOption('#failures-size', '50');
    await many.page.click('#failures-next');
    await many.page.click('#failures-next');
    const before = await many.page.getByRole('status').textContent();

    await many.page.selectOption('#failures-size', '100');

    expect(before).toBe('Showing 101–150 of 250');
    expect(await many.page.getByRole('status').textContent()).toBe('Showing 101–200 of 250');
  });
});
