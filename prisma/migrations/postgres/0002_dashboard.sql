-- Dashboard: audit log, users, coordinator nodes; indexes for listing and overview queries.
CREATE INDEX trans_global_status_id ON trans_global (status, id);
CREATE INDEX trans_global_type_id ON trans_global (trans_type, id);
CREATE INDEX trans_global_finish_time ON trans_global (finish_time);
CREATE INDEX trans_global_rollback_time ON trans_global (rollback_time);

CREATE TABLE audit_log (
  id BIGSERIAL PRIMARY KEY,
  at TIMESTAMPTZ(3) NOT NULL,
  actor VARCHAR(128) NOT NULL,
  action VARCHAR(45) NOT NULL,
  reason TEXT NOT NULL,
  target TEXT NOT NULL,
  gid_count INTEGER NOT NULL,
  succeeded INTEGER NOT NULL,
  failed INTEGER NOT NULL,
  details TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TABLE dashboard_user (
  id BIGSERIAL PRIMARY KEY,
  username VARCHAR(128) NOT NULL,
  password_hash VARCHAR(1024) NOT NULL,
  role VARCHAR(12) NOT NULL,
  disabled BOOLEAN NOT NULL DEFAULT false,
  created_at TIMESTAMPTZ(3) NOT NULL,
  updated_at TIMESTAMPTZ(3) NOT NULL,
  CONSTRAINT dashboard_user_username UNIQUE (username)
);

CREATE TABLE coordinator_node (
  instance_id VARCHAR(128) PRIMARY KEY,
  address VARCHAR(1024) NOT NULL,
  version VARCHAR(45) NOT NULL,
  hostname VARCHAR(1024) NOT NULL,
  pid INTEGER NOT NULL,
  store VARCHAR(45) NOT NULL,
  started_at TIMESTAMPTZ(3) NOT NULL,
  heartbeat_at TIMESTAMPTZ(3) NOT NULL,
  in_flight INTEGER NOT NULL
);
