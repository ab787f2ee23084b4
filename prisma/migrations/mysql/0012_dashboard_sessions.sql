-- Dashboard sessions kept in the database (docs/security.md, "Dashboard"): only the SHA-256 of
-- each session token is stored. login_limit holds the login attempt counters shared by every
-- dashboard instance (per username and per remote address).
CREATE TABLE dashboard_session (
  id BIGINT NOT NULL AUTO_INCREMENT,
  token_hash VARCHAR(128) NOT NULL,
  user_id BIGINT NOT NULL,
  created_at DATETIME(3) NOT NULL,
  last_seen_at DATETIME(3) NOT NULL,
  expires_at DATETIME(3) NOT NULL,
  remote_addr VARCHAR(128) NOT NULL,
  user_agent VARCHAR(1024) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY dashboard_session_token (token_hash),
  KEY dashboard_session_user (user_id),
  KEY dashboard_session_expires (expires_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE login_limit (
  limit_key VARCHAR(128) NOT NULL,
  points INT NOT NULL,
  expire_at DATETIME(3) NULL,
  PRIMARY KEY (limit_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
