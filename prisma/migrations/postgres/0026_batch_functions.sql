-- The group commit's two batch statements (packages/db/src/pg-batch.ts) as functions. Sent as a
-- plain statement, a batch was parsed and planned at every execution: 0.4-0.5 ms of the database's
-- time, more than it took to run. PL/pgSQL keeps a function's plans for the session, and the SET
-- clauses make that plan the one wanted at any table size, the arrays' rows joined to the tables
-- through their unique indexes: it is made, and remade after each ANALYZE, with sequential scans,
-- hash joins and merge joins priced out, so a plan made while a new database's tables are still
-- small cannot scan them once they have grown.
--
-- dtx_insert_many: the members' globals (18 arrays, the columns of GLOBAL_INSERT_COLUMNS in
-- values.ts, lease_expire as the lease in ms) and their branches (8 arrays, BRANCH_INSERT_COLUMNS).
-- A member whose gid exists already is skipped, its branches too; the gids inserted come back.
CREATE OR REPLACE FUNCTION dtx_insert_many(text[], text[], text[], text[], text[], timestamptz[], timestamptz[],
    text[], text[], int[], timestamptz[], text[], text[], text[], text[], int[], int[], text[],
    text[], text[], bytea[], text[], text[], text[], timestamptz[], timestamptz[])
  RETURNS SETOF varchar LANGUAGE plpgsql
  SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
  RETURN QUERY
  WITH v AS (SELECT * FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
      WITH ORDINALITY AS v(gid, trans_type, status, query_prepared, protocol, create_time, update_time, options,
        custom_data, next_cron_interval, next_cron_time, owner, ext_data, result, rollback_reason, lease_expire,
        retry_count, last_error, ord)),
    g AS (INSERT INTO trans_global (gid, trans_type, status, query_prepared, protocol, create_time, update_time,
        options, custom_data, next_cron_interval, next_cron_time, owner, ext_data, result, rollback_reason,
        lease_expire, retry_count, last_error)
      SELECT v.gid, v.trans_type, v.status, v.query_prepared, v.protocol, v.create_time, v.update_time, v.options,
        v.custom_data, v.next_cron_interval, v.next_cron_time, v.owner, v.ext_data, v.result, v.rollback_reason,
        clock_timestamp() + NULLIF(v.lease_expire, 0) * interval '1 millisecond', v.retry_count, v.last_error
      FROM v ORDER BY v.ord ON CONFLICT (gid) DO NOTHING RETURNING trans_global.gid),
    b AS (INSERT INTO trans_branch_op (gid, url, bin_data, branch_id, op, status, create_time, update_time)
      SELECT x.gid, x.url, x.bin_data, x.branch_id, x.op, x.status, x.create_time, x.update_time
      FROM unnest($19, $20, $21, $22, $23, $24, $25, $26) WITH ORDINALITY
        AS x(gid, url, bin_data, branch_id, op, status, create_time, update_time, ord)
      WHERE x.gid IN (SELECT g.gid FROM g) ORDER BY x.ord)
  SELECT g.gid FROM g;
END
$$;

-- dtx_status_many: status changes of several transactions (15 arrays, one element per
-- transaction) and the branch results they carry (5 arrays: gid, branch_id, op, status, time).
-- The branch results are written whatever the outcome of the compare-and-set (they are facts); a
-- NULL in an optional column's array leaves that column as it is. The gids that matched come back.
CREATE OR REPLACE FUNCTION dtx_status_many(text[], text[], text[], timestamptz[], text[], text[], bool[], int[],
    text[], bool[], timestamptz[], int[], timestamptz[], text[], text[],
    text[], text[], text[], text[], timestamptz[])
  RETURNS SETOF varchar LANGUAGE plpgsql
  SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
  RETURN QUERY
  WITH v AS (SELECT * FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
      AS v(gid, from_status, to_status, now, rollback_reason, owner, release, errors, last_error, set_streak,
        fail_since, fail_streak, ongoing_since, fail_endpoint, fail_detail)),
    b AS (UPDATE trans_branch_op t SET status = x.status, finish_time = x.now, update_time = x.now
      FROM unnest($16, $17, $18, $19, $20) AS x(gid, branch_id, op, status, now)
      WHERE t.gid = x.gid AND t.branch_id = x.branch_id AND t.op = x.op AND t.status = 'prepared' RETURNING 1)
  UPDATE trans_global t SET status = v.to_status, update_time = v.now,
    finish_time = CASE WHEN v.to_status = 'succeed' THEN v.now ELSE t.finish_time END,
    rollback_time = CASE WHEN v.to_status = 'failed' THEN v.now ELSE t.rollback_time END,
    rollback_reason = COALESCE(v.rollback_reason, t.rollback_reason),
    owner = CASE WHEN v.release THEN '' ELSE t.owner END,
    lease_expire = CASE WHEN v.release THEN NULL ELSE t.lease_expire END,
    retry_count = t.retry_count + v.errors, last_error = COALESCE(v.last_error, t.last_error),
    fail_since = CASE WHEN v.set_streak THEN v.fail_since ELSE t.fail_since END,
    fail_streak = CASE WHEN v.set_streak THEN v.fail_streak ELSE t.fail_streak END,
    ongoing_since = CASE WHEN v.set_streak THEN v.ongoing_since ELSE t.ongoing_since END,
    fail_endpoint = CASE WHEN v.set_streak THEN v.fail_endpoint ELSE t.fail_endpoint END,
    fail_detail = CASE WHEN v.set_streak THEN v.fail_detail ELSE t.fail_detail END
  FROM v WHERE t.gid = v.gid AND t.status = v.from_status AND t.owner = v.owner RETURNING t.gid;
END
$$;
