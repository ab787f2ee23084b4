package compat

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/dtm-labs/client/dtmcli/dtmimp"
	"github.com/dtm-labs/client/dtmgrpc"
	"github.com/dtm-labs/client/dtmgrpc/dtmgimp"
	"github.com/go-resty/resty/v2"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

const (
	apiToken      = "go-sdk-service-token-0123456789abcdef"
	operatorToken = "go-sdk-operator-token-0123456789abcdef"
)

// The official Go SDK against a coordinator with ApiAuth.Token set (docs/security.md, "Sending
// the token from the SDKs"): dtmcli sends it from a resty OnBeforeRequest hook, dtmgrpc from a
// unary client interceptor. Without it every call is refused; with it transactions run.
func TestApiTokenFromGoSdk(t *testing.T) {
	tmp := t.TempDir()
	grpcPort, err := freePort()
	require.NoError(t, err)
	c, err := startCoordinatorWith("sqlite", tmp, map[string]string{
		"API_AUTH_TOKEN":          apiToken,
		"API_AUTH_OPERATOR_TOKEN": operatorToken,
		"GRPC_PORT":               strconv.Itoa(grpcPort),
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			c.dumpLog(100)
		}
		c.stop()
	})
	grpcTarget := "127.0.0.1:" + strconv.Itoa(grpcPort)

	// The hooks are process-wide: they add the token only to calls to this coordinator, and only
	// while `sending` is on, so the same SDK is shown refused first.
	var sending atomic.Bool
	// dtmcli: every resty client the SDK uses (one per request timeout) runs this hook.
	for _, rc := range []*resty.Client{dtmcli.GetRestyClient(), dtmcli.GetRestyClient2(5 * time.Second)} {
		rc.OnBeforeRequest(func(_ *resty.Client, r *resty.Request) error {
			if sending.Load() && strings.HasPrefix(r.URL, c.base+"/") {
				r.SetHeader("Authorization", "Bearer "+apiToken)
			}
			return nil
		})
	}
	// dtmgrpc: a unary client interceptor, added before the first connection to the coordinator.
	dtmgrpc.AddUnaryInterceptor(func(ctx context.Context, method string, req, reply interface{}, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if sending.Load() && cc.Target() == grpcTarget {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+apiToken)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	})
	grpcNewGid := func() (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r, err := dtmgimp.MustGetDtmClient(grpcTarget).NewGid(ctx, &emptypb.Empty{})
		if err != nil {
			return "", err
		}
		return r.Gid, nil
	}

	out, in := newAccounts(t, 100, 100)
	req := &busiReq{Amount: 10, OutUID: out, InUID: in}
	saga := func(server, gid string) *dtmcli.Saga {
		s := dtmcli.NewSaga(server, gid).
			Add(busi.url("saga/TransOut"), busi.url("saga/TransOutRevert"), req).
			Add(busi.url("saga/TransIn"), busi.url("saga/TransInRevert"), req)
		s.WaitResult = true
		return s
	}

	// Without the token: HTTP, JSON-RPC and gRPC are refused, nothing runs.
	refused := newGid("auth-no")
	err = saga(c.dtm, refused).Submit()
	require.Error(t, err)
	require.Contains(t, err.Error(), "ApiAuth.Token")
	rpc := saga(c.base+"/api/json-rpc", newGid("auth-no-rpc"))
	rpc.Protocol = dtmimp.Jrpc
	require.Error(t, rpc.Submit())
	_, err = grpcNewGid()
	require.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)
	require.Empty(t, busi.trace(refused))

	// With the token.
	sending.Store(true)
	gid := dtmcli.MustGenGid(c.dtm)
	require.NoError(t, saga(c.dtm, gid).Submit())
	require.Equal(t, []string{"saga/TransOut action", "saga/TransIn action"}, busi.trace(gid))
	timed := saga(c.dtm, newGid("auth-timeout"))
	timed.RequestTimeout = 5
	require.NoError(t, timed.Submit())
	rpc = saga(c.base+"/api/json-rpc", newGid("auth-rpc"))
	rpc.Protocol = dtmimp.Jrpc
	require.NoError(t, rpc.Submit())
	requireBalance(t, out, 70)
	g, err := grpcNewGid()
	require.NoError(t, err)
	require.NotEmpty(t, g)

	// The service token cannot stop transactions; the operator token can.
	resp, err := dtmcli.GetRestyClient().R().SetBody(map[string]string{"gid": gid}).Post(c.dtm + "/forceStop")
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, resp.StatusCode(), resp.String())
}
