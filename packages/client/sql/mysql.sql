-- dtm barrier table for MySQL / MariaDB (@dtx/client). Same rows as dtm's Go SDK writes.
create database if not exists dtm_barrier /*!40100 DEFAULT CHARACTER SET utf8mb4 */;
create table if not exists dtm_barrier.barrier (
  id bigint(22) PRIMARY KEY AUTO_INCREMENT,
  trans_type varchar(45) default '',
  gid varchar(128) default '',
  branch_id varchar(128) default '',
  op varchar(45) default '',
  barrier_id varchar(45) default '',
  reason varchar(45) default '' comment 'the op of the request that inserted this row',
  create_time datetime DEFAULT now(),
  update_time datetime DEFAULT now(),
  key(create_time),
  key(update_time),
  UNIQUE key gid (gid, branch_id, op, barrier_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
