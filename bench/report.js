// `npm run bench -- report`: the HTML run report at scale. A synthetic run of 100,000 results
// (SQL only, bench/_synthetic-run.js) in the embedded database — or in DATABASE_URL when set —
// then the real CLI: generation time of `report --format html` against `report --format json`
// of the same run (the baseline), the file size (goal ≤ 8 MiB), and the time until the page is
// interactive in headless Chromium (goal ≤ 2 s) against a 100-result report.
// Scenarios: a realistic night (15 % failed) and the worst case (every repository failed).
// Settings by environment: REPORT_BENCH_ROWS (100000), REPORT_BENCH_HISTORY (29 earlier runs
// of REPORT_BENCH_HISTORY_ROWS = 2000 results each, for the trend).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { chromium } from 'playwright-core';
import { insertSyntheticRun } from './_synthetic-run.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist', 'cli.js');
const { openDatabase } = await import(path.join(root, 'dist', 'results', 'database.js'));
const { loadSummary } = await import(path.join(root, 'dist', 'report', 'summary.js'));
const { renderHtmlReport } = await import(path.join(root, 'dist', 'report', 'html-report.js'));
const { repositories } = await import(path.join(root, 'dist', 'results', 'report-queries.js'));
const ROWS = Number(process.env.REPORT_BENCH_ROWS ?? 100_000);
const HISTORY = Number(process.env.REPORT_BENCH_HISTORY ?? 29);
const HISTORY_ROWS = Number(process.env.REPORT_BENCH_HISTORY_ROWS ?? 2000);
const MiB = 1024 * 1024;
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mass-ingest-bench-report-'));
const env = { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', MASS_INGEST_DATA_DIR: path.join(tmp, 'db'), PUBLISH_URL: path.join(tmp, 'artifacts') };
if (process.env.DATABASE_URL) env.DATABASE_URL = process.env.DATABASE_URL;

try {
  const scenarios = [
    { name: 'realistic (15 % failed)', runId: 'bench-realistic', failedShare: 0.15 },
    { name: 'worst case (100 % failed)', runId: 'bench-worst', failedShare: 1 },
  ];
  const suffix = Date.now().toString(36);
  for (const s of scenarios) s.runId = `${s.runId}-${suffix}`;
  const small = { runId: `bench-small-${suffix}` };
  console.log(`database: ${env.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : 'embedded PGlite'}; ${ROWS} results per run, ${HISTORY} earlier runs of ${HISTORY_ROWS}`);
  console.log(`machine: ${os.cpus().length} CPUs, load average ${os.loadavg().map((n) => n.toFixed(1)).join(' ')} (wall times grow with the load; CPU times much less)`);
  const seeded = await seed(scenarios, small);
  console.log(`seeded in ${(seeded / 1000).toFixed(1)} s`);

  const browser = await launchChromium();
  try {
    const baseline = await openReport(browser, generate(small.runId, 'html').file);
    console.log(`\nbaseline page (100 results): interactive after ${baseline.readyMs.toFixed(0)} ms (main-thread CPU ${baseline.cpuMs.toFixed(0)} ms)\n`);
    for (const scenario of scenarios) {
      const inProcess = await generateInProcess(scenario.runId);
      const json = generate(scenario.runId, 'json');
      const html = generate(scenario.runId, 'html');
      const page = await openReport(browser, html.file);
      const size = fs.statSync(html.file).size;
      console.log(scenario.name);
      console.log(`  generation (CLI process, database start included): html ${html.ms.toFixed(0)} ms, json ${json.ms.toFixed(0)} ms (html/json ${(html.ms / json.ms).toFixed(2)}×)`);
      console.log(`  generation in process: aggregates ${inProcess.summaryMs.toFixed(0)} ms, html +${inProcess.htmlMs.toFixed(0)} ms, json rows +${inProcess.jsonMs.toFixed(0)} ms`);
      console.log(`  file size:  ${(size / MiB).toFixed(2)} MiB (goal ≤ 8 MiB: ${size <= 8 * MiB ? 'met' : 'NOT met'}); json report ${(fs.statSync(json.file).size / MiB).toFixed(2)} MiB`);
      console.log(`  interactive in Chromium: ${page.readyMs.toFixed(0)} ms after navigation start (goal ≤ 2000 ms: ${page.readyMs <= 2000 ? 'met' : 'NOT met'}; ${(page.readyMs / baseline.readyMs).toFixed(2)}× the 100-result page)`);
      console.log(`  main-thread CPU until interactive: ${page.cpuMs.toFixed(0)} ms (${(page.cpuMs / baseline.cpuMs).toFixed(2)}× the 100-result page)`);
      console.log(`  filter by outcome over ${page.failures} failures: ${page.filterMs.toFixed(0)} ms; sort by repository: ${page.sortMs.toFixed(0)} ms`);
    }
  } finally {
    await browser.close();
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

async function seed(scenarios, small) {
  const started = performance.now();
  const db = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.MASS_INGEST_DATA_DIR }, pino({ level: 'silent' }));
  try {
    const day = 86_400_000;
    const first = Date.now() - (HISTORY + 3) * day;
    for (let i = 0; i < HISTORY; i++) {
      await insertSyntheticRun(db, `bench-history-${i}-${Date.now().toString(36)}`, HISTORY_ROWS, { createdAt: new Date(first + i * day), failedShare: 0.1 + 0.1 * Math.sin(i) ** 2 });
    }
    await insertSyntheticRun(db, small.runId, 100, { createdAt: new Date(first + HISTORY * day) });
    for (const [index, s] of scenarios.entries()) {
      await insertSyntheticRun(db, s.runId, ROWS, { createdAt: new Date(first + (HISTORY + 1 + index) * day), failedShare: s.failedShare });
    }
    if (db.kind === 'postgres') await db.query('ANALYZE repository_results');
  } finally {
    await db.close();
  }
  return performance.now() - started;
}

async function generateInProcess(runId) {
  const db = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.MASS_INGEST_DATA_DIR }, pino({ level: 'silent' }));
  try {
    let started = performance.now();
    const summary = await loadSummary(db, runId);
    const summaryMs = performance.now() - started;
    started = performance.now();
    await renderHtmlReport(db, summary);
    const htmlMs = performance.now() - started;
    started = performance.now();
    JSON.stringify({ ...summary, repositories: await repositories(db, runId) });
    return { summaryMs, htmlMs, jsonMs: performance.now() - started };
  } finally {
    await db.close();
  }
}

function generate(runId, format) {
  const file = path.join(tmp, `${runId}.${format}`);
  const started = performance.now();
  const result = spawnSync(process.execPath, [cli, 'report', '--run', runId, '--format', format, '--out', file], { env, encoding: 'utf8' });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`report --format ${format} exited ${result.status}: ${result.stderr}`);
  return { file, ms };
}

async function launchChromium() {
  const userDataDir = fs.mkdtempSync(path.join(tmp, 'chromium-'));
  return chromium.launchPersistentContext(userDataDir, { executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 900 } });
}

async function taskDuration(cdp) {
  const { metrics } = await cdp.send('Performance.getMetrics');
  return (metrics.find((metric) => metric.name === 'TaskDuration')?.value ?? 0) * 1000;
}

async function openReport(context, file) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  // Thread ticks: main-thread CPU time, which a busy machine inflates far less than wall time.
  await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
  const before = await taskDuration(cdp);
  const errors = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (err) => errors.push(err.message));
  try {
    await page.goto(`file://${file}`, { waitUntil: 'load', timeout: 120_000 });
    await page.waitForFunction(() => document.documentElement.dataset.ready === 'true', null, { timeout: 120_000 });
    if (errors.length > 0) throw new Error(`the page logged errors: ${errors.join('; ')}`);
    const readyMs = await page.evaluate(() => window.__reportReadyMs);
    const cpuMs = (await taskDuration(cdp)) - before;
    const failures = Number(await page.getAttribute('#failures-table', 'data-total'));
    const filterMs = await page.evaluate(() => {
      const select = document.getElementById('filter-outcome');
      const started = performance.now();
      select.value = select.options[1]?.value ?? '';
      select.dispatchEvent(new Event('change'));
      return performance.now() - started;
    });
    const sortMs = await page.evaluate(() => {
      const started = performance.now();
      document.querySelector('#failures-table th[data-sort=repo]').click();
      return performance.now() - started;
    });
    return { readyMs, cpuMs, failures, filterMs, sortMs };
  } finally {
    await page.close();
  }
}
