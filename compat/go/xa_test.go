package compat

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/go-resty/resty/v2"
	"github.com/stretchr/testify/require"
)

// XA with MariaDB as the resource manager: each branch runs its SQL in a local XA transaction
// (dtmcli.XaLocalTransaction), prepares it and registers with the coordinator, which then
// commits or rolls back every branch (phase 2) through the same URL.
func xaTransfer(t *testing.T, req *busiReq) dtmcli.XaGlobalFunc {
	return func(xa *dtmcli.Xa) (*resty.Response, error) {
		resp, err := xa.CallBranch(req, busi.url("xa/TransOut"))
		if err != nil {
			return resp, err
		}
		// Branch 01 is XA-prepared, not committed: others still read the old balance.
		b, _ := balances(t, req.OutUID)
		require.Equal(t, 100, b)
		return xa.CallBranch(req, busi.url("xa/TransIn"))
	}
}

func requireNoOpenXa(t *testing.T, gid string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.Empty(t, openXids(ctx, gid+"-"), "prepared XA transactions left for %s", gid)
}

func TestXaSuccess(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		out, in := newAccounts(t, 100, 100)
		req := &busiReq{Amount: 30, OutUID: out, InUID: in}
		gid := newGid("xa-ok")
		require.NoError(t, dtmcli.XaGlobalTransaction(c.dtm, gid, xaTransfer(t, req)))

		q := waitStatus(t, c, gid, dtmcli.StatusSucceed, 15*time.Second)
		// Phase 1 from the SDK, phase 2 commits from the coordinator in registration order.
		require.Equal(t, []string{
			"sdk:xa/TransOut action", "sdk:xa/TransIn action",
			"xa/TransOut commit", "xa/TransIn commit",
		}, busi.trace(gid))
		require.Equal(t, []string{"01 rollback", "01 commit", "02 rollback", "02 commit"}, q.branchOps())
		require.Equal(t, []string{"prepared", "succeed", "prepared", "succeed"}, q.branchStatuses())
		for _, call := range busi.callsOf(gid)[2:] {
			require.Equal(t, http.MethodPost, call.Method, "xa phase 2 is always a POST")
			require.Equal(t, "xa", call.TransTyp)
			require.Empty(t, call.Body)
		}
		requireBalance(t, out, 70)
		requireBalance(t, in, 130)
		requireNoOpenXa(t, gid)
		require.Equal(t, "action", barrierReason(t, gid, "01", "action", "01"))
	})
}

func TestXaRollback(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		out, in := newAccounts(t, 100, 100)
		req := &busiReq{Amount: 30, OutUID: out, InUID: in, TransInResult: dtmcli.ResultFailure}
		gid := newGid("xa-rb")
		err := dtmcli.XaGlobalTransaction(c.dtm, gid, xaTransfer(t, req))
		require.Error(t, err)
		require.Contains(t, err.Error(), "business check failed")

		q := waitStatus(t, c, gid, dtmcli.StatusFailed, 15*time.Second)
		// Branch 02 rolled back locally and never registered; the coordinator rolls back 01.
		require.Equal(t, []string{"sdk:xa/TransOut action", "sdk:xa/TransIn action", "xa/TransOut rollback"}, busi.trace(gid))
		require.Equal(t, []string{"01 rollback", "01 commit"}, q.branchOps())
		require.Equal(t, []string{"succeed", "prepared"}, q.branchStatuses())
		requireBalance(t, out, 100)
		requireBalance(t, in, 100)
		requireNoOpenXa(t, gid)
		require.Equal(t, "rollback", barrierReason(t, gid, "01", "action", "01"))
	})
}

func TestXaWaitResult(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		out, in := newAccounts(t, 100, 100)
		req := &busiReq{Amount: 30, OutUID: out, InUID: in}
		gid := newGid("xa-wait")
		err := dtmcli.XaGlobalTransaction2(c.dtm, gid, func(xa *dtmcli.Xa) { xa.WaitResult = true }, xaTransfer(t, req))
		require.NoError(t, err)
		require.Equal(t, dtmcli.StatusSucceed, query(t, c, gid).status())
		requireBalance(t, out, 70)
		requireBalance(t, in, 130)
		requireNoOpenXa(t, gid)
	})
}

// An XA transaction whose client stalls past TimeoutToFail is rolled back by the coordinator; a
// branch that tries to register afterwards is refused and rolls its XA transaction back.
func TestXaTimeoutToFail(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		out, in := newAccounts(t, 100, 100)
		req := &busiReq{Amount: 30, OutUID: out, InUID: in}
		gid := newGid("xa-tmo")
		err := dtmcli.XaGlobalTransaction2(c.dtm, gid, func(xa *dtmcli.Xa) {
			xa.TimeoutToFail = 1
			xa.RetryInterval = 1
		}, func(xa *dtmcli.Xa) (*resty.Response, error) {
			_, err := xa.CallBranch(req, busi.url("xa/TransOut"))
			require.NoError(t, err)
			waitStatus(t, c, gid, dtmcli.StatusFailed, 15*time.Second) // the client "hangs" meanwhile
			return xa.CallBranch(req, busi.url("xa/TransIn"))
		})
		require.Error(t, err)
		require.Contains(t, err.Error(), "FAILURE")

		q := query(t, c, gid)
		require.Equal(t, "Timeout after 1 seconds", q.Transaction.RollbackReason)
		require.Equal(t, []string{"sdk:xa/TransOut action", "xa/TransOut rollback", "sdk:xa/TransIn action"}, busi.trace(gid))
		require.Equal(t, []string{"succeed", "prepared"}, q.branchStatuses())
		requireBalance(t, out, 100)
		requireBalance(t, in, 100)
		requireNoOpenXa(t, gid)
	})
}

// The global function fails before any branch: the SDK aborts, nothing is called.
func TestXaLocalError(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		gid := newGid("xa-local")
		err := dtmcli.XaGlobalTransaction(c.dtm, gid, func(xa *dtmcli.Xa) (*resty.Response, error) {
			return nil, errors.New("an error before any branch")
		})
		require.EqualError(t, err, "an error before any branch")
		q := waitStatus(t, c, gid, dtmcli.StatusFailed, 10*time.Second)
		require.Empty(t, q.Branches)
		require.Empty(t, busi.trace(gid))
	})
}
