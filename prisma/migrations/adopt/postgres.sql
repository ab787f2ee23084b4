-- Adopts a database created by dtm's own PostgreSQL schema (trans_global, trans_branch_op, kv),
-- so that dtx can replace a dtm server without a new database. Run once, instead of 0001_init,
-- when trans_global exists and no migration has been recorded. Existing rows are kept;
-- transactions dtm left unfinished are picked up by dtx's scheduler.
UPDATE trans_global SET options = '' WHERE options IS NULL;
UPDATE trans_global SET custom_data = '' WHERE custom_data IS NULL;
UPDATE trans_global SET ext_data = '' WHERE ext_data IS NULL;
UPDATE trans_global SET result = '' WHERE result IS NULL;
UPDATE trans_global SET rollback_reason = '' WHERE rollback_reason IS NULL;
ALTER TABLE trans_global
  ALTER COLUMN create_time TYPE TIMESTAMPTZ(3),
  ALTER COLUMN update_time TYPE TIMESTAMPTZ(3),
  ALTER COLUMN finish_time TYPE TIMESTAMPTZ(3),
  ALTER COLUMN rollback_time TYPE TIMESTAMPTZ(3),
  ALTER COLUMN next_cron_time TYPE TIMESTAMPTZ(3),
  ALTER COLUMN status TYPE VARCHAR(45),
  ALTER COLUMN options TYPE TEXT,
  ALTER COLUMN options SET DEFAULT '',
  ALTER COLUMN options SET NOT NULL,
  ALTER COLUMN custom_data TYPE TEXT,
  ALTER COLUMN custom_data SET DEFAULT '',
  ALTER COLUMN custom_data SET NOT NULL,
  ALTER COLUMN ext_data TYPE TEXT,
  ALTER COLUMN ext_data SET DEFAULT '',
  ALTER COLUMN ext_data SET NOT NULL,
  ALTER COLUMN result TYPE TEXT,
  ALTER COLUMN result SET DEFAULT '',
  ALTER COLUMN result SET NOT NULL,
  ALTER COLUMN rollback_reason TYPE TEXT,
  ALTER COLUMN rollback_reason SET DEFAULT '',
  ALTER COLUMN rollback_reason SET NOT NULL,
  ADD COLUMN lease_expire TIMESTAMPTZ(3),
  ADD COLUMN retry_count INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
CREATE INDEX trans_global_create_time ON trans_global (create_time);

ALTER TABLE trans_branch_op
  ALTER COLUMN finish_time TYPE TIMESTAMPTZ(3),
  ALTER COLUMN rollback_time TYPE TIMESTAMPTZ(3),
  ALTER COLUMN create_time TYPE TIMESTAMPTZ(3),
  ALTER COLUMN update_time TYPE TIMESTAMPTZ(3);

ALTER TABLE kv
  ALTER COLUMN create_time TYPE TIMESTAMPTZ(3),
  ALTER COLUMN update_time TYPE TIMESTAMPTZ(3);

CREATE TABLE branch_attempt (
  id BIGSERIAL PRIMARY KEY,
  gid VARCHAR(128) NOT NULL,
  branch_id VARCHAR(128) NOT NULL,
  op VARCHAR(45) NOT NULL,
  url VARCHAR(1024) NOT NULL,
  protocol VARCHAR(45) NOT NULL,
  started_at TIMESTAMPTZ(3) NOT NULL,
  duration_ms INTEGER NOT NULL,
  http_status INTEGER,
  grpc_code INTEGER,
  outcome VARCHAR(12) NOT NULL,
  response TEXT NOT NULL,
  error TEXT NOT NULL,
  owner VARCHAR(128) NOT NULL
);
CREATE INDEX branch_attempt_gid ON branch_attempt (gid, id);
