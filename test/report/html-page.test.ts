import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChromium, type ChromiumSession, type OpenedReport } from '../harness/chromium.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import type { Database } from '../../src/results/database.js';
import { OUTCOMES } from '../../src/results/outcome.js';
import { renderHtmlReport } from '../../src/report/html-report.js';
import type { PartitionSpan, ReportSummary } from '../../src/report/model.js';
import { OUTCOME_COLORS, STATUS_COLORS } from '../../src/report/palette.js';

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
    // From the failures' first control: the chart legends' buttons come before it.
    await report.page.focus('#filter-outcome');
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

  it('draws each outcome in its palette colour, in the chart as on the badges', async () => {
    const colours = (await report.page.evaluate(`(() => {
      const chart = echarts.getInstanceByDom(document.getElementById('chart-outcomes'));
      const bars = Object.fromEntries(chart.getOption().series[0].data.map((d) => [d.name, d.itemStyle.color]));
      const badges = Object.fromEntries([...document.querySelectorAll('#counts-body .badge')].map((b) => [b.textContent, b.style.backgroundColor]));
      return { bars, badges };
    })()`)) as { bars: Record<string, string>; badges: Record<string, string> };
    const rgb = (hex: string) => `rgb(${[1, 3, 5].map((at) => Number.parseInt(hex.slice(at, at + 2), 16)).join(', ')})`;

    expect(colours.bars).toEqual(OUTCOME_COLORS);
    expect(colours.badges).toEqual(Object.fromEntries(Object.entries(OUTCOME_COLORS).map(([outcome, hex]) => [outcome, rgb(hex)])));
  });

  it('says which browsers can show the failures when this one cannot unpack them, and draws the rest', async () => {
    const page = await report.page.context().newPage();
    await page.addInitScript('delete window.DecompressionStream');

    await page.goto(report.page.url());
    await page.waitForSelector('html[data-ready=true]', { state: 'attached' });
    const note = await page.textContent('#failures-note');
    const canvases = await page.locator('.chart canvas').count();
    await page.close();

    expect(note).toBe('The failures could not be shown: this browser cannot unpack the list (it has no DecompressionStream: use Chrome or Edge 80, Firefox 113, Safari 16.4 or later); the same rows are in report --format json');
    expect(canvases).toBe(5);
  });

  it('says the embedded failures are damaged, without naming a request, when the packed data was cut short or altered, and draws the rest', async () => {
    const html = await renderHtmlReport(failuresDatabase(FAILED_ROWS), SUMMARY, new Date(START));
    const packed = /"failures":"([A-Za-z0-9+/=]+)"/.exec(html)?.[1] ?? '';
    const damaged = { cut: packed.slice(0, -12), altered: `${packed.slice(0, 20)}${packed[20] === 'A' ? 'B' : 'A'}${packed.slice(21)}`, notBase64: '!!!!' };
    const notes: Record<string, unknown> = {};

    for (const [name, replacement] of Object.entries(damaged)) {
      await fs.writeFile(path.join(tmp.path, `damaged-${name}.html`), html.replace(packed, replacement));
      const opened = await chromium.open(path.join(tmp.path, `damaged-${name}.html`));
      notes[name] = [await opened.page.textContent('#failures-note'), await opened.page.locator('.chart canvas').count(), opened.requests.length];
    }

    const note = 'The failures could not be shown: the list embedded in this file is damaged (cut short or altered after it was written); the same rows are in report --format json';
    expect(packed.length).toBeGreaterThan(100);
    expect(notes).toEqual({ cut: [note, 5, 1], altered: [note, 5, 1], notBase64: [note, 5, 1] });
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

describe('the HTML report page of a run with no results', () => {
  const EMPTY: ReportSummary = {
    run: { ...SUMMARY.run, id: 'planned-only', inventoryRows: 0, partitions: 0, finishedAt: null },
    counts: Object.fromEntries(OUTCOMES.map((outcome) => [outcome, 0])),
    aggregates: {
      total: 0,
      failed: 0,
      wall: { startedAt: START, finishedAt: null, firstResultAt: null, lastResultAt: null, wallMs: null },
      durations: {
        histogram: [{ fromMs: 0, toMs: 1000, counts: {} }, { fromMs: 1000, toMs: null, counts: {} }],
        percentiles: { all: { count: 0, p50: null, p90: null, p99: null, max: null }, built: { count: 0, p50: null, p90: null, p99: null, max: null } },
      },
      builders: [],
      slowest: [],
      partitions: { statuses: {}, timeline: [] },
      trend: [{ runId: 'planned-only', trigger: 'schedule', createdAt: START, finishedAt: null, wallMs: null, total: 0, published: 0, unchanged: 0, failed: 0 }],
    },
  };

  it('says that no results were recorded, in place of every chart, and draws no empty axes', async () => {
    const empty = await openReport('empty', [], EMPTY);

    const shown = (await empty.page.evaluate(`({
      banner: document.getElementById('run-empty').hidden ? null : document.getElementById('run-empty').textContent,
      charts: ['chart-outcomes', 'chart-builders', 'chart-histogram', 'chart-timeline', 'chart-trend'].map((id) => document.getElementById(id).textContent),
      canvases: document.querySelectorAll('canvas').length,
      failures: document.getElementById('failures-note').textContent,
      controlsShown: [...document.querySelectorAll('#failures .controls, #failures-table, #failures .pager')].filter((node) => node.getBoundingClientRect().height > 0).length,
      images: document.querySelectorAll('[role=img]').length,
    })`)) as Record<string, unknown>;

    expect(empty.errors).toEqual([]);
    expect(shown).toEqual({
      banner: 'No results recorded for this run. There are no outcomes, durations or failures to show; the partitions and the trend of earlier runs are below.',
      charts: [...Array(4).fill('No results recorded for this run.'), 'No results recorded for this run or the runs before it.'],
      canvases: 0,
      failures: 'No results recorded for this run.',
      controlsShown: 0,
      images: 0,
    });
  });

  it('keeps the trend of earlier runs that have results', async () => {
    const earlier = { runId: 'earlier', trigger: 'schedule', createdAt: START - 86_400_000, finishedAt: START - 80_000_000, wallMs: 6_400_000, total: 10, published: 9, unchanged: 0, failed: 1 };
    const empty = await openReport('empty-with-history', [], { ...EMPTY, aggregates: { ...EMPTY.aggregates, trend: [earlier, ...EMPTY.aggregates.trend] } });

    const canvases = await empty.page.evaluate(`[...document.querySelectorAll('.chart canvas')].map((canvas) => canvas.closest('.chart').id)`);

    expect(empty.errors).toEqual([]);
    expect(canvases).toEqual(['chart-trend']);
  });
});

describe('the partition timeline', () => {
  const span = (partition: number, status: string | null, failed: number): PartitionSpan => ({
    partition, startRow: partition * 10 + 1, endRow: partition * 10 + 10, status, updatedAt: START + 600_000,
    startedAt: START + partition * 1000, finishedAt: START + 300_000 + partition * 1000, repositories: 10, failed,
  });

  it("colours each partition by its status, named in the chart's legend, whatever share of its repositories failed", async () => {
    const timeline = [span(0, 'succeeded', 3), span(1, 'succeeded', 0), span(2, 'failed', 10), span(3, 'running', 1), span(4, null, 2)];
    const opened = await openReport('timeline', FAILED_ROWS, { ...SUMMARY, aggregates: { ...SUMMARY.aggregates, partitions: { statuses: { succeeded: 2, failed: 1, running: 1, unrecorded: 1 }, timeline } } });

    const option = (await opened.page.evaluate(`(() => {
      const option = echarts.getInstanceByDom(document.getElementById('chart-timeline')).getOption();
      return { legend: option.legend[0].data, bars: option.series.filter((s) => s.type === 'custom').map((s) => [s.name, s.itemStyle.color, s.data.map((d) => d[0])]) };
    })()`)) as { legend: string[]; bars: Array<[string, string, number[]]> };

    expect(opened.errors).toEqual([]);
    expect(option.legend).toEqual(['succeeded', 'failed', 'running', 'unrecorded']);
    expect(option.bars).toEqual([
      ['succeeded', STATUS_COLORS.succeeded, [0, 1]],
      ['failed', STATUS_COLORS.failed, [2]],
      ['running', STATUS_COLORS.running, [3]],
      ['unrecorded', STATUS_COLORS.unrecorded, [4]],
    ]);
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

describe('the HTML report page over rows recorded with nothing but their outcome', () => {
  it('lists a failed row whose repository, branch, error and log are all missing, and a partition that never started, without a script error', async () => {
    const bare = [{ row_number: 9, origin: null, path: null, branch: null, outcome: 'crashed', error_code: null, message: null, log_url: null }];
    const unstarted: PartitionSpan = { partition: 1, startRow: 11, endRow: 20, status: 'planned', updatedAt: START, startedAt: null, finishedAt: null, repositories: 0, failed: 0 };
    const timeline = [...SUMMARY.aggregates.partitions.timeline, unstarted];
    const opened = await openReport('bare', bare, { ...SUMMARY, aggregates: { ...SUMMARY.aggregates, failed: 1, partitions: { statuses: { succeeded: 1, planned: 1 }, timeline } } });

    const cells = await opened.page.locator('#failures-body tr').first().locator('td').allTextContents();

    expect(opened.errors).toEqual([]);
    expect(cells[0]).toBe('9');
    expect(cells[2]).toBe('crashed');
  });
});
