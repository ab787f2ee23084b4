-- Transactions list (docs/operations.md, "Sorting and saved views"): an index per sort order that
-- would otherwise read the whole table (created uses trans_global_create_time, the default order
-- the primary key), and each dashboard user's saved views.
CREATE INDEX trans_global_update_time_id ON trans_global (update_time, id);
CREATE INDEX trans_global_next_cron_time_id ON trans_global (next_cron_time, id);
CREATE INDEX trans_global_retry_count_id ON trans_global (retry_count, id);

CREATE TABLE dashboard_view (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  query TEXT NOT NULL,
  created_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX dashboard_view_user_name ON dashboard_view (user_id, name);
