-- Transactions list (docs/operations.md, "Sorting and saved views"): an index per sort order that
-- would otherwise read the whole table (created uses trans_global_create_time, the default order
-- the primary key), and each dashboard user's saved views.
CREATE INDEX trans_global_update_time_id ON trans_global (update_time, id);
CREATE INDEX trans_global_next_cron_time_id ON trans_global (next_cron_time, id);
CREATE INDEX trans_global_retry_count_id ON trans_global (retry_count, id);

CREATE TABLE dashboard_view (
  id BIGSERIAL PRIMARY KEY,
  user_id BIGINT NOT NULL,
  name VARCHAR(128) NOT NULL,
  query TEXT NOT NULL,
  created_at TIMESTAMPTZ(3) NOT NULL,
  CONSTRAINT dashboard_view_user_name UNIQUE (user_id, name)
);
