-- dtm barrier table for PostgreSQL (@dtx/client). Same rows as dtm's Go SDK writes; unlike
-- dtm's file, create_time defaults to now() so that cleanupBarriers can tell a row's age.
create schema if not exists dtm_barrier;
create sequence if not exists dtm_barrier.barrier_seq;
create table if not exists dtm_barrier.barrier (
  id bigint NOT NULL DEFAULT nextval('dtm_barrier.barrier_seq'),
  trans_type varchar(45) default '',
  gid varchar(128) default '',
  branch_id varchar(128) default '',
  op varchar(45) default '',
  barrier_id varchar(45) default '',
  reason varchar(45) default '',
  create_time timestamp(0) with time zone DEFAULT now(),
  update_time timestamp(0) with time zone DEFAULT now(),
  PRIMARY KEY (id),
  CONSTRAINT uniq_barrier UNIQUE (gid, branch_id, op, barrier_id)
);
create index if not exists barrier_create_time on dtm_barrier.barrier (create_time);
