-- Core tables. Times are INTEGER milliseconds since the epoch (Prisma's "unixepoch-ms" format).
CREATE TABLE trans_global (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  gid TEXT NOT NULL,
  trans_type TEXT NOT NULL,
  status TEXT NOT NULL,
  query_prepared TEXT NOT NULL,
  protocol TEXT NOT NULL,
  create_time DATETIME,
  update_time DATETIME,
  finish_time DATETIME,
  rollback_time DATETIME,
  options TEXT NOT NULL DEFAULT '',
  custom_data TEXT NOT NULL DEFAULT '',
  next_cron_interval INTEGER,
  next_cron_time DATETIME,
  owner TEXT NOT NULL DEFAULT '',
  ext_data TEXT NOT NULL DEFAULT '',
  result TEXT NOT NULL DEFAULT '',
  rollback_reason TEXT NOT NULL DEFAULT '',
  lease_expire DATETIME,
  retry_count INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX gid ON trans_global (gid);
CREATE INDEX status_next_cron_time ON trans_global (status, next_cron_time);
CREATE INDEX owner ON trans_global (owner);
CREATE INDEX trans_global_create_time ON trans_global (create_time);

CREATE TABLE trans_branch_op (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  gid TEXT NOT NULL,
  url TEXT NOT NULL,
  bin_data BLOB,
  branch_id TEXT NOT NULL,
  op TEXT NOT NULL,
  status TEXT NOT NULL,
  finish_time DATETIME,
  rollback_time DATETIME,
  create_time DATETIME,
  update_time DATETIME
);
CREATE UNIQUE INDEX gid_branch_uniq ON trans_branch_op (gid, branch_id, op);

CREATE TABLE branch_attempt (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  gid TEXT NOT NULL,
  branch_id TEXT NOT NULL,
  op TEXT NOT NULL,
  url TEXT NOT NULL,
  protocol TEXT NOT NULL,
  started_at DATETIME NOT NULL,
  duration_ms INTEGER NOT NULL,
  http_status INTEGER,
  grpc_code INTEGER,
  outcome TEXT NOT NULL,
  response TEXT NOT NULL,
  error TEXT NOT NULL,
  owner TEXT NOT NULL
);
CREATE INDEX branch_attempt_gid ON branch_attempt (gid, id);

CREATE TABLE kv (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  cat TEXT NOT NULL,
  k TEXT NOT NULL,
  v TEXT,
  version INTEGER NOT NULL DEFAULT 1,
  create_time DATETIME,
  update_time DATETIME
);
CREATE UNIQUE INDEX uniq_k ON kv (cat, k);
