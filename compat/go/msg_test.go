package compat

import (
	"database/sql"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/stretchr/testify/require"
)

// The msg flavour of the quick start: the local transaction debits the sender, the message's
// action credits the receiver.
func newTransferMsg(c *coordinator, gid string, req *busiReq) *dtmcli.Msg {
	return dtmcli.NewMsg(c.dtm, gid).Add(busi.url("msg/TransIn"), req)
}

func debit(req *busiReq) dtmcli.BarrierBusiFunc {
	return func(tx *sql.Tx) error { return adjustBalance(tx, req.OutUID, -req.Amount, "") }
}

// barrierReason reads the reason column of a barrier row ("" when there is none).
func barrierReason(t *testing.T, gid, branchID, op, barrierID string) string {
	t.Helper()
	var reason string
	err := busiDB.QueryRow("SELECT reason FROM dtm_barrier.barrier WHERE gid = ? AND branch_id = ? AND op = ? AND barrier_id = ?",
		gid, branchID, op, barrierID).Scan(&reason)
	if errors.Is(err, sql.ErrNoRows) {
		return ""
	}
	require.NoError(t, err)
	return reason
}

func TestMsgDoAndSubmitCommit(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		out, in := newAccounts(t, 100, 100)
		req := &busiReq{Amount: 30, OutUID: out, InUID: in}
		gid := newGid("msg-ok")
		err := newTransferMsg(c, gid, req).DoAndSubmitDB(busi.url("msg/QueryPrepared"), busiDB, debit(req))
		require.NoError(t, err)

		q := waitStatus(t, c, gid, dtmcli.StatusSucceed, 15*time.Second)
		require.Equal(t, []string{"msg/TransIn action"}, busi.trace(gid))
		require.Equal(t, []string{"01 action"}, q.branchOps())
		require.Equal(t, []string{"succeed"}, q.branchStatuses())
		require.Equal(t, busi.url("msg/QueryPrepared"), q.Transaction.QueryPrepared)
		require.Equal(t, "msg", barrierReason(t, gid, "00", "msg", "01"))
		requireBalance(t, out, 70)
		requireBalance(t, in, 130)
	})
}

func TestMsgDoAndSubmitFailure(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		out, in := newAccounts(t, 100, 100)
		req := &busiReq{Amount: 30, OutUID: out, InUID: in}
		gid := newGid("msg-fail")
		err := newTransferMsg(c, gid, req).DoAndSubmitDB(busi.url("msg/QueryPrepared"), busiDB, func(tx *sql.Tx) error {
			if err := debit(req)(tx); err != nil {
				return err
			}
			return dtmcli.ErrFailure // the business decides to give up: the debit is rolled back
		})
		require.ErrorIs(t, err, dtmcli.ErrFailure)

		q := waitStatus(t, c, gid, dtmcli.StatusFailed, 15*time.Second)
		require.Equal(t, []string{"prepared"}, q.branchStatuses())
		time.Sleep(300 * time.Millisecond)
		require.Empty(t, busi.trace(gid), "no action and no query-prepared call")
		requireBalance(t, out, 100)
		requireBalance(t, in, 100)
	})
}

// A local transaction error other than FAILURE: the SDK asks query-prepared itself, which seals
// the barrier as rolled back (FAILURE), so the SDK aborts the msg.
func TestMsgDoAndSubmitError(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		out, in := newAccounts(t, 100, 100)
		req := &busiReq{Amount: 30, OutUID: out, InUID: in}
		gid := newGid("msg-err")
		errBusi := errors.New("database hiccup")
		err := newTransferMsg(c, gid, req).DoAndSubmitDB(busi.url("msg/QueryPrepared"), busiDB, func(tx *sql.Tx) error {
			return errBusi
		})
		require.ErrorIs(t, err, errBusi)

		waitStatus(t, c, gid, dtmcli.StatusFailed, 15*time.Second)
		require.Equal(t, []string{"sdk:msg/QueryPrepared msg"}, busi.trace(gid))
		require.Equal(t, "rollback", barrierReason(t, gid, "00", "msg", "01"))
		requireBalance(t, out, 100)
		requireBalance(t, in, 100)
	})
}

// The client commits its local transaction and "crashes" before Submit: once the message's
// TimeoutToFail passed, the coordinator asks query-prepared, learns it committed, and delivers.
func TestMsgQueryPreparedCommitted(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		out, in := newAccounts(t, 100, 100)
		req := &busiReq{Amount: 30, OutUID: out, InUID: in}
		gid := newGid("msg-qp-ok")
		busi.inject(gid, "msg/QueryPrepared", "msg", "ONGOING") // undecided at the first check: asked again
		msg := newTransferMsg(c, gid, req)
		msg.TimeoutToFail = 1
		require.NoError(t, msg.Prepare(busi.url("msg/QueryPrepared")))
		require.NoError(t, msg.Prepare(busi.url("msg/QueryPrepared")), "prepare is idempotent")
		// What DoAndSubmit does before Submit: the local transaction under the msg barrier.
		bb, err := dtmcli.BarrierFrom("msg", gid, "00", "msg")
		require.NoError(t, err)
		require.NoError(t, bb.CallWithDB(busiDB, debit(req)))
		require.Equal(t, dtmcli.StatusPrepared, query(t, c, gid).status())

		q := waitStatus(t, c, gid, dtmcli.StatusSucceed, 15*time.Second)
		require.Equal(t, []string{"msg/QueryPrepared msg", "msg/QueryPrepared msg", "msg/TransIn action"}, busi.trace(gid))
		qp := busi.callsOf(gid)[1]
		require.Equal(t, http.MethodGet, qp.Method)
		require.Equal(t, "00", qp.BranchID)
		require.Equal(t, "msg", qp.TransTyp)
		require.Empty(t, qp.Body)
		require.Contains(t, qp.Header.Get("Content-Type"), "application/json")
		require.Equal(t, []string{"succeed"}, q.branchStatuses())
		requireBalance(t, out, 70)
		requireBalance(t, in, 130)
	})
}

// The client prepared the message but its local transaction never committed: query-prepared
// answers FAILURE, the message fails, and a late local transaction is refused by the barrier.
func TestMsgQueryPreparedNotCommitted(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		out, in := newAccounts(t, 100, 100)
		req := &busiReq{Amount: 30, OutUID: out, InUID: in}
		gid := newGid("msg-qp-no")
		msg := newTransferMsg(c, gid, req)
		msg.TimeoutToFail = 1
		require.NoError(t, msg.Prepare(busi.url("msg/QueryPrepared")))

		q := waitStatus(t, c, gid, dtmcli.StatusFailed, 15*time.Second)
		require.Equal(t, []string{"msg/QueryPrepared msg"}, busi.trace(gid))
		require.Equal(t, []string{"prepared"}, q.branchStatuses())

		bb, err := dtmcli.BarrierFrom("msg", gid, "00", "msg")
		require.NoError(t, err)
		require.ErrorIs(t, bb.CallWithDB(busiDB, debit(req)), dtmcli.ErrDuplicated)
		err = msg.Submit()
		require.Error(t, err)
		require.Contains(t, err.Error(), "FAILURE")
		requireBalance(t, out, 100)
		requireBalance(t, in, 100)
	})
}

func TestMsgWaitResult(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		out, in := newAccounts(t, 100, 100)
		req := &busiReq{Amount: 30, OutUID: out, InUID: in}
		gid := newGid("msg-wait")
		msg := newTransferMsg(c, gid, req)
		msg.WaitResult = true
		require.NoError(t, msg.DoAndSubmitDB(busi.url("msg/QueryPrepared"), busiDB, debit(req)))
		require.Equal(t, dtmcli.StatusSucceed, query(t, c, gid).status())
		requireBalance(t, out, 70)
		requireBalance(t, in, 130)
	})
}

// A msg action is never compensated: errors, and even FAILURE answers, are retried until it
// succeeds (dtm: only a saga action can fail a transaction).
func TestMsgActionRetried(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		out, in := newAccounts(t, 100, 100)
		req := &busiReq{Amount: 30, OutUID: out, InUID: in}
		gid := newGid("msg-retry")
		busi.inject(gid, "msg/TransIn", "action", "FAILURE")
		msg := newTransferMsg(c, gid, req)
		msg.RetryInterval = 1
		require.NoError(t, msg.DoAndSubmitDB(busi.url("msg/QueryPrepared"), busiDB, debit(req)))

		waitStatus(t, c, gid, dtmcli.StatusSucceed, 20*time.Second)
		require.Equal(t, []string{"msg/TransIn action", "msg/TransIn action"}, busi.trace(gid))
		requireBalance(t, out, 70)
		requireBalance(t, in, 130)
	})
}

// SetDelay: the action is called only after the delay.
func TestMsgDelay(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		t.Run("DoAndSubmit", func(t *testing.T) {
			t.Parallel()
			out, in := newAccounts(t, 100, 100)
			req := &busiReq{Amount: 30, OutUID: out, InUID: in}
			gid := newGid("msg-delay")
			msg := newTransferMsg(c, gid, req).SetDelay(2)
			began := time.Now()
			require.NoError(t, msg.DoAndSubmitDB(busi.url("msg/QueryPrepared"), busiDB, debit(req)))

			waitStatus(t, c, gid, dtmcli.StatusSucceed, 15*time.Second)
			calls := busi.callsOf(gid)
			require.Len(t, calls, 1)
			require.GreaterOrEqual(t, calls[0].At.Sub(began), 1900*time.Millisecond)
			requireBalance(t, in, 130)
		})
		t.Run("Submit", func(t *testing.T) {
			t.Parallel()
			gid := newGid("msg-delay2")
			msg := dtmcli.NewMsg(c.dtm, gid).Add(busi.url("noop"), nil).SetDelay(2)
			began := time.Now()
			require.NoError(t, msg.Submit())

			q := waitStatus(t, c, gid, dtmcli.StatusSucceed, 15*time.Second)
			calls := busi.callsOf(gid)
			require.Len(t, calls, 1)
			require.GreaterOrEqual(t, calls[0].At.Sub(began), 1900*time.Millisecond)
			require.JSONEq(t, `{"delay":2}`, q.Transaction.CustomData)
		})
	})
}

// Concurrent msg: both actions are called; one answering ONGOING is asked again later.
func TestMsgConcurrent(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		gid := newGid("msg-conc")
		busi.inject(gid, "noop2", "action", "ONGOING")
		msg := dtmcli.NewMsg(c.dtm, gid).Add(busi.url("noop"), nil).Add(busi.url("noop2"), nil)
		msg.Concurrent = true
		msg.RetryInterval = 1
		require.NoError(t, msg.Submit())
		q := waitStatus(t, c, gid, dtmcli.StatusSucceed, 15*time.Second)
		require.ElementsMatch(t, []string{"noop action 01", "noop2 action 02", "noop2 action 02"}, busi.traceIDs(gid))
		require.Equal(t, []string{"succeed", "succeed"}, q.branchStatuses())
	})
}
