-- Dashboard: audit log, users, coordinator nodes; indexes for listing and overview queries.
CREATE INDEX trans_global_status_id ON trans_global (status, id);
CREATE INDEX trans_global_type_id ON trans_global (trans_type, id);
CREATE INDEX trans_global_finish_time ON trans_global (finish_time);
CREATE INDEX trans_global_rollback_time ON trans_global (rollback_time);

CREATE TABLE audit_log (
  id BIGINT NOT NULL AUTO_INCREMENT,
  at DATETIME(3) NOT NULL,
  actor VARCHAR(128) NOT NULL,
  action VARCHAR(45) NOT NULL,
  reason TEXT NOT NULL,
  target TEXT NOT NULL,
  gid_count INT NOT NULL,
  succeeded INT NOT NULL,
  failed INT NOT NULL,
  details MEDIUMTEXT NOT NULL,
  PRIMARY KEY (id),
  KEY audit_log_at (at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE dashboard_user (
  id BIGINT NOT NULL AUTO_INCREMENT,
  username VARCHAR(128) NOT NULL,
  password_hash VARCHAR(1024) NOT NULL,
  role VARCHAR(12) NOT NULL,
  disabled BOOLEAN NOT NULL DEFAULT false,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY dashboard_user_username (username)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE coordinator_node (
  instance_id VARCHAR(128) NOT NULL,
  address VARCHAR(1024) NOT NULL,
  version VARCHAR(45) NOT NULL,
  hostname VARCHAR(1024) NOT NULL,
  pid INT NOT NULL,
  store VARCHAR(45) NOT NULL,
  started_at DATETIME(3) NOT NULL,
  heartbeat_at DATETIME(3) NOT NULL,
  in_flight INT NOT NULL,
  PRIMARY KEY (instance_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
