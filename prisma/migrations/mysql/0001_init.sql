-- Core tables, named as in dtm's MySQL schema. Times are DATETIME(3) in UTC.
CREATE TABLE trans_global (
  id BIGINT NOT NULL AUTO_INCREMENT,
  gid VARCHAR(128) NOT NULL,
  trans_type VARCHAR(45) NOT NULL,
  status VARCHAR(12) NOT NULL,
  query_prepared VARCHAR(1024) NOT NULL,
  protocol VARCHAR(45) NOT NULL,
  create_time DATETIME(3) NULL,
  update_time DATETIME(3) NULL,
  finish_time DATETIME(3) NULL,
  rollback_time DATETIME(3) NULL,
  options TEXT NOT NULL,
  custom_data TEXT NOT NULL,
  next_cron_interval INT NULL,
  next_cron_time DATETIME(3) NULL,
  owner VARCHAR(128) NOT NULL DEFAULT '',
  ext_data TEXT NOT NULL,
  result TEXT NOT NULL,
  rollback_reason TEXT NOT NULL,
  lease_expire DATETIME(3) NULL,
  retry_count INT NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY gid (gid),
  KEY owner (owner),
  KEY status_next_cron_time (status, next_cron_time),
  KEY trans_global_create_time (create_time)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE trans_branch_op (
  id BIGINT NOT NULL AUTO_INCREMENT,
  gid VARCHAR(128) NOT NULL,
  url VARCHAR(1024) NOT NULL,
  bin_data MEDIUMBLOB NULL,
  branch_id VARCHAR(128) NOT NULL,
  op VARCHAR(45) NOT NULL,
  status VARCHAR(45) NOT NULL,
  finish_time DATETIME(3) NULL,
  rollback_time DATETIME(3) NULL,
  create_time DATETIME(3) NULL,
  update_time DATETIME(3) NULL,
  PRIMARY KEY (id),
  UNIQUE KEY gid_branch_uniq (gid, branch_id, op)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE branch_attempt (
  id BIGINT NOT NULL AUTO_INCREMENT,
  gid VARCHAR(128) NOT NULL,
  branch_id VARCHAR(128) NOT NULL,
  op VARCHAR(45) NOT NULL,
  url VARCHAR(1024) NOT NULL,
  protocol VARCHAR(45) NOT NULL,
  started_at DATETIME(3) NOT NULL,
  duration_ms INT NOT NULL,
  http_status INT NULL,
  grpc_code INT NULL,
  outcome VARCHAR(12) NOT NULL,
  response TEXT NOT NULL,
  error TEXT NOT NULL,
  owner VARCHAR(128) NOT NULL,
  PRIMARY KEY (id),
  KEY branch_attempt_gid (gid, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE kv (
  id BIGINT NOT NULL AUTO_INCREMENT,
  cat VARCHAR(45) NOT NULL,
  k VARCHAR(128) NOT NULL,
  v TEXT NULL,
  version BIGINT NOT NULL DEFAULT 1,
  create_time DATETIME(3) NULL,
  update_time DATETIME(3) NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uniq_k (cat, k)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
