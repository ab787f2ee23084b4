package compat

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/dtm-labs/client/dtmcli/dtmimp"
	"github.com/stretchr/testify/require"
)

// The Go SDK's json-rpc protocol: every call to the coordinator is a JSON-RPC request to
// /api/json-rpc; the transaction is stored with protocol json-rpc.
func TestSagaOverJsonRpc(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		out, in := newAccounts(t, 100, 100)
		req := &busiReq{Amount: 30, OutUID: out, InUID: in}
		rpc := c.base + "/api/json-rpc"
		gid := dtmcli.MustGenGid(c.dtm)
		saga := dtmcli.NewSaga(rpc, gid).
			Add(busi.url("saga/TransOut"), busi.url("saga/TransOutRevert"), req).
			Add(busi.url("saga/TransIn"), busi.url("saga/TransInRevert"), req)
		saga.Protocol = dtmimp.Jrpc
		saga.WaitResult = true
		require.NoError(t, saga.Submit())

		q := waitStatus(t, c, gid, dtmcli.StatusSucceed, 15*time.Second)
		require.Equal(t, "json-rpc", q.Transaction.Protocol)
		require.Equal(t, []string{"saga/TransOut action", "saga/TransIn action"}, busi.trace(gid))
		requireBalance(t, out, 70)
		requireBalance(t, in, 130)

		// A second submit of the finished gid is refused through the JSON-RPC error member.
		err := saga.Submit()
		require.Error(t, err)
		require.Contains(t, err.Error(), "-32901")
	})
}

// A msg step on a topic fans out to every subscriber of the topic.
func TestMsgTopic(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		topic := newGid("topic")
		for _, sub := range []string{"msg/TransIn", "noop"} {
			resp, err := http.Get(c.dtm + "/subscribe?topic=" + url.QueryEscape(topic) + "&url=" + url.QueryEscape(busi.url(sub)) + "&remark=test")
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			_ = resp.Body.Close()
		}
		out, in := newAccounts(t, 100, 100)
		req := &busiReq{Amount: 30, OutUID: out, InUID: in}
		gid := newGid("msg-topic")
		msg := dtmcli.NewMsg(c.dtm, gid).AddTopic(topic, req)
		msg.WaitResult = true
		require.NoError(t, msg.Submit())

		q := waitStatus(t, c, gid, dtmcli.StatusSucceed, 15*time.Second)
		require.Equal(t, []string{"01-01 action", "01-02 action"}, q.branchOps())
		require.ElementsMatch(t, []string{"msg/TransIn action", "noop action"}, busi.trace(gid))
		requireBalance(t, in, 130)

		// an unknown topic is refused and nothing is stored
		err := dtmcli.NewMsg(c.dtm, newGid("msg-notopic")).AddTopic(newGid("nobody"), req).Submit()
		require.Error(t, err)
		require.Contains(t, err.Error(), "topic not found")
	})
}
