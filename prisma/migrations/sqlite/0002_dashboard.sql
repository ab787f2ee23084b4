-- Dashboard: audit log, users, coordinator nodes; indexes for listing and overview queries.
CREATE INDEX trans_global_status_id ON trans_global (status, id);
CREATE INDEX trans_global_type_id ON trans_global (trans_type, id);
CREATE INDEX trans_global_finish_time ON trans_global (finish_time);
CREATE INDEX trans_global_rollback_time ON trans_global (rollback_time);

CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at DATETIME NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  reason TEXT NOT NULL,
  target TEXT NOT NULL,
  gid_count INTEGER NOT NULL,
  succeeded INTEGER NOT NULL,
  failed INTEGER NOT NULL,
  details TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TABLE dashboard_user (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  username TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  role TEXT NOT NULL,
  disabled BOOLEAN NOT NULL DEFAULT false,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX dashboard_user_username ON dashboard_user (username);

CREATE TABLE coordinator_node (
  instance_id TEXT PRIMARY KEY NOT NULL,
  address TEXT NOT NULL,
  version TEXT NOT NULL,
  hostname TEXT NOT NULL,
  pid INTEGER NOT NULL,
  store TEXT NOT NULL,
  started_at DATETIME NOT NULL,
  heartbeat_at DATETIME NOT NULL,
  in_flight INTEGER NOT NULL
);
