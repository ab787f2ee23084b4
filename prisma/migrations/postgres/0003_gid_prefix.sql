-- Dashboard: gid prefix search (LIKE 'prefix%') uses an index whatever the database's collation.
CREATE INDEX trans_global_gid_pattern ON trans_global (gid varchar_pattern_ops);
