// A synthetic run written with SQL alone (generate_series), for bench/report.js and
// test/report/report-scale.test.ts: `rows` repository results in partitions of `partitionSize`,
// run by `workers` processors at once, with realistic outcome shares, durations, error messages
// (the last lines of a build, different per repository) and log URLs, plus its run_partitions.
// `db` is anything with query(text, params) → { rows }: pg, PGlite or our Database.

const SUCCESS_SHARES = [['unchanged', 0.68], ['published', 0.26], ['no_build_tool', 0.06]];
const FAILURE_SHARES = [['build_failed', 0.6], ['clone_failed', 0.15], ['timed_out', 0.08], ['publish_failed', 0.05], ['invalid', 0.05], ['aborted', 0.05], ['crashed', 0.02]];

/** Milliseconds per outcome: min + (max − min) spread log-uniformly by the random value r2. */
const DURATIONS = {
  unchanged: [200, 1500],
  published: [5000, 300000],
  no_build_tool: [1000, 6000],
  build_failed: [2000, 180000],
  clone_failed: [500, 30000],
  timed_out: [1800000, 1805000],
  publish_failed: [10000, 60000],
  invalid: [0, 0],
  aborted: [1000, 600000],
  crashed: [1000, 100000],
};

const CODES = {
  build_failed: "CASE WHEN r3 < 0.7 THEN 'build_exit_1' WHEN r3 < 0.9 THEN 'build_exit_2' ELSE 'no_artifacts' END",
  clone_failed: "CASE WHEN r3 < 0.8 THEN 'git_repository_not_found' ELSE 'git_network' END",
  timed_out: "'build_timeout'",
  publish_failed: "'publish_unreachable'",
  invalid: "'invalid_path'",
  aborted: "'aborted'",
  crashed: "'crashed'",
};

function outcomeCase(failedShare) {
  const shares = [
    ...SUCCESS_SHARES.map(([o, s]) => [o, s * (1 - failedShare)]),
    ...FAILURE_SHARES.map(([o, s]) => [o, s * failedShare]),
  ].filter(([, s]) => s > 0);
  let cumulative = 0;
  const arms = shares.map(([outcome, share], index) => {
    cumulative += share;
    return index === shares.length - 1 ? `ELSE '${outcome}'` : `WHEN r < ${cumulative.toFixed(6)} THEN '${outcome}'`;
  });
  return `CASE ${arms.join(' ')} END`;
}

function durationCase() {
  const arms = Object.entries(DURATIONS).map(([o, [min, max]]) =>
    min === max ? `WHEN '${o}' THEN ${min}` : `WHEN '${o}' THEN round(${min} * exp(ln(${max / min}) * r2))::int`,
  );
  return `CASE outcome ${arms.join(' ')} END`;
}

function codeCase() {
  return `CASE outcome ${Object.entries(CODES).map(([o, sql]) => `WHEN '${o}' THEN ${sql}`).join(' ')} ELSE NULL END`;
}

const MESSAGE = `CASE
  WHEN outcome = 'build_failed' THEN
    '[INFO] Compiling ' || (n % 700) || ' source files to target/classes' || E'\\n' ||
    '[ERROR] src/main/java/com/example/' || substr(md5(n::text), 1, 10) || '.java:[' || (n % 400) || ',17] cannot find symbol' || E'\\n' ||
    '[ERROR]   symbol:   class Widget' || (n % 97) || E'\\n' ||
    '[ERROR]   location: package com.example.' || substr(md5(n::text), 11, 6) || E'\\n' ||
    repeat('[ERROR] -> [Help 1] see the full stack trace with the -e switch' || E'\\n', 12) ||
    'make: *** [Makefile:3: all] Error ' || (n % 3)
  WHEN outcome = 'timed_out' THEN 'Running tests ' || substr(md5(n::text), 1, 12) || E'\\n[mass-ingest] build timed out after 1800 s; process group killed'
  WHEN outcome = 'clone_failed' THEN 'remote: Repository not found.' || E'\\n' || 'fatal: repository ''https://github.com/' || path || '.git/'' not found'
  WHEN outcome = 'publish_failed' THEN 'PUT https://artifacts.example.com/repo answered HTTP 503: the publish target is unavailable'
  WHEN outcome = 'invalid' THEN 'Row ' || n || ': path "' || path || '" must be segments of letters, digits'
  WHEN outcome = 'crashed' THEN 'TypeError: Cannot read properties of undefined (reading ''sha'')'
  WHEN outcome = 'aborted' THEN 'Stopped by a termination signal'
END`;

/**
 * Inserts run `runId` with `rows` results. Options: partitionSize (50), workers (100 processors
 * at once), failedShare (0.15), createdAt (Date), trigger ('schedule'), wave (seconds between
 * partition starts of one worker, 1320).
 */
export async function insertSyntheticRun(db, runId, rows, options = {}) {
  const partitionSize = options.partitionSize ?? 50;
  const workers = options.workers ?? 100;
  const failedShare = options.failedShare ?? 0.15;
  const createdAt = (options.createdAt ?? new Date()).toISOString();
  const wave = options.wave ?? 1320;
  const partitions = Math.ceil(rows / partitionSize);
  await db.query(
    `INSERT INTO ingest_runs (id, trigger, inventory_uri, inventory_sha256, inventory_rows, partition_size, partitions, mode, created_at)
     VALUES ($1, $2, 's3://inventories/repos.csv', $3, $4, $5, $6, 'array', $7)`,
    [runId, options.trigger ?? 'schedule', 'ab'.repeat(32), rows, partitionSize, partitions, createdAt],
  );
  await db.query(
    `INSERT INTO repository_results (run_id, row_number, origin, path, branch, clone_url, outcome, commit_sha, builder, duration_ms,
       error_code, error_message, log_url, attempt, started_at, finished_at)
     SELECT $1, n, 'github.com', path, branch, 'https://github.com/' || path || '.git', outcome, sha,
       CASE WHEN outcome IN ('published', 'build_failed', 'timed_out', 'publish_failed') THEN (ARRAY['maven', 'gradle', 'npm', 'cargo', 'go', 'make'])[1 + (n % 6)] END,
       duration, code, message,
       CASE WHEN outcome IN ('published', 'build_failed', 'timed_out') THEN 'https://artifacts.example.com/repo/github.com/' || path || '/' || sha || '/build.log' END,
       1, pstart + (cum - duration) * interval '1 millisecond', pstart + cum * interval '1 millisecond'
     FROM (
       SELECT *, ${MESSAGE} AS message,
         sum(duration) OVER (PARTITION BY p ORDER BY n) AS cum,
         $2::timestamptz + ((p / $4::int) * $5::int + (p % 17) * 7) * interval '1 second' AS pstart
       FROM (
         SELECT *, ${durationCase()} AS duration, ${codeCase()} AS code
         FROM (
           SELECT n, p, r2, r3, ${outcomeCase(failedShare)} AS outcome,
             'org' || (n % 5000) || '/repo-' || n AS path,
             CASE WHEN n % 5 = 0 THEN 'master' ELSE 'main' END AS branch,
             md5(n::text) || substr(md5((n + 1)::text), 1, 8) AS sha
           FROM (SELECT n, (n - 1) / $3::int AS p, random() AS r, random() AS r2, random() AS r3 FROM generate_series(1, $6::int) AS n) seeded
         ) picked
       ) timed
     ) placed`,
    [runId, createdAt, partitionSize, workers, wave, rows],
  );
  await db.query(
    `INSERT INTO run_partitions (run_id, partition, start_row, end_row, batch_job_id, status, updated_at)
     SELECT $1, (row_number - 1) / $2::int, min(row_number), max(row_number), 'job-' || ((row_number - 1) / $2::int),
       CASE WHEN (row_number - 1) / $2::int % 997 = 5 THEN 'failed' ELSE 'succeeded' END, max(finished_at)
     FROM repository_results WHERE run_id = $1 GROUP BY 2`,
    [runId, partitionSize],
  );
  await db.query(
    `UPDATE ingest_runs SET finished_at = (SELECT max(finished_at) FROM repository_results WHERE run_id = $1) WHERE id = $1`,
    [runId],
  );
}
