-- Up Migration
-- Checkpoints of `mass-ingest discover` (issue 8): one row per discovery, its streams (search
-- buckets and owner listings) with cursors, and the repositories found so far. An interrupted
-- discovery resumes from these; a finished one keeps only its discovery_runs row.
CREATE TABLE IF NOT EXISTS discovery_runs (
  id text PRIMARY KEY,
  fingerprint text NOT NULL,
  arguments jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('running', 'finished')),
  planner jsonb,
  requests integer NOT NULL DEFAULT 0,
  repositories integer,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX IF NOT EXISTS discovery_runs_fingerprint_idx ON discovery_runs (fingerprint, status, created_at);

CREATE TABLE IF NOT EXISTS discovery_streams (
  discovery_id text NOT NULL REFERENCES discovery_runs (id) ON DELETE CASCADE,
  key text NOT NULL,
  position integer NOT NULL,
  source jsonb NOT NULL,
  expected integer NOT NULL,
  goal integer NOT NULL,
  fetched integer NOT NULL DEFAULT 0,
  cursor text,
  exhausted boolean NOT NULL DEFAULT false,
  PRIMARY KEY (discovery_id, key)
);

CREATE TABLE IF NOT EXISTS discovery_items (
  discovery_id text NOT NULL REFERENCES discovery_runs (id) ON DELETE CASCADE,
  origin text NOT NULL,
  path text NOT NULL,
  branch text NOT NULL,
  clone_url text NOT NULL,
  stars integer NOT NULL,
  pushed_at timestamptz,
  PRIMARY KEY (discovery_id, origin, path)
);

-- Down Migration
DROP TABLE IF EXISTS discovery_items;
DROP TABLE IF EXISTS discovery_streams;
DROP TABLE IF EXISTS discovery_runs;
