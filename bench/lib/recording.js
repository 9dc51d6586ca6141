// Part d of the processor bench (also `npm run bench -- recording` alone): SqlResultStore.recordOutcomes
// with 100,000 outcomes against one INSERT per row, on three targets:
//   PostgreSQL 15 (default durability), PGlite inside this process, and PGlite in a process of its
//   own served over the wire protocol (src/results/pglite-server.ts) and reached with `pg`, which
//   is how the processor reaches it.
// Every timed write uses a new SqlResultStore, as a new processor would.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { DIST, fmtMs, fmtX, loadNote, median, printTable, verdict } from './common.js';

const BATCH_ROWS = 100_000;
const REPEATS = 3;
const SINGLE_ROWS = 2_000;
const BUFFER_ROWS = 10_000;
const GOAL_MS = 3000;
const GOAL_RATIO = 20;
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

const FAILED = ['invalid', 'clone_failed', 'build_failed', 'timed_out', 'publish_failed', 'crashed'];

/** The baseline: each outcome on its own, one INSERT … ON CONFLICT per table (autocommit). */
async function recordOnePerRow(database, outcomes) {
  for (const o of outcomes) {
    await database.query(
      `INSERT INTO repository_results (run_id, row_number, origin, path, branch, clone_url, outcome, commit_sha, builder,
         artifacts, duration_ms, error_code, error_message, log_url, attempt, started_at, finished_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
       ON CONFLICT (run_id, row_number) DO UPDATE SET outcome = EXCLUDED.outcome, commit_sha = EXCLUDED.commit_sha,
         artifacts = EXCLUDED.artifacts, duration_ms = EXCLUDED.duration_ms, error_code = EXCLUDED.error_code,
         error_message = EXCLUDED.error_message, log_url = EXCLUDED.log_url, attempt = EXCLUDED.attempt,
         started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at`,
      [o.runId, o.rowNumber, o.origin, o.path, o.branch, o.cloneUrl, o.outcome, o.commitSha ?? null, o.builder ?? null,
        o.artifacts ? JSON.stringify(o.artifacts) : null, Math.round(o.durationMs), o.errorCode ?? null, o.errorMessage ?? null,
        o.logUrl ?? null, o.attempt, o.startedAt, o.finishedAt],
    );
    await database.query(
      `INSERT INTO repositories AS r (origin, path, branch, clone_url, last_commit_sha, last_published_sha, last_outcome, consecutive_failures, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $7 = ANY($8::text[]) THEN 1 ELSE 0 END, now())
       ON CONFLICT (origin, path, branch) DO UPDATE SET clone_url = EXCLUDED.clone_url,
         last_commit_sha = COALESCE(EXCLUDED.last_commit_sha, r.last_commit_sha),
         last_published_sha = COALESCE(EXCLUDED.last_published_sha, r.last_published_sha), last_outcome = EXCLUDED.last_outcome,
         consecutive_failures = CASE WHEN EXCLUDED.last_outcome = ANY($8::text[]) THEN r.consecutive_failures + 1
                                     WHEN EXCLUDED.last_outcome = 'aborted' THEN r.consecutive_failures ELSE 0 END,
         updated_at = now()`,
      [o.origin, o.path, o.branch, o.cloneUrl, o.commitSha ?? null,
        o.outcome === 'published' || o.outcome === 'unchanged' ? (o.commitSha ?? null) : null, o.outcome, FAILED],
    );
  }
}

/** All measurements on one database; returns the timings. */
async function measure(database, SqlResultStore) {
  const newStore = () => new SqlResultStore(database);
  const runs = ['bench-steady', 'bench-perrow', 'bench-single', 'bench-buffer', ...Array.from({ length: REPEATS }, (_, i) => `bench-batch-${i + 1}`)];
  for (const id of runs) await newStore().ensureRun({ id, trigger: 'process', mode: 'process', inventoryUri: 'bench.csv' });

  const batchMs = [];
  for (let i = 1; i <= REPEATS; i++) {
    const outcomes = makeOutcomes(`bench-batch-${i}`, BATCH_ROWS, `batch${i}`);
    batchMs.push(await timeIt(() => newStore().recordOutcomes(outcomes)));
  }
  // A later run over the same repositories: they are updated, not inserted.
  const steady = makeOutcomes('bench-steady', BATCH_ROWS, 'batch1').map((o) => ({ ...o, outcome: o.outcome === 'published' ? 'unchanged' : o.outcome }));
  const steadyMs = await timeIt(() => newStore().recordOutcomes(steady));
  // The same run recorded again (a retried partition): every row is replaced.
  const rerun = makeOutcomes('bench-batch-1', BATCH_ROWS, 'batch1');
  const rerunMs = await timeIt(() => newStore().recordOutcomes(rerun));

  const perRow = makeOutcomes('bench-perrow', SINGLE_ROWS, 'perrow');
  const perRowMs = await timeIt(() => recordOnePerRow(database, perRow));
  const single = makeOutcomes('bench-single', SINGLE_ROWS, 'single');
  const singleStore = newStore();
  const singleMs = await timeIt(async () => {
    for (const outcome of single) await singleStore.recordOutcomes([outcome]);
  });
  // What a run actually does: RecordBuffer flushes every 50 outcomes (src/pipeline/record-buffer.ts).
  const buffered = makeOutcomes('bench-buffer', BUFFER_ROWS, 'buffer');
  const bufferStore = newStore();
  const bufferMs = await timeIt(async () => {
    for (let i = 0; i < buffered.length; i += 50) await bufferStore.recordOutcomes(buffered.slice(i, i + 50));
  });
  await checkCounts(database, runs);
  const scale = (ms, rows) => ms * (BATCH_ROWS / rows);
  return { batchMs, steadyMs, rerunMs, perRowMs: scale(perRowMs, SINGLE_ROWS), singleMs: scale(singleMs, SINGLE_ROWS), bufferMs: scale(bufferMs, BUFFER_ROWS) };
}

async function checkCounts(database, runs) {
  const { rows } = await database.query('SELECT run_id, count(*)::int AS n FROM repository_results GROUP BY run_id', []);
  const counted = Object.fromEntries(rows.map((row) => [row.run_id, row.n]));
  const expected = { 'bench-perrow': SINGLE_ROWS, 'bench-single': SINGLE_ROWS, 'bench-buffer': BUFFER_ROWS };
  const wrong = runs.filter((run) => counted[run] !== (expected[run] ?? BATCH_ROWS));
  const repositories = (await database.query('SELECT count(*)::int AS n FROM repositories', [])).rows[0].n;
  const expectedRepositories = REPEATS * BATCH_ROWS + 2 * SINGLE_ROWS + BUFFER_ROWS;
  if (wrong.length > 0 || repositories !== expectedRepositories) {
    console.log(`WARNING rows written differ from rows recorded: ${JSON.stringify(counted)}, repositories ${repositories} (expected ${expectedRepositories})`);
  }
}

/** The same machine's floor: 100,000 two-column rows (int primary key, text) in one INSERT … unnest. */
async function measureFloor(database) {
  await database.query('CREATE TABLE bench_floor (id int PRIMARY KEY, name text)', [] /* simple protocol */);
  const ids = Array.from({ length: BATCH_ROWS }, (_, i) => i);
  return timeIt(() => database.query('INSERT INTO bench_floor SELECT * FROM unnest($1::int[], $2::text[])', [ids, ids.map((i) => `github.com/org-${i % 997}/repo-${i}`)]));
}

/**
 * What the schema itself costs on this engine: the rows and index entries of 100,000 new outcomes
 * over new repositories (repository_results and its primary key, repositories and its primary key
 * on three text columns), copied from a table made beforehand (untimed), so nothing is
 * sent, decoded or computed while timed. No recording of the same rows can be much faster.
 */
async function measureStorageFloor(database) {
  await database.query(`INSERT INTO ingest_runs (id, trigger, inventory_uri, mode) VALUES ('bench-storage-floor', 'process', 'bench', 'process')`, []);
  await database.query(
    `CREATE TABLE bench_floor_rows AS
     SELECT 'bench-storage-floor'::text AS run_id, i AS row_number, 'github.com'::text AS origin, 'floor-' || (i % 997) || '/repo-' || i AS path, 'main'::text AS branch,
       'https://github.com/floor-' || (i % 997) || '/repo-' || i || '.git' AS clone_url, 'published'::text AS outcome, md5(i::text) || '01234567' AS commit_sha, 'npm'::text AS builder,
       jsonb_build_array(jsonb_build_object('name', 'repo-' || i || '-1.0.0.tgz', 'size', 12345 + i, 'sha256', md5(i::text) || md5(i::text))) AS artifacts,
       1000 + i % 5000 AS duration_ms, 1 AS attempt, now() AS started_at, now() AS finished_at
     FROM generate_series(1, ${BATCH_ROWS}) AS i`,
    [],
  );
  return timeIt(async () => {
    await database.query(
      `INSERT INTO repository_results (run_id, row_number, origin, path, branch, clone_url, outcome, commit_sha, builder, artifacts, duration_ms, attempt, started_at, finished_at)
       SELECT run_id, row_number, origin, path, branch, clone_url, outcome, commit_sha, builder, artifacts, duration_ms, attempt, started_at, finished_at FROM bench_floor_rows`,
      [],
    );
    await database.query(
      `INSERT INTO repositories (origin, path, branch, clone_url, last_commit_sha, last_published_sha, last_outcome, consecutive_failures, updated_at)
       SELECT origin, path, branch, clone_url, commit_sha, commit_sha, outcome, 0, now() FROM bench_floor_rows`,
      [],
    );
  });
}

/** PGlite in its host process, reached over pg: what `process` and `chunk --local` use. */
async function openServed(root, openDatabase, log) {
  const dataDir = path.join(root, 'db-recording-served');
  const database = await openDatabase({ databaseUrl: undefined, dataDir, embeddedHostEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' } }, log);
  return { name: 'PGlite (host process, over pg)', database };
}

/** `server`: a running PostgreSQL from ./postgres.js. */
export async function benchRecording(root, server) {
  console.log(`\n-- d. recording ${BATCH_ROWS.toLocaleString('en')} outcomes through SqlResultStore.recordOutcomes --`);
  const { openDatabase } = await import(path.join(DIST, 'results', 'database.js'));
  const { SqlResultStore } = await import(path.join(DIST, 'results', 'result-store.js'));
  const { createLogger } = await import(path.join(DIST, 'logging', 'logger.js'));
  const log = createLogger({ level: 'warn', format: 'json', scrub: (text) => text, fd: 2 });
  const targets = [
    async () => ({ name: server.version, database: await openDatabase({ databaseUrl: await server.createDatabase('recording'), dataDir: path.join(root, 'unused') }, log) }),
    async () => ({ name: 'PGlite (in this process)', database: await openDatabase({ databaseUrl: undefined, dataDir: path.join(root, 'db-recording') }, log) }),
    () => openServed(root, openDatabase, log),
  ];
  const results = [];
  for (const open of targets) {
    const target = await open();
    try {
      console.log(`${target.name}: ${loadNote()}`);
      results.push({ name: target.name, ...(await measure(target.database, SqlResultStore)), floorMs: await measureFloor(target.database), storageFloorMs: await measureStorageFloor(target.database) });
    } finally {
      await (target.close ? target.close() : target.database.close());
    }
  }
  printResults(results);
  return results.flatMap((r) => {
    const batch = median(r.batchMs);
    return [
      [`d. 100k outcomes, ${r.name}`, fmtMs(batch), '≤ 3 s', verdict(batch, GOAL_MS, 'max')],
      [`d. vs one INSERT per row, ${r.name}`, fmtX(r.perRowMs / batch), '≥ 20×', verdict(r.perRowMs / batch, GOAL_RATIO, 'min')],
    ];
  });
}

function printResults(results) {
  printTable(
    ['database', `100k new, median of ${REPEATS}`, 'runs', 'goal', '', `1 INSERT per row (→100k)`, 'ratio', 'goal', '', 'info: 100k, repos exist', '100k rerun', '1 per call (→100k)', '50 per call (→100k)', 'floor', 'schema floor'],
    results.map((r) => {
      const batch = median(r.batchMs);
      const ratio = r.perRowMs / batch;
      return [r.name, fmtMs(batch), r.batchMs.map(fmtMs).join(' '), '≤ 3 s', verdict(batch, GOAL_MS, 'max'), fmtMs(r.perRowMs), fmtX(ratio), '≥ 20×', verdict(ratio, GOAL_RATIO, 'min'),
        fmtMs(r.steadyMs), fmtMs(r.rerunMs), fmtMs(r.singleMs), fmtMs(r.bufferMs), fmtMs(r.floorMs), fmtMs(r.storageFloorMs)];
    }),
  );
  console.log(
    `100k new: recordOutcomes(100,000 outcomes) of a new run over new repositories, each with a new SqlResultStore. ` +
      `1 INSERT per row: ${SINGLE_ROWS.toLocaleString('en')} outcomes, each an INSERT … ON CONFLICT into repository_results and one into repositories ` +
      `(autocommit), extrapolated ×${BATCH_ROWS / SINGLE_ROWS}. repos exist: a new run over the repositories of the first; rerun: the first run again ` +
      `(every row replaced). 1 / 50 per call: recordOutcomes with 1 or RecordBuffer's 50 outcomes, extrapolated. ` +
      'floor: 100,000 (int, text) rows in one INSERT … unnest (what this machine does at best). ' +
      'schema floor: the rows and index entries of 100k new outcomes copied from a table made beforehand ' +
      '(nothing sent, decoded or computed while timed). PostgreSQL runs with its default durability.',
  );
}
