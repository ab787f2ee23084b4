-- Topics page: the calls to one subscriber URL in a time window (delivered / failed, last error).
-- A prefix of the URL (queries repeat left(url, 200)): a long multibyte URL could exceed a
-- B-tree entry's size limit, and the attempt batch holding it would fail to insert.
CREATE INDEX branch_attempt_url_started_at ON branch_attempt (left(url, 200), started_at);
