-- Dashboard sessions kept in the database (docs/security.md, "Dashboard"): only the SHA-256 of
-- each session token is stored. login_limit holds the login attempt counters shared by every
-- dashboard instance (per username and per remote address).
CREATE TABLE dashboard_session (
  id BIGSERIAL PRIMARY KEY,
  token_hash VARCHAR(128) NOT NULL,
  user_id BIGINT NOT NULL,
  created_at TIMESTAMPTZ(3) NOT NULL,
  last_seen_at TIMESTAMPTZ(3) NOT NULL,
  expires_at TIMESTAMPTZ(3) NOT NULL,
  remote_addr VARCHAR(128) NOT NULL,
  user_agent VARCHAR(1024) NOT NULL,
  CONSTRAINT dashboard_session_token UNIQUE (token_hash)
);
CREATE INDEX dashboard_session_user ON dashboard_session (user_id);
CREATE INDEX dashboard_session_expires ON dashboard_session (expires_at);

CREATE TABLE login_limit (
  limit_key VARCHAR(128) PRIMARY KEY,
  points INTEGER NOT NULL,
  expire_at TIMESTAMPTZ(3)
);
