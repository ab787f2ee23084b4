-- Dashboard sessions kept in the database (docs/security.md, "Dashboard"): only the SHA-256 of
-- each session token is stored. login_limit holds the login attempt counters shared by every
-- dashboard instance (per username and per remote address).
CREATE TABLE dashboard_session (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  token_hash TEXT NOT NULL,
  user_id INTEGER NOT NULL,
  created_at DATETIME NOT NULL,
  last_seen_at DATETIME NOT NULL,
  expires_at DATETIME NOT NULL,
  remote_addr TEXT NOT NULL,
  user_agent TEXT NOT NULL
);
CREATE UNIQUE INDEX dashboard_session_token ON dashboard_session (token_hash);
CREATE INDEX dashboard_session_user ON dashboard_session (user_id);
CREATE INDEX dashboard_session_expires ON dashboard_session (expires_at);

CREATE TABLE login_limit (
  limit_key TEXT PRIMARY KEY NOT NULL,
  points INTEGER NOT NULL,
  expire_at DATETIME
);
