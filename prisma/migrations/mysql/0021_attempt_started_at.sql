-- Overview "Failing endpoints": branch calls of a time window, read by their start time.
CREATE INDEX branch_attempt_started_at ON branch_attempt (started_at);
