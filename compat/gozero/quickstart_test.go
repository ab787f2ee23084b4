package gozero_test

// dtm's quick start over gRPC (saga, TCC, msg) against the bank service, with the coordinator and
// the service both found through etcd; assertions are on the account rows.

import (
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/dtm-labs/client/dtmgrpc"

	"dtx.local/compat/gozero/shoppb"
)

// accounts creates two fresh accounts with `balance` each.
func accounts(t *testing.T, balance int64) (int64, int64) {
	t.Helper()
	base := time.Now().UnixNano() % 1_000_000_000 * 2
	mustExec(t, busiDB, "INSERT INTO user_account(user_id, balance) VALUES (?, ?), (?, ?)", base, balance, base+1, balance)
	return base, base + 1
}

func balances(t *testing.T, a, b int64) (int64, int64) {
	t.Helper()
	q := "SELECT balance FROM user_account WHERE user_id = ?"
	return scalar(t, busiDB, q, a), scalar(t, busiDB, q, b)
}

func trading(t *testing.T, a, b int64) int64 {
	t.Helper()
	return scalar(t, busiDB, "SELECT SUM(ABS(trading_balance)) FROM user_account WHERE user_id IN (?, ?)", a, b)
}

// waitBalances waits (generously) for the accounts to reach the expected balances.
func waitBalances(t *testing.T, a, b, wantA, wantB int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		gotA, gotB := balances(t, a, b)
		if gotA == wantA && gotB == wantB {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("balances = %d, %d; want %d, %d", gotA, gotB, wantA, wantB)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestQuickStartSagaOverGrpc(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		a, b := accounts(t, 1000)
		gid := dtmgrpc.MustGenGid(c.target)
		saga := dtmgrpc.NewSagaGrpc(c.target, gid).
			Add(svcURL(busiSvc, "shop.Busi/TransOut"), svcURL(busiSvc, "shop.Busi/TransOutRevert"), &shoppb.BusiReq{Amount: 30, UserID: a}).
			Add(svcURL(busiSvc, "shop.Busi/TransIn"), svcURL(busiSvc, "shop.Busi/TransInRevert"), &shoppb.BusiReq{Amount: 30, UserID: b})
		saga.WaitResult = true
		if err := saga.Submit(); err != nil {
			t.Fatalf("submit: %v", err)
		}
		c.waitStatus(t, gid, "succeed", 10*time.Second)
		waitBalances(t, a, b, 970, 1030)
	})
}

func TestQuickStartSagaOverGrpcCompensatesWhenTransInFails(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		a, b := accounts(t, maxTransIn+1000)
		gid := dtmgrpc.MustGenGid(c.target)
		amount := int64(maxTransIn + 1)
		saga := dtmgrpc.NewSagaGrpc(c.target, gid).
			Add(svcURL(busiSvc, "shop.Busi/TransOut"), svcURL(busiSvc, "shop.Busi/TransOutRevert"), &shoppb.BusiReq{Amount: amount, UserID: a}).
			Add(svcURL(busiSvc, "shop.Busi/TransIn"), svcURL(busiSvc, "shop.Busi/TransInRevert"), &shoppb.BusiReq{Amount: amount, UserID: b})
		saga.WaitResult = true
		err := saga.Submit()
		// With wait_result the SDK reports the rollback as an Aborted status (FAILURE).
		if err == nil || !errors.Is(dtmgrpc.GrpcError2DtmError(err), dtmcli.ErrFailure) {
			t.Fatalf("submit: %v, want a FAILURE", err)
		}
		c.waitStatus(t, gid, "failed", 10*time.Second)
		waitBalances(t, a, b, maxTransIn+1000, maxTransIn+1000)
	})
}

func TestTccOverGrpc(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		a, b := accounts(t, 1000)
		gid := dtmgrpc.MustGenGid(c.target)
		err := dtmgrpc.TccGlobalTransaction(c.target, gid, func(tcc *dtmgrpc.TccGrpc) error {
			r := &shoppb.Reply{}
			if err := tcc.CallBranch(&shoppb.BusiReq{Amount: 30, UserID: a}, svcURL(busiSvc, "shop.Busi/TransOutTry"),
				svcURL(busiSvc, "shop.Busi/TransOutConfirm"), svcURL(busiSvc, "shop.Busi/TransOutCancel"), r); err != nil {
				return err
			}
			return tcc.CallBranch(&shoppb.BusiReq{Amount: 30, UserID: b}, svcURL(busiSvc, "shop.Busi/TransInTry"),
				svcURL(busiSvc, "shop.Busi/TransInConfirm"), svcURL(busiSvc, "shop.Busi/TransInCancel"), r)
		})
		if err != nil {
			t.Fatalf("tcc: %v", err)
		}
		c.waitStatus(t, gid, "succeed", 30*time.Second)
		waitBalances(t, a, b, 970, 1030)
		if n := trading(t, a, b); n != 0 {
			t.Errorf("reserved amounts left: %d", n)
		}
	})
}

func TestTccOverGrpcCancelsWhenATryFails(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		a, b := accounts(t, maxTransIn+1000)
		gid := dtmgrpc.MustGenGid(c.target)
		amount := int64(maxTransIn + 1)
		err := dtmgrpc.TccGlobalTransaction(c.target, gid, func(tcc *dtmgrpc.TccGrpc) error {
			r := &shoppb.Reply{}
			if err := tcc.CallBranch(&shoppb.BusiReq{Amount: amount, UserID: a}, svcURL(busiSvc, "shop.Busi/TransOutTry"),
				svcURL(busiSvc, "shop.Busi/TransOutConfirm"), svcURL(busiSvc, "shop.Busi/TransOutCancel"), r); err != nil {
				return err
			}
			return tcc.CallBranch(&shoppb.BusiReq{Amount: amount, UserID: b}, svcURL(busiSvc, "shop.Busi/TransInTry"),
				svcURL(busiSvc, "shop.Busi/TransInConfirm"), svcURL(busiSvc, "shop.Busi/TransInCancel"), r)
		})
		if err == nil {
			t.Fatal("tcc succeeded; want the failed Try to abort it")
		}
		c.waitStatus(t, gid, "failed", 30*time.Second)
		waitBalances(t, a, b, maxTransIn+1000, maxTransIn+1000)
		if n := trading(t, a, b); n != 0 {
			t.Errorf("reserved amounts left: %d (cancel did not release the reservation)", n)
		}
	})
}

func TestMsgOverGrpc(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		a, b := accounts(t, 1000)
		gid := dtmgrpc.MustGenGid(c.target)
		msg := dtmgrpc.NewMsgGrpc(c.target, gid).Add(svcURL(busiSvc, "shop.Busi/TransIn"), &shoppb.BusiReq{Amount: 30, UserID: b})
		err := msg.DoAndSubmitDB(svcURL(busiSvc, "shop.Busi/QueryPrepared"), busiDB, func(tx *sql.Tx) error {
			_, err := tx.Exec("UPDATE user_account SET balance = balance - 30 WHERE user_id = ?", a)
			return err
		})
		if err != nil {
			t.Fatalf("msg: %v", err)
		}
		c.waitStatus(t, gid, "succeed", 30*time.Second)
		waitBalances(t, a, b, 970, 1030)
	})
}

func TestMsgOverGrpcIsCheckedBackThroughQueryPrepared(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		// The client prepares, commits its local transaction and "crashes" before submitting: the
		// coordinator asks the service's QueryPrepared over gRPC (branch 00, op msg), which answers
		// from the barrier that the local transaction committed, and then delivers the message.
		a, b := accounts(t, 1000)
		committed := dtmgrpc.MustGenGid(c.target)
		msg := dtmgrpc.NewMsgGrpc(c.target, committed).Add(svcURL(busiSvc, "shop.Busi/TransIn"), &shoppb.BusiReq{Amount: 30, UserID: b})
		msg.TimeoutToFail = 1
		msg.RetryInterval = 1
		if err := msg.Prepare(svcURL(busiSvc, "shop.Busi/QueryPrepared")); err != nil {
			t.Fatalf("prepare: %v", err)
		}
		bb, _ := dtmcli.BarrierFrom("msg", committed, "00", "msg")
		if err := bb.CallWithDB(busiDB, func(tx *sql.Tx) error {
			_, err := tx.Exec("UPDATE user_account SET balance = balance - 30 WHERE user_id = ?", a)
			return err
		}); err != nil {
			t.Fatalf("local transaction: %v", err)
		}
		// A second message whose local transaction never ran: the check-back fails it.
		abandoned := dtmgrpc.MustGenGid(c.target)
		msg2 := dtmgrpc.NewMsgGrpc(c.target, abandoned).Add(svcURL(busiSvc, "shop.Busi/TransIn"), &shoppb.BusiReq{Amount: 500, UserID: b})
		msg2.TimeoutToFail = 1
		msg2.RetryInterval = 1
		if err := msg2.Prepare(svcURL(busiSvc, "shop.Busi/QueryPrepared")); err != nil {
			t.Fatalf("prepare: %v", err)
		}
		c.waitStatus(t, committed, "succeed", 30*time.Second)
		c.waitStatus(t, abandoned, "failed", 30*time.Second)
		waitBalances(t, a, b, 970, 1030)
		_, branches := c.query(t, committed)
		for _, br := range branches {
			if !strings.HasSuffix(br["url"].(string), "shop.Busi/TransIn") {
				t.Errorf("unexpected branch %v", br)
			}
		}
	})
}
