package gozero_test

// The business services of the tests, written the way a go-zero shop writes them: zrpc servers
// registered in etcd by go-zero itself, each branch running its SQL inside dtm's barrier
// (dtmgrpc.BarrierFromGrpc + CallWithDB), FAILURE mapped to codes.Aborted and any other error to
// codes.Internal. Each service runs in its own process (this test binary started again with
// DTX_GZ_ROLE set), so that a test can take one down and bring it back.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/dtm-labs/client/dtmgrpc"
	"github.com/zeromicro/go-zero/core/discov"
	"github.com/zeromicro/go-zero/core/logx"
	zeroservice "github.com/zeromicro/go-zero/core/service"
	"github.com/zeromicro/go-zero/zrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"dtx.local/compat/gozero/shoppb"
)

// runService is the body of a service process: DTX_GZ_ROLE names the service, DTX_GZ_DSN its
// database, DTX_GZ_LISTEN its address, DTX_GZ_ETCD and DTX_GZ_KEY where go-zero publishes it.
func runService(role string) {
	db, err := sql.Open("mysql", os.Getenv("DTX_GZ_DSN"))
	if err != nil {
		panic(err)
	}
	logx.DisableStat()
	conf := zrpc.RpcServerConf{
		ServiceConf: zeroservice.ServiceConf{Name: role + ".rpc", Mode: zeroservice.DevMode, Log: logx.LogConf{Mode: "console", Level: "error"}},
		ListenOn:    os.Getenv("DTX_GZ_LISTEN"),
		Etcd:        discov.EtcdConf{Hosts: []string{os.Getenv("DTX_GZ_ETCD")}, Key: os.Getenv("DTX_GZ_KEY")},
		// No server-side timeout or load shedding: the coordinator's deadline is what the tests exercise.
		Timeout:      0,
		CpuThreshold: 0,
		Health:       true,
		Middlewares:  zrpc.ServerMiddlewaresConf{Recover: true},
	}
	s := zrpc.MustNewServer(conf, func(g *grpc.Server) {
		switch role {
		case "order":
			shoppb.RegisterOrderServer(g, &orderServer{db: db})
		case "stock":
			shoppb.RegisterStockServer(g, &stockServer{db: db, reverted: map[string]chan struct{}{}, lost: map[string]bool{}, attempts: map[string]int{}})
		case "busi":
			shoppb.RegisterBusiServer(g, &busiServer{db: db})
		default:
			panic("unknown role " + role)
		}
	})
	s.Start()
}

// grpcResult maps a barrier/business result as a go-zero logic function does.
func grpcResult(err error) (*shoppb.Reply, error) {
	if err == nil {
		return &shoppb.Reply{}, nil
	}
	if errors.Is(err, dtmcli.ErrFailure) {
		return nil, status.Error(codes.Aborted, dtmcli.ResultFailure)
	}
	return nil, status.Error(codes.Internal, err.Error())
}

// inBarrier runs fn in the barrier of the incoming call, in one local transaction.
func inBarrier(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) (*shoppb.Reply, error) {
	bb, err := dtmgrpc.BarrierFromGrpc(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return grpcResult(bb.CallWithDB(db, fn))
}

// ---- order service: Create (compensation: CreateRevert cancels the order)

type orderServer struct {
	shoppb.UnimplementedOrderServer
	db *sql.DB
}

func (o *orderServer) Create(ctx context.Context, in *shoppb.OrderReq) (*shoppb.Reply, error) {
	return inBarrier(ctx, o.db, func(tx *sql.Tx) error {
		_, err := tx.Exec("INSERT INTO orders(order_no, user_id, product_id, num, status) VALUES (?, ?, ?, ?, 'created')",
			in.OrderNo, in.UserID, in.ProductID, in.Num)
		return err
	})
}

func (o *orderServer) CreateRevert(ctx context.Context, in *shoppb.OrderReq) (*shoppb.Reply, error) {
	return inBarrier(ctx, o.db, func(tx *sql.Tx) error {
		_, err := tx.Exec("UPDATE orders SET status = 'cancelled' WHERE order_no = ?", in.OrderNo)
		return err
	})
}

// ---- stock service: Deduct answers FAILURE (codes.Aborted) when stock is short.
//
// Test hooks, chosen by the order number's prefix:
//   lost-*     the first successful Deduct commits and then answers Unavailable (a lost reply);
//   disorder-* the first Deduct call hangs until the compensation has run, then goes through the
//              barrier (which must refuse it); later calls answer FAILURE.

type stockServer struct {
	shoppb.UnimplementedStockServer
	db       *sql.DB
	mu       sync.Mutex
	reverted map[string]chan struct{}
	lost     map[string]bool
	attempts map[string]int
}

func (s *stockServer) revertedCh(orderNo string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.reverted[orderNo]
	if !ok {
		ch = make(chan struct{})
		s.reverted[orderNo] = ch
	}
	return ch
}

func deduct(tx *sql.Tx, in *shoppb.OrderReq) error {
	r, err := tx.Exec("UPDATE stock SET num = num - ? WHERE product_id = ? AND num >= ?", in.Num, in.ProductID, in.Num)
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return fmt.Errorf("not enough stock for product %d: %w", in.ProductID, dtmcli.ErrFailure)
	}
	return nil
}

func (s *stockServer) Deduct(ctx context.Context, in *shoppb.OrderReq) (*shoppb.Reply, error) {
	s.mu.Lock()
	s.attempts[in.OrderNo]++
	attempt := s.attempts[in.OrderNo]
	s.mu.Unlock()
	if strings.HasPrefix(in.OrderNo, "disorder-") {
		if attempt == 1 {
			// A request delayed in the network: it reaches the barrier only after the compensation.
			select {
			case <-s.revertedCh(in.OrderNo):
			case <-time.After(30 * time.Second):
			}
			reply, err := inBarrier(ctx, s.db, func(tx *sql.Tx) error { return deduct(tx, in) })
			// Tell the test that the held-back call is through (the barrier should have skipped it).
			s.db.Exec("INSERT INTO deduct_log(order_no, note) VALUES (?, ?)", in.OrderNo, fmt.Sprintf("held-back call done: %v", err))
			return reply, err
		}
		return inBarrier(ctx, s.db, func(tx *sql.Tx) error { return dtmcli.ErrFailure })
	}
	reply, err := inBarrier(ctx, s.db, func(tx *sql.Tx) error { return deduct(tx, in) })
	if err == nil && strings.HasPrefix(in.OrderNo, "lost-") {
		s.mu.Lock()
		first := !s.lost[in.OrderNo]
		s.lost[in.OrderNo] = true
		s.mu.Unlock()
		if first {
			return nil, status.Error(codes.Unavailable, "reply lost after commit")
		}
	}
	return reply, err
}

func (s *stockServer) DeductRevert(ctx context.Context, in *shoppb.OrderReq) (*shoppb.Reply, error) {
	reply, err := inBarrier(ctx, s.db, func(tx *sql.Tx) error {
		_, err := tx.Exec("UPDATE stock SET num = num + ? WHERE product_id = ?", in.Num, in.ProductID)
		return err
	})
	if err == nil {
		ch := s.revertedCh(in.OrderNo)
		s.mu.Lock()
		select {
		case <-ch:
		default:
			close(ch)
		}
		s.mu.Unlock()
	}
	return reply, err
}

// ---- bank service of dtm's quick start: saga, TCC and msg branches. Amounts above
// maxTransIn are refused by TransIn / TransInTry with FAILURE.

const maxTransIn = 100000

type busiServer struct {
	shoppb.UnimplementedBusiServer
	db *sql.DB
}

func (b *busiServer) adjust(ctx context.Context, sqlText string, args ...interface{}) (*shoppb.Reply, error) {
	return inBarrier(ctx, b.db, func(tx *sql.Tx) error {
		r, err := tx.Exec(sqlText, args...)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fmt.Errorf("balance check failed: %w", dtmcli.ErrFailure)
		}
		return nil
	})
}

func (b *busiServer) TransOut(ctx context.Context, in *shoppb.BusiReq) (*shoppb.Reply, error) {
	return b.adjust(ctx, "UPDATE user_account SET balance = balance - ? WHERE user_id = ? AND balance >= ?", in.Amount, in.UserID, in.Amount)
}

func (b *busiServer) TransOutRevert(ctx context.Context, in *shoppb.BusiReq) (*shoppb.Reply, error) {
	return b.adjust(ctx, "UPDATE user_account SET balance = balance + ? WHERE user_id = ?", in.Amount, in.UserID)
}

func (b *busiServer) TransIn(ctx context.Context, in *shoppb.BusiReq) (*shoppb.Reply, error) {
	if in.Amount > maxTransIn {
		return inBarrier(ctx, b.db, func(tx *sql.Tx) error { return dtmcli.ErrFailure })
	}
	return b.adjust(ctx, "UPDATE user_account SET balance = balance + ? WHERE user_id = ?", in.Amount, in.UserID)
}

func (b *busiServer) TransInRevert(ctx context.Context, in *shoppb.BusiReq) (*shoppb.Reply, error) {
	return b.adjust(ctx, "UPDATE user_account SET balance = balance - ? WHERE user_id = ?", in.Amount, in.UserID)
}

func (b *busiServer) TransOutTry(ctx context.Context, in *shoppb.BusiReq) (*shoppb.Reply, error) {
	return b.adjust(ctx, "UPDATE user_account SET trading_balance = trading_balance - ? WHERE user_id = ? AND balance + trading_balance >= ?", in.Amount, in.UserID, in.Amount)
}

func (b *busiServer) TransOutConfirm(ctx context.Context, in *shoppb.BusiReq) (*shoppb.Reply, error) {
	return b.adjust(ctx, "UPDATE user_account SET balance = balance - ?, trading_balance = trading_balance + ? WHERE user_id = ?", in.Amount, in.Amount, in.UserID)
}

func (b *busiServer) TransOutCancel(ctx context.Context, in *shoppb.BusiReq) (*shoppb.Reply, error) {
	return b.adjust(ctx, "UPDATE user_account SET trading_balance = trading_balance + ? WHERE user_id = ?", in.Amount, in.UserID)
}

func (b *busiServer) TransInTry(ctx context.Context, in *shoppb.BusiReq) (*shoppb.Reply, error) {
	if in.Amount > maxTransIn {
		return inBarrier(ctx, b.db, func(tx *sql.Tx) error { return dtmcli.ErrFailure })
	}
	return b.adjust(ctx, "UPDATE user_account SET trading_balance = trading_balance + ? WHERE user_id = ?", in.Amount, in.UserID)
}

func (b *busiServer) TransInConfirm(ctx context.Context, in *shoppb.BusiReq) (*shoppb.Reply, error) {
	return b.adjust(ctx, "UPDATE user_account SET balance = balance + ?, trading_balance = trading_balance - ? WHERE user_id = ?", in.Amount, in.Amount, in.UserID)
}

func (b *busiServer) TransInCancel(ctx context.Context, in *shoppb.BusiReq) (*shoppb.Reply, error) {
	return b.adjust(ctx, "UPDATE user_account SET trading_balance = trading_balance - ? WHERE user_id = ?", in.Amount, in.UserID)
}

func (b *busiServer) QueryPrepared(ctx context.Context, in *shoppb.BusiReq) (*shoppb.Reply, error) {
	bb, err := dtmgrpc.BarrierFromGrpc(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return grpcResult(bb.QueryPrepared(b.db))
}
