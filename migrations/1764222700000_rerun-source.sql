-- Up Migration
-- A run made by `chunk --only failed|changed --run <id>` names the run whose rows it reruns and
-- which of them (src/chunk/only-subset.ts): its rows are numbered in a derived inventory, so
-- without this nothing ties it to the run it repeats. NULL for every other run.
ALTER TABLE ingest_runs ADD COLUMN IF NOT EXISTS rerun_of text;
ALTER TABLE ingest_runs ADD COLUMN IF NOT EXISTS rerun_rows text CHECK (rerun_rows IN ('failed', 'changed'));

-- Down Migration
ALTER TABLE ingest_runs DROP COLUMN IF EXISTS rerun_rows;
ALTER TABLE ingest_runs DROP COLUMN IF EXISTS rerun_of;
