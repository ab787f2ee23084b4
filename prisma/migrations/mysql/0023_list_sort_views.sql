-- Transactions list (docs/operations.md, "Sorting and saved views"): an index per sort order that
-- would otherwise read the whole table (created uses trans_global_create_time, the default order
-- the primary key), and each dashboard user's saved views.
ALTER TABLE trans_global
  ADD KEY trans_global_update_time_id (update_time, id),
  ADD KEY trans_global_next_cron_time_id (next_cron_time, id),
  ADD KEY trans_global_retry_count_id (retry_count, id);

CREATE TABLE dashboard_view (
  id BIGINT NOT NULL AUTO_INCREMENT,
  user_id BIGINT NOT NULL,
  name VARCHAR(128) NOT NULL,
  query TEXT NOT NULL,
  created_at DATETIME(3) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY dashboard_view_user_name (user_id, name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
