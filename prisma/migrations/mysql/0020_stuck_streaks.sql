-- Stuck view (docs/operations.md, "The Stuck view"): the current run of failed or ongoing branch calls of each
-- transaction, kept by the pass's own write of the global, so the view is an index range query.
ALTER TABLE trans_global
  ADD COLUMN fail_since DATETIME(3) NULL,
  ADD COLUMN fail_streak INT NOT NULL DEFAULT 0,
  ADD COLUMN ongoing_since DATETIME(3) NULL,
  ADD COLUMN fail_endpoint VARCHAR(255) NOT NULL DEFAULT '',
  ADD COLUMN fail_detail VARCHAR(1024) NOT NULL DEFAULT '',
  ADD KEY trans_global_status_fail_since (status, fail_since),
  ADD KEY trans_global_status_ongoing_since (status, ongoing_since),
  ADD KEY trans_global_fail_endpoint (fail_endpoint);
