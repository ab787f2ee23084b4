// The barrier table's DDL per database (docs/client/barrier.md "Table"): dtm's columns, types,
// defaults and unique key, so Go and TypeScript services can share one table. The same text is
// shipped as sql/postgres.sql and sql/mysql.sql (a test keeps them equal).
import { checkedTable, type BarrierDialect } from './core.js';

/** The statements that create the barrier table (and its schema / database) if missing. */
export function barrierDdl(dialect: BarrierDialect, table = 'dtm_barrier.barrier'): string[] {
  checkedTable(table);
  const dot = table.indexOf('.');
  const schema = dot > 0 ? table.slice(0, dot) : undefined;
  const base = dot > 0 ? table.slice(dot + 1) : table;
  if (dialect === 'mysql') {
    return [
      ...(schema ? [`create database if not exists ${schema} /*!40100 DEFAULT CHARACTER SET utf8mb4 */`] : []),
      `create table if not exists ${table} (
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
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4`,
    ];
  }
  return [
    ...(schema ? [`create schema if not exists ${schema}`] : []),
    `create sequence if not exists ${table}_seq`,
    `create table if not exists ${table} (
  id bigint NOT NULL DEFAULT nextval('${table}_seq'),
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
)`,
    `create index if not exists ${base}_create_time on ${table} (create_time)`,
  ];
}

/** The DDL as one SQL file's text (what sql/<dialect>.sql contains). */
export function barrierDdlFile(dialect: BarrierDialect): string {
  const head =
    dialect === 'mysql'
      ? "-- dtm barrier table for MySQL / MariaDB (@dtx/client). Same rows as dtm's Go SDK writes.\n"
      : "-- dtm barrier table for PostgreSQL (@dtx/client). Same rows as dtm's Go SDK writes; unlike\n-- dtm's file, create_time defaults to now() so that cleanupBarriers can tell a row's age.\n";
  return (
    head +
    barrierDdl(dialect)
      .map((s) => `${s};\n`)
      .join('')
  );
}
