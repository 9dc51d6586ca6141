-- Up Migration
-- Which process runs a discovery, as `host:pid`; NULL once that process stopped (finished, exit 2/3,
-- SIGTERM). With the run's updated_at heartbeat it tells a live discovery from a dead one, so a
-- second `discover` with the same arguments refuses to start instead of deleting live progress.
ALTER TABLE discovery_runs ADD COLUMN IF NOT EXISTS owner text;

-- Down Migration
ALTER TABLE discovery_runs DROP COLUMN IF EXISTS owner;
