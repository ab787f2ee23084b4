package compat

import (
	"errors"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/go-resty/resty/v2"
	"github.com/stretchr/testify/require"
)

// tccTransfer is the global TCC function: freeze on both accounts via the Try branches.
func tccTransfer(t *testing.T, req *busiReq) dtmcli.TccGlobalFunc {
	return func(tcc *dtmcli.Tcc) (*resty.Response, error) {
		resp, err := tcc.CallBranch(req, busi.url("tcc/TransOutTry"), busi.url("tcc/TransOutConfirm"), busi.url("tcc/TransOutCancel"))
		if err != nil {
			return resp, err
		}
		// The Try ran in its own local transaction: the amount is frozen, not yet moved.
		b, tr := balances(t, req.OutUID)
		require.Equal(t, []int{100, -req.Amount}, []int{b, tr})
		return tcc.CallBranch(req, busi.url("tcc/TransInTry"), busi.url("tcc/TransInConfirm"), busi.url("tcc/TransInCancel"))
	}
}

func TestTccSuccess(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		out, in := newAccounts(t, 100, 100)
		req := &busiReq{Amount: 30, OutUID: out, InUID: in}
		gid := newGid("tcc-ok")
		require.NoError(t, dtmcli.TccGlobalTransaction(c.dtm, gid, tccTransfer(t, req)))

		q := waitStatus(t, c, gid, dtmcli.StatusSucceed, 15*time.Second)
		// Tries come from the SDK; the coordinator confirms, last registered first.
		require.Equal(t, []string{
			"sdk:tcc/TransOutTry try", "sdk:tcc/TransInTry try",
			"tcc/TransInConfirm confirm", "tcc/TransOutConfirm confirm",
		}, busi.trace(gid))
		require.Equal(t, []string{"01 cancel", "01 confirm", "02 cancel", "02 confirm"}, q.branchOps())
		require.Equal(t, []string{"prepared", "succeed", "prepared", "succeed"}, q.branchStatuses())
		requireBalance(t, out, 70)
		requireBalance(t, in, 130)
		for _, call := range busi.callsOf(gid) {
			require.Equal(t, "tcc", call.TransTyp)
			require.Contains(t, call.Body, `"amount":30`) // confirm/cancel get the registered data
		}
	})
}

func TestTccRollback(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		out, in := newAccounts(t, 100, 100)
		req := &busiReq{Amount: 30, OutUID: out, InUID: in, TransInResult: dtmcli.ResultFailure}
		gid := newGid("tcc-rb")
		err := dtmcli.TccGlobalTransaction(c.dtm, gid, tccTransfer(t, req))
		require.Error(t, err)
		require.Contains(t, err.Error(), "refused by the receiving bank")

		q := waitStatus(t, c, gid, dtmcli.StatusFailed, 15*time.Second)
		require.Equal(t, []string{
			"sdk:tcc/TransOutTry try", "sdk:tcc/TransInTry try",
			"tcc/TransInCancel cancel", "tcc/TransOutCancel cancel",
		}, busi.trace(gid))
		require.Equal(t, []string{"succeed", "prepared", "succeed", "prepared"}, q.branchStatuses())
		// The SDK sends the error of the global function as the rollback reason.
		require.Equal(t, err.Error(), q.Transaction.RollbackReason)
		requireBalance(t, out, 100)
		requireBalance(t, in, 100)
	})
}

func TestTccWaitResult(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		out, in := newAccounts(t, 100, 100)
		req := &busiReq{Amount: 30, OutUID: out, InUID: in}
		gid := newGid("tcc-wait")
		err := dtmcli.TccGlobalTransaction2(c.dtm, gid, func(tcc *dtmcli.Tcc) { tcc.WaitResult = true }, tccTransfer(t, req))
		require.NoError(t, err)
		// submit waited for the confirms
		q := query(t, c, gid)
		require.Equal(t, dtmcli.StatusSucceed, q.status())
		requireBalance(t, out, 70)
		requireBalance(t, in, 130)
	})
}

// A TCC whose client stalls past TimeoutToFail is cancelled by the coordinator; branches
// registered afterwards are refused, so the late Try never runs.
func TestTccTimeoutToFail(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		out, in := newAccounts(t, 100, 100)
		req := &busiReq{Amount: 30, OutUID: out, InUID: in}
		gid := newGid("tcc-tmo")
		err := dtmcli.TccGlobalTransaction2(c.dtm, gid, func(tcc *dtmcli.Tcc) {
			tcc.TimeoutToFail = 1
			tcc.RetryInterval = 1
		}, func(tcc *dtmcli.Tcc) (*resty.Response, error) {
			_, err := tcc.CallBranch(req, busi.url("tcc/TransOutTry"), busi.url("tcc/TransOutConfirm"), busi.url("tcc/TransOutCancel"))
			require.NoError(t, err)
			waitStatus(t, c, gid, dtmcli.StatusFailed, 15*time.Second) // the client "hangs" meanwhile
			return tcc.CallBranch(req, busi.url("tcc/TransInTry"), busi.url("tcc/TransInConfirm"), busi.url("tcc/TransInCancel"))
		})
		require.Error(t, err)
		require.Contains(t, err.Error(), "FAILURE") // registerBranch refused with 409

		q := query(t, c, gid)
		require.Equal(t, dtmcli.StatusFailed, q.status())
		require.Equal(t, "Timeout after 1 seconds", q.Transaction.RollbackReason)
		require.Equal(t, []string{"sdk:tcc/TransOutTry try", "tcc/TransOutCancel cancel"}, busi.trace(gid))
		require.Equal(t, []string{"succeed", "prepared"}, q.branchStatuses())
		requireBalance(t, out, 100)
		requireBalance(t, in, 100)
	})
}

// A Try that opens a nested TCC branch (dtmcli.TccFromQuery inside the branch service): the
// coordinator confirms all three, last registered first.
func TestTccNested(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		gid := newGid("tcc-nest")
		err := dtmcli.TccGlobalTransaction(c.dtm, gid, func(tcc *dtmcli.Tcc) (*resty.Response, error) {
			resp, err := tcc.CallBranch(&busiReq{Amount: 1}, busi.url("noop"), busi.url("noop"), busi.url("noop"))
			if err != nil {
				return resp, err
			}
			return tcc.CallBranch(&busiReq{Amount: 2}, busi.url("tcc/NestedTry"), busi.url("noop"), busi.url("noop"))
		})
		require.NoError(t, err)
		q := waitStatus(t, c, gid, dtmcli.StatusSucceed, 15*time.Second)
		require.Equal(t, []string{
			"noop try 01", "tcc/NestedTry try 02", "noop2 try 0201",
			"noop2 confirm 0201", "noop confirm 02", "noop confirm 01",
		}, busi.traceIDs(gid))
		require.Equal(t, []string{"prepared", "succeed", "prepared", "succeed", "prepared", "succeed"}, q.branchStatuses())
	})
}

// A confirm answering FAILURE is not a rollback: it is retried until it succeeds.
func TestTccConfirmRetried(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		out, in := newAccounts(t, 100, 100)
		req := &busiReq{Amount: 30, OutUID: out, InUID: in}
		gid := newGid("tcc-cretry")
		busi.inject(gid, "tcc/TransInConfirm", "confirm", "FAILURE")
		err := dtmcli.TccGlobalTransaction2(c.dtm, gid, func(tcc *dtmcli.Tcc) { tcc.RetryInterval = 1 }, tccTransfer(t, req))
		require.NoError(t, err)
		waitStatus(t, c, gid, dtmcli.StatusSucceed, 15*time.Second)
		require.Equal(t, []string{
			"sdk:tcc/TransOutTry try", "sdk:tcc/TransInTry try",
			"tcc/TransInConfirm confirm", "tcc/TransInConfirm confirm", "tcc/TransOutConfirm confirm",
		}, busi.trace(gid))
		requireBalance(t, out, 70)
		requireBalance(t, in, 130)
	})
}

// The global function fails before any branch: the SDK aborts with the error as reason.
func TestTccLocalError(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		gid := newGid("tcc-local")
		err := dtmcli.TccGlobalTransaction(c.dtm, gid, func(tcc *dtmcli.Tcc) (*resty.Response, error) {
			return nil, errors.New("an error before any branch")
		})
		require.EqualError(t, err, "an error before any branch")
		q := waitStatus(t, c, gid, dtmcli.StatusFailed, 10*time.Second)
		require.Equal(t, "an error before any branch", q.Transaction.RollbackReason)
		require.Empty(t, q.Branches)
		require.Empty(t, busi.trace(gid))
	})
}
