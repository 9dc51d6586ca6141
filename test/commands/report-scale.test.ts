import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertSyntheticRun } from '../../bench/_synthetic-run.js';
import { baseEnv, runCli } from '../harness/cli.js';
import { startChromium, type ChromiumSession } from '../harness/chromium.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { openForAssertions } from './process-fixtures.js';

/** The HTML report of 100,000 results inserted with SQL into a real PostgreSQL. */
const ROWS = 100_000;
const FAILED = ['invalid', 'clone_failed', 'build_failed', 'timed_out', 'publish_failed', 'aborted', 'crashed'];

let tmp: TempDir;
let postgres: PostgresServer;
let chromium: ChromiumSession;
let counts: Record<string, number>;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-report-scale-');
  postgres = await startPostgres();
  const db = await openForAssertions({ dataDir: path.join(tmp.path, 'unused'), databaseUrl: postgres.url });
  try {
    const day = 86_400_000;
    for (let i = 0; i < 3; i++) await insertSyntheticRun(db, `earlier-${i}`, 1000, { createdAt: new Date(Date.now() - (5 - i) * day) });
    await insertSyntheticRun(db, 'scale', ROWS, { createdAt: new Date(Date.now() - day) });
    const { rows } = await db.query<{ outcome: string; n: number }>("SELECT outcome, count(*)::int AS n FROM repository_results WHERE run_id = 'scale' GROUP BY outcome");
    counts = Object.fromEntries(rows.map((row) => [row.outcome, row.n]));
  } finally {
    await db.close();
  }
  chromium = await startChromium();
}, 300_000);

afterAll(async () => {
  await chromium?.close();
  await postgres?.stop();
  await tmp?.remove();
});

describe('mass-ingest report --format html over 100,000 results in PostgreSQL', () => {
  it('renders every count, chart and failure of the run in one file under 8 MiB', async () => {
    const file = path.join(tmp.path, 'report.html');

    const result = await runCli(['report', '--run', 'scale', '--format', 'html', '--out', file], { env: baseEnv({ DATABASE_URL: postgres.url }) });

    expect(result.code).toBe(0);
    expect((await fs.stat(file)).size).toBeLessThan(8 * 1024 * 1024);
    const report = await chromium.open(file);
    const shown = await report.page.evaluate(`Object.fromEntries([...document.querySelectorAll('#counts-body td[data-outcome]')].map((td) => [td.dataset.outcome, Number(td.dataset.count)]))`);
    const canvases = await report.page.evaluate(`[...document.querySelectorAll('.chart canvas')].filter((canvas) => canvas.width > 0 && canvas.height > 0).length`);
    const failures = await report.page.getAttribute('#failures-table', 'data-total');
    await report.page.selectOption('#filter-outcome', 'timed_out');
    const timedOut = await report.page.getAttribute('#failures-table', 'data-filtered');
    const partitions = await report.page.evaluate(`JSON.parse(document.getElementById('report-data').textContent).partitions.rows.length`);

    expect(report.errors).toEqual([]);
    expect(report.requests).toHaveLength(1);
    expect(shown).toEqual(counts);
    expect(Object.values(counts).reduce((sum, n) => sum + n, 0)).toBe(ROWS);
    expect(canvases).toBe(5);
    expect(Number(failures)).toBe(FAILED.reduce((sum, outcome) => sum + (counts[outcome] ?? 0), 0));
    expect(Number(timedOut)).toBe(counts.timed_out);
    expect(partitions).toBe(ROWS / 50);
  });
});
