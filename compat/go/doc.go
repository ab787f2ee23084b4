// Package compat holds black-box compatibility tests that drive the dtx coordinator with the
// official dtm Go SDK (github.com/dtm-labs/client): services written for dtm must work against
// dtx unchanged.
//
// The tests start the coordinator (node apps/server/src/main.ts, from the repository root) as a
// child process, run their branch services in-process over net/http and use MariaDB as the
// business database (DTX_TEST_MYSQL_URL). See README.md.
package compat
