-- Core tables, named as in dtm's PostgreSQL schema (constraint names included: operators' SQL and
-- dtm's async upsert refer to gid_branch_uniq).
CREATE TABLE trans_global (
  id BIGSERIAL PRIMARY KEY,
  gid VARCHAR(128) NOT NULL,
  trans_type VARCHAR(45) NOT NULL,
  status VARCHAR(12) NOT NULL,
  query_prepared VARCHAR(1024) NOT NULL,
  protocol VARCHAR(45) NOT NULL,
  create_time TIMESTAMPTZ(3),
  update_time TIMESTAMPTZ(3),
  finish_time TIMESTAMPTZ(3),
  rollback_time TIMESTAMPTZ(3),
  options TEXT NOT NULL DEFAULT '',
  custom_data TEXT NOT NULL DEFAULT '',
  next_cron_interval INTEGER,
  next_cron_time TIMESTAMPTZ(3),
  owner VARCHAR(128) NOT NULL DEFAULT '',
  ext_data TEXT NOT NULL DEFAULT '',
  result TEXT NOT NULL DEFAULT '',
  rollback_reason TEXT NOT NULL DEFAULT '',
  lease_expire TIMESTAMPTZ(3),
  retry_count INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  CONSTRAINT gid UNIQUE (gid)
);
CREATE INDEX status_next_cron_time ON trans_global (status, next_cron_time);
CREATE INDEX owner ON trans_global (owner);
CREATE INDEX trans_global_create_time ON trans_global (create_time);

CREATE TABLE trans_branch_op (
  id BIGSERIAL PRIMARY KEY,
  gid VARCHAR(128) NOT NULL,
  url VARCHAR(1024) NOT NULL,
  bin_data BYTEA,
  branch_id VARCHAR(128) NOT NULL,
  op VARCHAR(45) NOT NULL,
  status VARCHAR(45) NOT NULL,
  finish_time TIMESTAMPTZ(3),
  rollback_time TIMESTAMPTZ(3),
  create_time TIMESTAMPTZ(3),
  update_time TIMESTAMPTZ(3),
  CONSTRAINT gid_branch_uniq UNIQUE (gid, branch_id, op)
);

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

CREATE TABLE kv (
  id BIGSERIAL PRIMARY KEY,
  cat VARCHAR(45) NOT NULL,
  k VARCHAR(128) NOT NULL,
  v TEXT,
  version BIGINT NOT NULL DEFAULT 1,
  create_time TIMESTAMPTZ(3),
  update_time TIMESTAMPTZ(3),
  CONSTRAINT uniq_k UNIQUE (cat, k)
);
