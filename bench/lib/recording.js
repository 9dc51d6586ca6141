// Part d of the processor bench: SqlResultStore.recordOutcomes (multi-row unnest upserts, 2,000 per
// statement) against one outcome per call, on a real PostgreSQL 15 and on PGlite, in this process.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { DIST, fmtMs, fmtX, printTable, verdict } from './common.js';

const BATCH_ROWS = 100_000;
const SINGLE_ROWS = 2_000;
const BUFFER_ROWS = 10_000;
const OUTCOME_MIX = ['published', 'published', 'published', 'published', 'published', 'unchanged', 'build_failed', 'clone_failed', 'no_build_tool', 'published'];

/** Realistic outcomes: distinct repositories, 40-hex shas, an artifact list, a failure tail. */
function makeOutcomes(runId, count, set) {
  const startedAt = new Date('2026-01-01T00:00:00Z');
  const outcomes = [];
  for (let row = 1; row <= count; row++) {
    const outcome = OUTCOME_MIX[row % OUTCOME_MIX.length];
    const sha = createHash('sha1').update(`${set}-${row}`).digest('hex');
    const failed = outcome === 'build_failed' || outcome === 'clone_failed';
    outcomes.push({
      runId,
      rowNumber: row,
      origin: 'github.com',
      path: `${set}-${row % 997}/repo-${row}`,
      branch: 'main',
      cloneUrl: `https://github.com/${set}-${row % 997}/repo-${row}.git`,
      outcome,
      commitSha: outcome === 'clone_failed' ? undefined : sha,
      builder: outcome === 'published' || outcome === 'build_failed' ? 'npm' : undefined,
      artifacts: outcome === 'published' ? [{ name: `repo-${row}-1.0.0.tgz`, size: 12_345 + row, sha256: sha.padEnd(64, '0') }] : undefined,
      durationMs: 1000 + (row % 5000),
      errorCode: failed ? (outcome === 'build_failed' ? 'build_exit_1' : 'git_not_found') : undefined,
      errorMessage: failed ? 'npm ERR! code ELIFECYCLE\nnpm ERR! errno 1\nnpm ERR! repo@1.0.0 build: `tsc`\nnpm ERR! Exit status 1' : undefined,
      logUrl: failed ? `file:///artifacts/github.com/${set}/repo-${row}/${sha}/build.log` : undefined,
      attempt: 1,
      startedAt,
      finishedAt: new Date(startedAt.getTime() + 1000 + (row % 5000)),
    });
  }
  return outcomes;
}

async function timeIt(fn) {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/** Batch, one-per-call and RecordBuffer-sized writes on one database; returns the timings. */
async function measure(database, SqlResultStore) {
  const store = new SqlResultStore(database);
  for (const id of ['bench-batch', 'bench-single', 'bench-buffer']) await store.ensureRun({ id, trigger: 'process', mode: 'process', inventoryUri: 'bench.csv' });
  const batch = makeOutcomes('bench-batch', BATCH_ROWS, 'batch');
  const single = makeOutcomes('bench-single', SINGLE_ROWS, 'single');
  const buffered = makeOutcomes('bench-buffer', BUFFER_ROWS, 'buffer');

  const batchMs = await timeIt(() => store.recordOutcomes(batch));
  const singleMs = await timeIt(async () => {
    for (const outcome of single) await store.recordOutcomes([outcome]);
  });
  // What a run actually does: RecordBuffer flushes every 50 outcomes (src/pipeline/record-buffer.ts).
  const bufferMs = await timeIt(async () => {
    for (let i = 0; i < buffered.length; i += 50) await store.recordOutcomes(buffered.slice(i, i + 50));
  });
  const { rows } = await database.query('SELECT run_id, count(*)::int AS n FROM repository_results GROUP BY run_id ORDER BY run_id');
  const counted = Object.fromEntries(rows.map((row) => [row.run_id, row.n]));
  const complete = counted['bench-batch'] === BATCH_ROWS && counted['bench-single'] === SINGLE_ROWS && counted['bench-buffer'] === BUFFER_ROWS;
  if (!complete) console.log(`WARNING rows written differ from rows recorded: ${JSON.stringify(counted)}`);
  return { batchMs, singleMs, singleExtrapolatedMs: singleMs * (BATCH_ROWS / SINGLE_ROWS), bufferExtrapolatedMs: bufferMs * (BATCH_ROWS / BUFFER_ROWS) };
}

/** The same machine's floor: 100,000 two-column rows (int primary key, text) in one INSERT … unnest. */
async function measureFloor(database) {
  await database.query('CREATE TABLE bench_floor (id int PRIMARY KEY, name text)', [] /* simple protocol */);
  const ids = Array.from({ length: BATCH_ROWS }, (_, i) => i);
  return timeIt(() => database.query('INSERT INTO bench_floor SELECT * FROM unnest($1::int[], $2::text[])', [ids, ids.map((i) => `github.com/org-${i % 997}/repo-${i}`)]));
}

/** `server`: a running PostgreSQL from ./postgres.js. */
export async function benchRecording(root, server) {
  console.log(`\n-- d. recording ${BATCH_ROWS.toLocaleString('en')} outcomes through SqlResultStore.recordOutcomes --`);
  const { openDatabase } = await import(path.join(DIST, 'results', 'database.js'));
  const { SqlResultStore } = await import(path.join(DIST, 'results', 'result-store.js'));
  const { createLogger } = await import(path.join(DIST, 'logging', 'logger.js'));
  const log = createLogger({ level: 'warn', format: 'json', scrub: (text) => text, fd: 2 });

  const results = [];
  const postgres = await openDatabase({ databaseUrl: await server.createDatabase('recording'), dataDir: path.join(root, 'unused') }, log);
  try {
    results.push({ name: server.version, ...(await measure(postgres, SqlResultStore)), floorMs: await measureFloor(postgres) });
  } finally {
    await postgres.close();
  }
  const pglite = await openDatabase({ databaseUrl: undefined, dataDir: path.join(root, 'db-recording') }, log);
  try {
    results.push({ name: 'PGlite (embedded, product settings)', ...(await measure(pglite, SqlResultStore)), floorMs: await measureFloor(pglite) });
  } finally {
    await pglite.close();
  }

  printTable(
    ['database', '100k batched', 'goal', '', `1 per call ×${SINGLE_ROWS} (→100k)`, 'ratio', 'goal', '', '50 per call (→100k)', 'floor'],
    results.map((r) => {
      const ratio = r.singleExtrapolatedMs / r.batchMs;
      return [r.name, fmtMs(r.batchMs), '≤ 3 s', verdict(r.batchMs, 3000, 'max'), `${fmtMs(r.singleMs)} (→${fmtMs(r.singleExtrapolatedMs)})`, fmtX(ratio), '≥ 20×', verdict(ratio, 20, 'min'), fmtMs(r.bufferExtrapolatedMs), fmtMs(r.floorMs)];
    }),
  );
  console.log(
    `one per call: ${SINGLE_ROWS.toLocaleString('en')} recordOutcomes([outcome]) calls (one upsert into repository_results and one into repositories each, autocommit), ` +
      `timed and extrapolated ×${BATCH_ROWS / SINGLE_ROWS}; 50 per call: RecordBuffer's batch size, ${BUFFER_ROWS.toLocaleString('en')} outcomes extrapolated ×${BATCH_ROWS / BUFFER_ROWS}. ` +
      'floor: 100,000 (int, text) rows in one INSERT … unnest on the same database (what this machine does at best). ' +
      'PostgreSQL runs with its default durability (fsync, synchronous_commit on).',
  );
  return results.flatMap((r) => [
    [`d. 100k outcomes, ${r.name}`, fmtMs(r.batchMs), '≤ 3 s', verdict(r.batchMs, 3000, 'max')],
    [`d. batched vs one per statement, ${r.name}`, fmtX(r.singleExtrapolatedMs / r.batchMs), '≥ 20×', verdict(r.singleExtrapolatedMs / r.batchMs, 20, 'min')],
  ]);
}
