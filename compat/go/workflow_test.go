package compat

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/dtm-labs/client/workflow"
	"github.com/stretchr/testify/require"
)

// Workflow over HTTP: the SDK drives the transaction (prepareWorkflow, registerBranch for each
// recorded step, submit); the coordinator stores progress and calls the resume callback of an
// unfinished workflow.

var wfOnce sync.Once
var wfMu sync.Mutex
var wfRegistered = map[string]bool{}

// transferWorkflow registers (once per coordinator) a workflow that debits locally under the
// barrier (branch 01, compensated by a credit) and credits through the saga TransIn service over
// the workflow's HTTP client (branch 02, compensated by TransInRevert). Returns its name.
func transferWorkflow(t *testing.T, c *coordinator) string {
	wfOnce.Do(func() { workflow.InitHTTP(coordinators[0].dtm, busi.url("workflow/resume")) })
	name := "transfer-" + c.store
	wfMu.Lock()
	defer wfMu.Unlock()
	if wfRegistered[name] {
		return name
	}
	wfRegistered[name] = true
	err := workflow.Register(name, func(wf *workflow.Workflow, data []byte) error {
		var req busiReq
		if err := json.Unmarshal(data, &req); err != nil {
			return err
		}
		_, err := wf.NewBranch().OnRollback(func(bb *dtmcli.BranchBarrier) error {
			return bb.CallWithDB(busiDB, func(tx *sql.Tx) error { return adjustBalance(tx, req.OutUID, req.Amount, "") })
		}).Do(func(bb *dtmcli.BranchBarrier) ([]byte, error) {
			err := bb.CallWithDB(busiDB, func(tx *sql.Tx) error { return adjustBalance(tx, req.OutUID, -req.Amount, "") })
			return []byte(`"debited"`), err
		})
		if err != nil {
			return err
		}
		_, err = wf.NewBranch().OnRollback(func(bb *dtmcli.BranchBarrier) error {
			resp, err := wf.NewRequest().SetBody(req).Post(busi.url("saga/TransInRevert"))
			if err == nil && resp.StatusCode() != 200 {
				err = fmt.Errorf("TransInRevert: %s", resp.String())
			}
			return err
		}).NewRequest().SetBody(req).Post(busi.url("saga/TransIn"))
		return err
	}, func(wf *workflow.Workflow) {
		wf.Dtm = c.dtm
		wf.RetryInterval = 1 // resume an unfinished workflow after 1s
	})
	require.NoError(t, err)
	return name
}

// progress lists the recorded workflow steps as "branch op status".
func progress(q queryResult) []string {
	out := []string{}
	for _, b := range q.Branches {
		out = append(out, b.BranchID+" "+b.Op+" "+b.Status)
	}
	return out
}

func TestWorkflowSuccess(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		name := transferWorkflow(t, c)
		out, in := newAccounts(t, 100, 100)
		data, _ := json.Marshal(&busiReq{Amount: 30, OutUID: out, InUID: in})
		gid := newGid("wf-ok")
		require.NoError(t, workflow.Execute(name, gid, data))

		q := query(t, c, gid)
		require.Equal(t, dtmcli.StatusSucceed, q.status())
		require.Equal(t, "workflow", q.Transaction.TransType)
		require.Equal(t, []string{"01 action succeed", "02 action succeed"}, progress(q))
		require.Equal(t, []string{"saga/TransIn action"}, busi.trace(gid))
		require.Equal(t, "workflow", busi.callsOf(gid)[0].TransTyp)
		requireBalance(t, out, 70)
		requireBalance(t, in, 130)

		// Executing a finished workflow again replays nothing and returns its result.
		require.NoError(t, workflow.Execute(name, gid, data))
		require.Equal(t, []string{"saga/TransIn action"}, busi.trace(gid))
		requireBalance(t, out, 70)
	})
}

func TestWorkflowRollback(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		name := transferWorkflow(t, c)
		out, in := newAccounts(t, 100, 100)
		data, _ := json.Marshal(&busiReq{Amount: 30, OutUID: out, InUID: in, TransInResult: dtmcli.ResultFailure})
		gid := newGid("wf-rb")
		err := workflow.Execute(name, gid, data)
		require.ErrorIs(t, err, dtmcli.ErrFailure)

		q := query(t, c, gid)
		require.Equal(t, dtmcli.StatusFailed, q.status())
		require.Contains(t, q.Transaction.RollbackReason, "business check failed")
		// Branch 02 failed (not compensated by default); branch 01 is rolled back.
		require.Equal(t, []string{"01 action succeed", "02 action failed", "01 rollback succeed"}, progress(q))
		require.Equal(t, []string{"saga/TransIn action"}, busi.trace(gid))
		requireBalance(t, out, 100)
		requireBalance(t, in, 100)

		// Executing it again returns the recorded failure without running anything.
		err = workflow.Execute(name, gid, data)
		require.ErrorIs(t, err, dtmcli.ErrFailure)
		require.Contains(t, err.Error(), "business check failed")
		require.Equal(t, []string{"saga/TransIn action"}, busi.trace(gid))
	})
}

// A workflow interrupted by a transient error stays prepared; the coordinator calls the resume
// callback, and the SDK replays the recorded step 01 and finishes step 02.
func TestWorkflowResume(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		name := transferWorkflow(t, c)
		out, in := newAccounts(t, 100, 100)
		data, _ := json.Marshal(&busiReq{Amount: 30, OutUID: out, InUID: in})
		gid := newGid("wf-resume")
		busi.inject(gid, "saga/TransIn", "action", "ERROR")
		err := workflow.Execute(name, gid, data)
		require.Error(t, err)
		require.NotErrorIs(t, err, dtmcli.ErrFailure)
		require.Equal(t, dtmcli.StatusPrepared, query(t, c, gid).status())

		q := waitStatus(t, c, gid, dtmcli.StatusSucceed, 15*time.Second)
		require.Equal(t, []string{"01 action succeed", "02 action succeed"}, progress(q))
		require.Equal(t, []string{"saga/TransIn action", "workflow/resume " + name, "saga/TransIn action"}, busi.trace(gid))
		resume := busi.callsOf(gid)[1]
		require.Equal(t, "00", resume.BranchID)
		require.Equal(t, "workflow", resume.TransTyp)
		require.JSONEq(t, string(data), resume.Body, "the callback carries the workflow input")
		requireBalance(t, out, 70) // debited once: step 01 was replayed from its record
		requireBalance(t, in, 130)
	})
}

// Register2/Execute2: the workflow's result is stored with the submit and returned again when a
// finished workflow is executed once more.
func TestWorkflowResult(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		wfOnce.Do(func() { workflow.InitHTTP(coordinators[0].dtm, busi.url("workflow/resume")) })
		name := "result-" + c.store
		wfMu.Lock()
		if !wfRegistered[name] {
			wfRegistered[name] = true
			require.NoError(t, workflow.Register2(name, func(wf *workflow.Workflow, data []byte) ([]byte, error) {
				r, err := wf.NewBranch().Do(func(bb *dtmcli.BranchBarrier) ([]byte, error) {
					return append([]byte("step:"), data...), nil
				})
				return append(r, []byte(" \x00\xff binary ok")...), err
			}, func(wf *workflow.Workflow) { wf.Dtm = c.dtm }))
		}
		wfMu.Unlock()

		gid := newGid("wf-res")
		want := []byte("step:input \x00\xff binary ok")
		got, err := workflow.Execute2(name, gid, []byte("input"))
		require.NoError(t, err)
		require.Equal(t, want, got)
		q := query(t, c, gid)
		require.Equal(t, dtmcli.StatusSucceed, q.status())
		require.Len(t, q.Branches, 1)
		require.Equal(t, "01", q.Branches[0].BranchID)

		got, err = workflow.Execute2(name, gid, []byte("input"))
		require.NoError(t, err)
		require.Equal(t, want, got, "the stored result comes back")
	})
}

// DoXa: a workflow step in a local XA transaction, committed or rolled back in phase 2 by the SDK;
// every phase is recorded with the coordinator (ops business, action, commit/rollback).
func TestWorkflowXa(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		wfOnce.Do(func() { workflow.InitHTTP(coordinators[0].dtm, busi.url("workflow/resume")) })
		name := "xa-" + c.store
		wfMu.Lock()
		if !wfRegistered[name] {
			wfRegistered[name] = true
			require.NoError(t, workflow.Register(name, func(wf *workflow.Workflow, data []byte) error {
				var req busiReq
				if err := json.Unmarshal(data, &req); err != nil {
					return err
				}
				var conn int64
				_, err := wf.NewBranch().DoXa(busiConf, func(db *sql.DB) ([]byte, error) {
					conn = connectionID(db)
					return nil, xaAdjust(db, req.OutUID, -req.Amount, "")
				})
				waitDisconnected(conn) // see xaLocal: phase 2 must find the XA transaction detached
				if err != nil {
					return err
				}
				_, err = wf.NewBranch().Do(func(bb *dtmcli.BranchBarrier) ([]byte, error) {
					if req.TransInResult == dtmcli.ResultFailure {
						return nil, fmt.Errorf("receiver closed: %w", dtmcli.ErrFailure)
					}
					return nil, bb.CallWithDB(busiDB, func(tx *sql.Tx) error { return adjustBalance(tx, req.InUID, req.Amount, "") })
				})
				return err
			}, func(wf *workflow.Workflow) { wf.Dtm = c.dtm }))
		}
		wfMu.Unlock()

		t.Run("commit", func(t *testing.T) {
			out, in := newAccounts(t, 100, 100)
			data, _ := json.Marshal(&busiReq{Amount: 30, OutUID: out, InUID: in})
			gid := newGid("wf-xa")
			require.NoError(t, workflow.Execute(name, gid, data))
			q := query(t, c, gid)
			require.Equal(t, dtmcli.StatusSucceed, q.status())
			require.Equal(t, []string{"01 business succeed", "01 action succeed", "02 action succeed", "01 commit succeed"}, progress(q))
			requireBalance(t, out, 70)
			requireBalance(t, in, 130)
			requireNoOpenXa(t, gid)
		})
		t.Run("rollback", func(t *testing.T) {
			out, in := newAccounts(t, 100, 100)
			data, _ := json.Marshal(&busiReq{Amount: 30, OutUID: out, InUID: in, TransInResult: dtmcli.ResultFailure})
			gid := newGid("wf-xarb")
			require.ErrorIs(t, workflow.Execute(name, gid, data), dtmcli.ErrFailure)
			q := query(t, c, gid)
			require.Equal(t, dtmcli.StatusFailed, q.status())
			require.Contains(t, q.Transaction.RollbackReason, "receiver closed")
			require.Equal(t, []string{"01 business succeed", "01 action succeed", "02 action failed", "01 rollback succeed"}, progress(q))
			requireBalance(t, out, 100)
			requireBalance(t, in, 100)
			requireNoOpenXa(t, gid)
		})
	})
}
