-- Up Migration
CREATE TABLE IF NOT EXISTS ingest_runs (
  id text PRIMARY KEY,
  trigger text NOT NULL CHECK (trigger IN ('schedule', 'manual', 'local', 'process')),
  inventory_uri text NOT NULL,
  inventory_sha256 text,
  inventory_rows integer,
  partition_size integer,
  partitions integer,
  mode text NOT NULL CHECK (mode IN ('array', 'jobs', 'local', 'process')),
  created_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);

CREATE TABLE IF NOT EXISTS run_partitions (
  run_id text NOT NULL REFERENCES ingest_runs (id) ON DELETE CASCADE,
  partition integer NOT NULL,
  start_row integer NOT NULL,
  end_row integer NOT NULL,
  batch_job_id text,
  status text NOT NULL CHECK (status IN ('planned', 'submitted', 'running', 'succeeded', 'failed')),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, partition)
);

CREATE TABLE IF NOT EXISTS repository_results (
  run_id text NOT NULL REFERENCES ingest_runs (id) ON DELETE CASCADE,
  row_number integer NOT NULL,
  origin text,
  path text,
  branch text,
  clone_url text,
  outcome text NOT NULL CHECK (outcome IN ('published', 'unchanged', 'invalid', 'clone_failed', 'no_build_tool',
    'build_failed', 'timed_out', 'publish_failed', 'aborted', 'crashed')),
  commit_sha text,
  builder text,
  artifacts jsonb,
  duration_ms integer,
  error_code text,
  error_message text,
  log_url text,
  attempt integer NOT NULL DEFAULT 1,
  started_at timestamptz,
  finished_at timestamptz,
  PRIMARY KEY (run_id, row_number)
);
CREATE INDEX IF NOT EXISTS repository_results_repo_idx ON repository_results (origin, path, branch);
CREATE INDEX IF NOT EXISTS repository_results_outcome_idx ON repository_results (run_id, outcome);

CREATE TABLE IF NOT EXISTS repositories (
  origin text NOT NULL,
  path text NOT NULL,
  branch text NOT NULL,
  clone_url text,
  last_commit_sha text,
  last_published_sha text,
  last_outcome text,
  consecutive_failures integer NOT NULL DEFAULT 0,
  stars integer,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (origin, path, branch)
);

CREATE TABLE IF NOT EXISTS star_history (
  origin text NOT NULL,
  path text NOT NULL,
  observed_at timestamptz NOT NULL DEFAULT now(),
  stars integer NOT NULL
);
CREATE INDEX IF NOT EXISTS star_history_repo_idx ON star_history (origin, path, observed_at);

-- Down Migration
DROP TABLE IF EXISTS star_history;
DROP TABLE IF EXISTS repositories;
DROP TABLE IF EXISTS repository_results;
DROP TABLE IF EXISTS run_partitions;
DROP TABLE IF EXISTS ingest_runs;
