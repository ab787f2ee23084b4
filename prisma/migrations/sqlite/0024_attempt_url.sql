-- Topics page: the calls to one subscriber URL in a time window (delivered / failed, last error).
CREATE INDEX branch_attempt_url_started_at ON branch_attempt (url, started_at);
