-- Stuck view (docs/operations.md, "The Stuck view"): the current run of failed or ongoing branch calls of each
-- transaction, kept by the pass's own write of the global, so the view is an index range query.
ALTER TABLE trans_global ADD COLUMN fail_since DATETIME;
ALTER TABLE trans_global ADD COLUMN fail_streak INTEGER NOT NULL DEFAULT 0;
ALTER TABLE trans_global ADD COLUMN ongoing_since DATETIME;
ALTER TABLE trans_global ADD COLUMN fail_endpoint TEXT NOT NULL DEFAULT '';
ALTER TABLE trans_global ADD COLUMN fail_detail TEXT NOT NULL DEFAULT '';
CREATE INDEX trans_global_status_fail_since ON trans_global (status, fail_since);
CREATE INDEX trans_global_status_ongoing_since ON trans_global (status, ongoing_since);
CREATE INDEX trans_global_fail_endpoint ON trans_global (fail_endpoint);
