-- Up Migration
-- Where each partition begins in the inventory's bytes, recorded by the chunk job for an s3://
-- inventory with an ETag (src/inventory/partition-index.ts): an array child reads the header and
-- its own rows with two ranged GETs (If-Match on that ETag) instead of every row before its own.
-- `earlier_duplicates` holds the partition's rows that repeat a row of an earlier partition
-- (DESIGN §4), as {"row": repeated row}; NULL when there are none. Both are NULL for partitions
-- the chunk job did not index, whose children read from the first byte as before.
ALTER TABLE run_partitions ADD COLUMN IF NOT EXISTS start_offset bigint;
ALTER TABLE run_partitions ADD COLUMN IF NOT EXISTS earlier_duplicates jsonb;

-- Down Migration
ALTER TABLE run_partitions DROP COLUMN IF EXISTS earlier_duplicates;
ALTER TABLE run_partitions DROP COLUMN IF EXISTS start_offset;
