import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChromium, type OpenedReport } from '../harness/chromium.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import type { Database } from '../../src/results/database.js';
import { renderHtmlReport } from '../../src/report/html-report.js';
import type { OutcomeCounts, PartitionSpan, ReportSummary } from '../../src/report/model.js';

/**
 * The HTML page of a large, untidy run (every outcome, eight builders, long repository paths,
 * branches and error text, s3:// logs, 24 partitions, five runs of trend) in headless Chromium at
 * the widths people read it at: a wide and a narrow desktop window, a tablet and a phone.
 */
const START = Date.parse('2026-11-27T01:00:00Z');
const COUNTS: OutcomeCounts = { published: 254, unchanged: 184, invalid: 11, clone_failed: 24, no_build_tool: 33, build_failed: 56, timed_out: 18, publish_failed: 3, aborted: 10, crashed: 7 };
const LONG_ORG = 'acme-corporation-internal-platform-engineering';
const LONG_REPO = (n: number) => `cluster-api-provider-aws-experimental-migration-tooling-${n}`;
const LONG_BRANCH = 'release/2026.11-long-lived-maintenance-branch';
const S3_LOG = (n: number) => `s3://acme-mass-ingest-artifacts/logs/nightly-2026-11-28/github.com/${LONG_ORG}/${LONG_REPO(n)}/build.log`;
const MAVEN_ERROR = `[ERROR] Failed to execute goal org.apache.maven.plugins:maven-compiler-plugin:3.11.0:compile (default-compile) on project ${LONG_REPO(1)}: Compilation failure\n[ERROR] /work/src/main/java/io/example/VeryLongClassNameForTheMigrationTooling.java:[42,17] cannot find symbol`;
const FAILED_ROWS = Array.from({ length: 40 }, (_, index) => {
  const outcome = ['build_failed', 'timed_out', 'clone_failed', 'invalid', 'publish_failed', 'aborted', 'crashed'][index % 7]!;
  return { row_number: index * 7 + 3, origin: 'github.com', path: `${LONG_ORG}/${LONG_REPO(index)}`, branch: LONG_BRANCH, outcome, error_code: `${outcome}_code_for_a_long_name`, message: MAVEN_ERROR, log_url: S3_LOG(index) };
});
const BOUNDS = [0, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600].map((seconds) => seconds * 1000);
const scaled = (share: number): OutcomeCounts => Object.fromEntries(Object.entries(COUNTS).map(([outcome, n]) => [outcome, Math.round(n * share)]));
const span = (partition: number): PartitionSpan => ({
  partition, startRow: partition * 25 + 1, endRow: partition * 25 + 25, status: partition === 3 ? 'failed' : partition === 23 ? 'running' : 'succeeded', updatedAt: START + 5_000_000,
  startedAt: START + 60_000 + (partition % 10) * 20_000 + Math.floor(partition / 10) * 900_000, finishedAt: START + 1_500_000 + partition * 90_000, repositories: 25, failed: 5,
});
const SUMMARY: ReportSummary = {
  run: { id: 'nightly-2026-11-28', trigger: 'schedule', mode: 'array', inventoryUri: 's3://acme-mass-ingest-inventories/production/repositories-2026-11.csv', inventorySha256: 'a3df8d64a12449195c3e374d1e4dbd7f43fec3aaa8460afdb453784ce87e8e', inventoryRows: 600, partitionSize: 25, partitions: 24, createdAt: '2026-11-27T01:00:00.000Z', finishedAt: null },
  counts: COUNTS,
  aggregates: {
    total: 600,
    failed: 129,
    wall: { startedAt: START, finishedAt: null, firstResultAt: START + 60_000, lastResultAt: START + 4_680_000, wallMs: 4_680_000 },
    durations: {
      histogram: BOUNDS.map((fromMs, index) => ({ fromMs, toMs: BOUNDS[index + 1] ?? null, counts: index === 13 ? {} : scaled(1 / 13) })),
      percentiles: { all: { count: 589, p50: 70_000, p90: 487_000, p99: 1_800_000, max: 1_800_000 }, built: { count: 338, p50: 98_000, p90: 546_000, p99: 1_800_000, max: 1_800_000 } },
    },
    builders: [null, 'cargo', 'pip', 'gradle', 'go', 'maven', 'make', 'npm'].map((builder) => ({ builder, total: 75, counts: scaled(1 / 8) })),
    slowest: Array.from({ length: 20 }, (_, index) => ({ rowNumber: index * 29 + 7, origin: 'github.com', path: `${LONG_ORG}/${LONG_REPO(index)}`, branch: LONG_BRANCH, outcome: 'timed_out' as const, builder: 'maven', durationMs: 1_800_000 - index, logUrl: S3_LOG(index) })),
    partitions: { statuses: { succeeded: 22, failed: 1, running: 1 }, timeline: Array.from({ length: 24 }, (_, partition) => span(partition)) },
    trend: [1, 2, 3, 4, 5].map((day) => ({ runId: `nightly-2026-11-2${3 + day}`, trigger: 'schedule', createdAt: START - (5 - day) * 86_400_000, finishedAt: null, wallMs: 3_600_000 + day * 300_000, total: 600, published: 250, unchanged: 180, failed: 129 })),
  },
};

/** A database whose one query the page makes (its failed rows) answers FAILED_ROWS. */
const FAILURES_DATABASE: Database = {
  kind: 'pglite',
  query: async <Row>() => ({ rows: FAILED_ROWS as Row[] }),
  session: () => Promise.reject(new Error('not used')),
  close: async () => undefined,
};

/**
 * What the page looks like to a reader, measured in the browser: horizontal scroll of the page;
 * each chart's canvas against its box and card; the texts ECharts drew (its rendered display list:
 * axis labels and names, bar labels) that overlap one another, lie on a bar or leave the canvas;
 * HTML legends below the top of their canvas; and how long the Outcomes chart's longest bar is.
 * Texts are compared as rotated rectangles (separating axes), each as tall as its font.
 */
const PROBE = `(() => {
  const corners = (el) => {
    const box = el.getBoundingRect();
    const size = el.type === 'tspan' ? Number((/([\\d.]+)px/.exec(el.style.font || '') || [0, 12])[1]) : box.height;
    const r = { x: box.x, y: box.y + box.height / 2 - Math.max(box.height, size) / 2, width: box.width, height: Math.max(box.height, size) };
    const m = el.getComputedTransform() || [1, 0, 0, 1, 0, 0];
    return [[r.x, r.y], [r.x + r.width, r.y], [r.x + r.width, r.y + r.height], [r.x, r.y + r.height]].map(([x, y]) => [m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]]);
  };
  // Apart when some edge's normal separates them by more than a pixel's overlap.
  const apart = (p, q) => [p, q].some((poly) => poly.some((a, i) => {
    const b = poly[(i + 1) % 4], axis = [a[1] - b[1], b[0] - a[0]], length = Math.hypot(axis[0], axis[1]) || 1;
    const s = p.map(([x, y]) => x * axis[0] + y * axis[1]), t = q.map(([x, y]) => x * axis[0] + y * axis[1]);
    return Math.min(...s) >= Math.max(...t) - length || Math.min(...t) >= Math.max(...s) - length;
  }));
  const within = (inner, outer) => inner.left >= outer.left - 0.5 && inner.right <= outer.right + 0.5 && inner.top >= outer.top - 0.5 && inner.bottom <= outer.bottom + 0.5;
  const charts = [...document.querySelectorAll('.chart')].map((node) => {
    const chart = echarts.getInstanceByDom(node), canvas = node.querySelector('canvas');
    const box = node.getBoundingClientRect(), drawn = canvas.getBoundingClientRect(), card = node.closest('section').getBoundingClientRect();
    const list = chart.getZr().storage.getDisplayList(true).filter((el) => !el.ignore && !el.invisible);
    const texts = list.filter((el) => el.type === 'tspan' && el.style.text && el.getBoundingRect().width > 0).map((el) => ({ text: String(el.style.text), poly: corners(el) }));
    // Bars and partition spans: filled rectangles within a plot (not a legend's icons, not a label's frame).
    const inPlot = (poly) => chart.containPixel({ gridIndex: 'all' }, [(poly[0][0] + poly[2][0]) / 2, (poly[0][1] + poly[2][1]) / 2]);
    const bars = list.filter((el) => el.type === 'rect' && el.style.fill && !(el.parent && el.parent.type === 'text')).map(corners).filter(inPlot);
    const overlapping = [];
    texts.forEach((a, i) => texts.slice(i + 1).forEach((b) => { if (!apart(a.poly, b.poly)) overlapping.push(a.text + ' / ' + b.text); }));
    const legend = node.previousElementSibling && node.previousElementSibling.classList.contains('legend') ? node.previousElementSibling.getBoundingClientRect() : null;
    return {
      id: node.id,
      canvasFits: Math.abs(drawn.width - box.width) < 1 && within(drawn, box) && within(box, card),
      overlapping,
      onBars: texts.filter((t) => bars.some((bar) => !apart(t.poly, bar))).map((t) => t.text),
      outside: texts.filter((t) => t.poly.some(([x, y]) => x < -1 || y < -1 || x > box.width + 1 || y > box.height + 1)).map((t) => t.text),
      legendAbove: legend === null || legend.bottom <= drawn.top,
    };
  });
  const outcomes = echarts.getInstanceByDom(document.getElementById('chart-outcomes'));
  const longest = Math.max(...outcomes.getOption().series[0].data.map((d) => d.value));
  const bar = outcomes.convertToPixel({ xAxisIndex: 0 }, longest) - outcomes.convertToPixel({ xAxisIndex: 0 }, 0);
  return { pageScrolls: document.documentElement.scrollWidth > window.innerWidth, charts, longestBarShare: bar / outcomes.getWidth() };
})()`;

interface Layout {
  pageScrolls: boolean;
  charts: Array<{ id: string; canvasFits: boolean; overlapping: string[]; onBars: string[]; outside: string[]; legendAbove: boolean }>;
  longestBarShare: number;
}

const CHART_IDS = ['chart-outcomes', 'chart-builders', 'chart-histogram', 'chart-timeline', 'chart-trend'];
const READABLE = CHART_IDS.map((id) => ({ id, canvasFits: true, overlapping: [], onBars: [], outside: [], legendAbove: true }));

let tmp: TempDir;
let file: string;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-html-layout-');
  file = path.join(tmp.path, 'report.html');
  await fs.writeFile(file, await renderHtmlReport(FAILURES_DATABASE, SUMMARY, new Date(START + 7_200_000)));
}, 60_000);

afterAll(async () => {
  await tmp?.remove();
});

async function measure(report: OpenedReport): Promise<Layout> {
  // Charts follow their box on the next frames (a ResizeObserver): two frames, then measure.
  await report.page.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))');
  return (await report.page.evaluate(PROBE)) as Layout;
}

/** No sideways scroll, every chart inside its card with its text clear, the Outcomes bars wide enough to read. */
function expectReadable(layout: Layout): void {
  expect(layout.pageScrolls).toBe(false);
  expect(layout.charts).toEqual(READABLE);
  expect(layout.longestBarShare).toBeGreaterThan(1 / 3);
}

describe('the HTML report page at the widths it is read at', () => {
  it.each([1440, 1120, 900, 390])('at %i px wide: no sideways scroll, every chart inside its card, no chart text over another or over a bar', async (width) => {
    const chromium = await startChromium({ width, height: 900 });
    try {
      const report = await chromium.open(file);

      const layout = await measure(report);

      expect(report.errors).toEqual([]);
      expectReadable(layout);
    } finally {
      await chromium.close();
    }
  }, 60_000);

  it('redraws its charts for the new width when the window narrows from a desktop to a phone', async () => {
    const chromium = await startChromium({ width: 1440, height: 900 });
    try {
      const report = await chromium.open(file);

      await report.page.setViewportSize({ width: 390, height: 800 });
      const layout = await measure(report);

      expectReadable(layout);
    } finally {
      await chromium.close();
    }
  }, 60_000);

  it('hides and shows a series from its legend entry, a button', async () => {
    const chromium = await startChromium({ width: 1120, height: 900 });
    try {
      const report = await chromium.open(file);
      const selected = `echarts.getInstanceByDom(document.getElementById('chart-builders')).getOption().legend[0].selected`;

      await report.page.getByRole('group', { name: /^Legend/ }).first().getByRole('button', { name: 'unchanged' }).click();
      const hidden = (await report.page.evaluate(selected)) as Record<string, boolean>;
      const pressed = await report.page.locator('#builders .legend button', { hasText: 'unchanged' }).getAttribute('aria-pressed');

      expect(Object.keys(hidden)).toContain('published');
      expect(Object.entries(hidden).filter(([, shown]) => !shown)).toEqual([['unchanged', false]]);
      expect(pressed).toBe('false');
    } finally {
      await chromium.close();
    }
  }, 60_000);
});
