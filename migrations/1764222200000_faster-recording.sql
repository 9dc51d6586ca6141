-- Up Migration
-- Recording outcomes (issue 4, goal d; src/results/outcome-recording.ts):
-- - The foreign key from repository_results to ingest_runs ran one trigger query per recorded
--   row (a third of the insert on PGlite). The recording statement now checks the run itself
--   (an unknown run fails the statement); nothing deletes runs, so ON DELETE CASCADE had no use.
-- - No query looks repository_results up by (origin, path, branch): reports select by run_id,
--   and the current state of a repository is in `repositories`. The index cost every insert.
-- - Every run updates the row of each repository it records. With room left on each page the
--   update stays on its page and needs no new index entry (a HOT update), and the old version is
--   pruned in place: PGlite has no autovacuum, and without it the table and its index grew by a
--   copy of every repository per run. Applies to pages written from now on.
ALTER TABLE repository_results DROP CONSTRAINT IF EXISTS repository_results_run_id_fkey;
DROP INDEX IF EXISTS repository_results_repo_idx;
ALTER TABLE repositories SET (fillfactor = 70);

-- Down Migration
ALTER TABLE repositories RESET (fillfactor);
CREATE INDEX IF NOT EXISTS repository_results_repo_idx ON repository_results (origin, path, branch);
ALTER TABLE repository_results
  ADD CONSTRAINT repository_results_run_id_fkey FOREIGN KEY (run_id) REFERENCES ingest_runs (id) ON DELETE CASCADE;
