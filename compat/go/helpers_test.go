package compat

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/stretchr/testify/require"
)

// forEachStore runs fn as a parallel subtest against every coordinator under test.
func forEachStore(t *testing.T, fn func(t *testing.T, c *coordinator)) {
	t.Helper()
	t.Parallel()
	for _, c := range coordinators {
		t.Run(c.store, func(t *testing.T) {
			t.Parallel()
			fn(t, c)
		})
	}
}

// newGid makes a readable, unique gid (short enough for an XA xid: gid-branch <= 64 bytes).
func newGid(label string) string {
	return fmt.Sprintf("%s-%s-%s", runTag, label, randomHex(6))
}

var nextUID atomic.Int64

func init() { nextUID.Store(1000) }

// newAccounts creates two accounts with the given balances and returns their ids.
func newAccounts(t *testing.T, outBalance, inBalance int) (outUID, inUID int) {
	t.Helper()
	outUID, inUID = int(nextUID.Add(1)), int(nextUID.Add(1))
	_, err := busiDB.Exec("INSERT INTO user_account(user_id, balance) VALUES (?, ?), (?, ?)", outUID, outBalance, inUID, inBalance)
	require.NoError(t, err)
	return
}

// balances returns (balance, trading_balance) of an account.
func balances(t *testing.T, uid int) (int, int) {
	t.Helper()
	var b, tr int
	err := busiDB.QueryRow("SELECT CAST(balance AS SIGNED), CAST(trading_balance AS SIGNED) FROM user_account WHERE user_id = ?", uid).Scan(&b, &tr)
	require.NoError(t, err)
	return b, tr
}

func requireBalance(t *testing.T, uid int, want int) {
	t.Helper()
	b, tr := balances(t, uid)
	require.Equal(t, want, b, "balance of user %d", uid)
	require.Equal(t, 0, tr, "trading balance of user %d", uid)
}

// Shapes of GET /api/dtmsvr/query (the fields the tests look at).
type transRow struct {
	Gid              string `json:"gid"`
	TransType        string `json:"trans_type"`
	Status           string `json:"status"`
	QueryPrepared    string `json:"query_prepared"`
	Protocol         string `json:"protocol"`
	RollbackReason   string `json:"rollback_reason"`
	Options          string `json:"options"`
	CustomData       string `json:"custom_data"`
	NextCronInterval int64  `json:"next_cron_interval"`
	FinishTime       string `json:"finish_time"`
	RollbackTime     string `json:"rollback_time"`
}

type branchRow struct {
	Gid      string `json:"gid"`
	URL      string `json:"url"`
	BinData  string `json:"bin_data"`
	BranchID string `json:"branch_id"`
	Op       string `json:"op"`
	Status   string `json:"status"`
}

type queryResult struct {
	Transaction *transRow   `json:"transaction"`
	Branches    []branchRow `json:"branches"`
}

func (q queryResult) status() string {
	if q.Transaction == nil {
		return ""
	}
	return q.Transaction.Status
}

// branchStatuses lists the branch statuses in storage order (dtm's tests assert this shape).
func (q queryResult) branchStatuses() []string {
	out := []string{}
	for _, b := range q.Branches {
		out = append(out, b.Status)
	}
	return out
}

// branchOps lists "branch_id op" in storage order.
func (q queryResult) branchOps() []string {
	out := []string{}
	for _, b := range q.Branches {
		out = append(out, b.BranchID+" "+b.Op)
	}
	return out
}

func httpGet(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func query(t *testing.T, c *coordinator, gid string) queryResult {
	t.Helper()
	code, body := httpGet(t, c.dtm+"/query?gid="+url.QueryEscape(gid))
	require.Equal(t, http.StatusOK, code, "query %s: %s", gid, body)
	var q queryResult
	require.NoError(t, json.Unmarshal([]byte(body), &q), body)
	return q
}

func isFinal(status string) bool {
	return status == dtmcli.StatusSucceed || status == dtmcli.StatusFailed
}

// waitStatus polls the coordinator until gid reaches want; a different final status fails at once.
func waitStatus(t *testing.T, c *coordinator, gid, want string, timeout time.Duration) queryResult {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		q := query(t, c, gid)
		s := q.status()
		if s == want {
			return q
		}
		if isFinal(s) || time.Now().After(deadline) {
			js, _ := json.MarshalIndent(q, "", "  ")
			t.Fatalf("%s: status %q, want %q (waited up to %s)\nquery: %s\nbranch calls: %s",
				gid, s, want, timeout, js, strings.Join(busi.trace(gid), ", "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stableFor asserts that gid stays in status want for d (nothing more happens).
func stableFor(t *testing.T, c *coordinator, gid, want string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		require.Equal(t, want, query(t, c, gid).status(), "status of %s", gid)
		time.Sleep(100 * time.Millisecond)
	}
}
