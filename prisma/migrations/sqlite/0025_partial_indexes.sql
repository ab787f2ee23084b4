-- Indexes that only ever look up a few rows hold only those rows (docs/operations.md, "Indexes and
-- the cost of a transaction"): a finished transaction has no owner, no run of failed or ongoing
-- calls and (unless it failed) no rollback time, and every index entry is written at its insert and
-- again at its last status change. The queries that use them say the same condition (owner <> ''
-- in the leases' SQL; a comparison on fail_since, ongoing_since or rollback_time implies IS NOT
-- NULL), so each still reads its index.
DROP INDEX IF EXISTS owner;
CREATE INDEX owner ON trans_global (owner) WHERE owner <> '';
DROP INDEX IF EXISTS trans_global_status_fail_since;
CREATE INDEX trans_global_status_fail_since ON trans_global (status, fail_since) WHERE fail_since IS NOT NULL;
DROP INDEX IF EXISTS trans_global_status_ongoing_since;
CREATE INDEX trans_global_status_ongoing_since ON trans_global (status, ongoing_since) WHERE ongoing_since IS NOT NULL;
DROP INDEX IF EXISTS trans_global_rollback_time;
CREATE INDEX trans_global_rollback_time ON trans_global (rollback_time) WHERE rollback_time IS NOT NULL;
