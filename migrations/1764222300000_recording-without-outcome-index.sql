-- Up Migration
-- Recording outcomes (issue 4, goal d; src/results/outcome-recording.ts): the (run_id, outcome)
-- index cost every recorded row an insert into a btree of a few distinct keys per run (its
-- duplicates make the inserts the slowest of the statement's three indexes): about a sixth of
-- recording 100,000 outcomes on PGlite. Every query of repository_results selects one run
-- (run_id = …) and reads most of its rows; the primary key (run_id, row_number) finds them, and
-- the outcome is read from the row, as it already was for counts (no index-only scans without
-- a vacuumed visibility map, which PGlite never has).
DROP INDEX IF EXISTS repository_results_outcome_idx;

-- Down Migration
CREATE INDEX IF NOT EXISTS repository_results_outcome_idx ON repository_results (run_id, outcome);
