package compat

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/dtm-labs/client/dtmcli/dtmimp"
	"github.com/go-resty/resty/v2"
	"github.com/stretchr/testify/require"
)

// The coordinator's API as the SDK's own helpers see it: newGid, the SUCCESS/FAILURE reply
// conventions (non-200 or a body containing FAILURE is an error), and refusals on finished gids.

func TestNewGid(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		gid1 := dtmcli.MustGenGid(c.dtm)
		gid2 := dtmcli.MustGenGid(c.dtm)
		require.NotEmpty(t, gid1)
		require.NotEqual(t, gid1, gid2)

		code, body := httpGet(t, c.dtm+"/newGid")
		require.Equal(t, http.StatusOK, code)
		var m map[string]string // the Go SDK decodes it into a string map
		require.NoError(t, json.Unmarshal([]byte(body), &m), body)
		require.Equal(t, "SUCCESS", m["dtm_result"])
		require.NotEmpty(t, m["gid"])

		// A server-generated gid works as any other.
		saga := dtmcli.NewSaga(c.dtm, gid1).Add(busi.url("noop"), "", nil)
		saga.WaitResult = true
		require.NoError(t, saga.Submit())
		require.Equal(t, dtmcli.StatusSucceed, query(t, c, gid1).status())
		require.Equal(t, []string{"noop action"}, busi.trace(gid1))
	})
}

func TestSuccessReplies(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		gid := newGid("api-ok")
		msg := dtmcli.NewMsg(c.dtm, gid).Add(busi.url("noop"), nil)
		msg.QueryPrepared = busi.url("msg/QueryPrepared")
		for _, op := range []string{"prepare", "prepare", "submit"} {
			resp, err := dtmimp.TransCallDtmExt(&msg.TransBase, &msg.TransBase, op)
			require.NoError(t, err, op)
			require.Equal(t, http.StatusOK, resp.StatusCode(), op)
			require.JSONEq(t, `{"dtm_result":"SUCCESS"}`, resp.String(), op)
		}
		waitStatus(t, c, gid, dtmcli.StatusSucceed, 10*time.Second)
	})
}

// Every state-changing call on a finished transaction is refused with 409 and a FAILURE
// body, which the SDK turns into an error.
func TestFinishedGidRefused(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		gid := newGid("api-done")
		saga := dtmcli.NewSaga(c.dtm, gid).Add(busi.url("noop"), busi.url("noop"), nil)
		saga.WaitResult = true
		require.NoError(t, saga.Submit())
		require.Equal(t, dtmcli.StatusSucceed, query(t, c, gid).status())

		expectFailure := func(what string, err error) {
			t.Helper()
			require.Error(t, err, what)
			require.Contains(t, err.Error(), "FAILURE", what)
			require.Contains(t, err.Error(), "succeed", what)
		}
		expectFailure("submit", saga.Submit())
		expectFailure("prepare", dtmcli.NewMsg(c.dtm, gid).Add(busi.url("noop"), nil).Prepare(busi.url("msg/QueryPrepared")))
		expectFailure("abort", dtmimp.TransCallDtm(&dtmcli.NewSaga(c.dtm, gid).TransBase, "abort"))
		tcc := &dtmcli.Tcc{TransBase: *dtmimp.NewTransBase(gid, "tcc", c.dtm, "")}
		err := dtmimp.TransRegisterBranch(&tcc.TransBase, map[string]string{
			"data": "{}", "branch_id": "01", "confirm": busi.url("noop"), "cancel": busi.url("noop"),
		}, "registerBranch")
		require.Error(t, err)
		require.Contains(t, err.Error(), "FAILURE")

		// The raw reply: 409 with dtm_result FAILURE.
		resp, err := resty.New().R().SetBody(saga.TransBase).Post(c.dtm + "/submit")
		require.NoError(t, err)
		require.Equal(t, http.StatusConflict, resp.StatusCode())
		var body map[string]string
		require.NoError(t, json.Unmarshal(resp.Body(), &body))
		require.Equal(t, "FAILURE", body["dtm_result"])
		require.Equal(t, "current status 'succeed', cannot sumbmit. FAILURE", body["message"])

		// Nothing was called again.
		require.Equal(t, []string{"noop action"}, busi.trace(gid))
	})
}

// A msg can be aborted only while prepared; a TCC abort after submit is refused.
func TestAbortRules(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		gid := newGid("api-abort")
		msg := dtmcli.NewMsg(c.dtm, gid).Add(busi.url("noop"), nil)
		require.NoError(t, msg.Prepare(busi.url("msg/QueryPrepared")))
		require.NoError(t, dtmimp.TransCallDtm(&msg.TransBase, "abort"))
		q := query(t, c, gid)
		require.Equal(t, dtmcli.StatusFailed, q.status())
		err := dtmimp.TransCallDtm(&msg.TransBase, "abort")
		require.Error(t, err)
		require.Contains(t, err.Error(), "FAILURE")
		require.Empty(t, busi.trace(gid))
	})
}

func TestQueryUnknownGid(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		q := query(t, c, newGid("api-none"))
		require.Nil(t, q.Transaction)
		require.Empty(t, q.Branches)

		code, body := httpGet(t, c.base+"/api/ping")
		require.Equal(t, http.StatusOK, code)
		require.JSONEq(t, `{"msg":"pong"}`, body)
	})
}
