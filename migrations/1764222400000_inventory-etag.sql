-- Up Migration
-- The S3 object the chunk job planned over (DESIGN §9; src/inventory/planned.ts): the ETag of the
-- GetObject whose bytes it counted and hashed. An array child then reads its rows with
-- If-Match: S3 itself refuses a changed object (412), so the child stops at its own last row
-- instead of reading and hashing the whole inventory for the sha256 check. NULL for local files
-- and http(s) inventories, which keep the full sha256 check.
ALTER TABLE ingest_runs ADD COLUMN IF NOT EXISTS inventory_etag text;

-- Down Migration
ALTER TABLE ingest_runs DROP COLUMN IF EXISTS inventory_etag;
