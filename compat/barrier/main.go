// Command barrier runs dtm's Go SDK barrier (dtmcli.BranchBarrier.CallWithDB) for one branch
// request against a MySQL/MariaDB barrier table, so that packages/client/test/barrier-go.test.ts
// can interleave Go and TypeScript calls on the same rows. The business code inserts
// (gid, op) into busi_log in the barrier's transaction. Prints "ran" or "skipped".
//
//	go run . -dsn 'root:pw@tcp(127.0.0.1:3306)/db' -table db.barrier -trans saga -gid G -branch 01 -op compensate
package main

import (
	"database/sql"
	"flag"
	"fmt"
	"os"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/dtm-labs/logger"
	_ "github.com/go-sql-driver/mysql"
)

func main() {
	dsn := flag.String("dsn", "", "go-sql-driver DSN of the business database")
	table := flag.String("table", "dtm_barrier.barrier", "barrier table")
	trans := flag.String("trans", "saga", "trans_type")
	gid := flag.String("gid", "", "gid")
	branch := flag.String("branch", "01", "branch_id")
	op := flag.String("op", "action", "op")
	flag.Parse()
	logger.InitLog("error")
	dtmcli.SetCurrentDBType(dtmcli.DBTypeMysql)
	dtmcli.SetBarrierTableName(*table)

	db, err := sql.Open("mysql", *dsn)
	if err != nil {
		fail(err)
	}
	defer db.Close()
	bb, err := dtmcli.BarrierFrom(*trans, *gid, *branch, *op)
	if err != nil {
		fail(err)
	}
	ran := false
	err = bb.CallWithDB(db, func(tx *sql.Tx) error {
		ran = true
		_, err := tx.Exec("insert into busi_log (gid, op) values (?, ?)", *gid, *op)
		return err
	})
	if err != nil {
		fail(err)
	}
	if ran {
		fmt.Println("ran")
	} else {
		fmt.Println("skipped")
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
