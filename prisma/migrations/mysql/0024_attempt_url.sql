-- Topics page: the calls to one subscriber URL in a time window (delivered / failed, last error).
-- A prefix of the URL: a key of the whole VARCHAR(1024) in utf8mb4 exceeds InnoDB's 3072 bytes.
CREATE INDEX branch_attempt_url_started_at ON branch_attempt (url(200), started_at);
