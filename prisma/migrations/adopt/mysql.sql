-- Adopts a database created by dtm's own MySQL schema (trans_global, trans_branch_op, kv), so that
-- dtx can replace a dtm server without a new database. Run once, instead of 0001_init, when
-- trans_global exists and no migration has been recorded. Existing rows are kept; transactions
-- dtm left unfinished are picked up by dtx's scheduler.
UPDATE trans_global SET options = '' WHERE options IS NULL;
UPDATE trans_global SET custom_data = '' WHERE custom_data IS NULL;
UPDATE trans_global SET ext_data = '' WHERE ext_data IS NULL;
UPDATE trans_global SET result = '' WHERE result IS NULL;
UPDATE trans_global SET rollback_reason = '' WHERE rollback_reason IS NULL;
ALTER TABLE trans_global
  MODIFY create_time DATETIME(3) NULL,
  MODIFY update_time DATETIME(3) NULL,
  MODIFY finish_time DATETIME(3) NULL,
  MODIFY rollback_time DATETIME(3) NULL,
  MODIFY next_cron_time DATETIME(3) NULL,
  MODIFY options TEXT NOT NULL,
  MODIFY custom_data TEXT NOT NULL,
  MODIFY ext_data TEXT NOT NULL,
  MODIFY result TEXT NOT NULL,
  MODIFY rollback_reason TEXT NOT NULL,
  ADD COLUMN lease_expire DATETIME(3) NULL,
  ADD COLUMN retry_count INT NOT NULL DEFAULT 0,
  ADD COLUMN last_error TEXT NOT NULL,
  ADD KEY trans_global_create_time (create_time);

ALTER TABLE trans_branch_op
  MODIFY bin_data MEDIUMBLOB NULL,
  MODIFY finish_time DATETIME(3) NULL,
  MODIFY rollback_time DATETIME(3) NULL,
  MODIFY create_time DATETIME(3) NULL,
  MODIFY update_time DATETIME(3) NULL;

ALTER TABLE kv
  MODIFY create_time DATETIME(3) NULL,
  MODIFY update_time DATETIME(3) NULL;

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
