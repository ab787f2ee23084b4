package gozero_test

// The seed scenario: a go-zero shop whose order and stock services take part in a saga that the
// coordinator drives over gRPC, resolving every service through etcd.

import (
	"fmt"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmgrpc"

	"dtx.local/compat/gozero/shoppb"
)

type shopCase struct {
	gid       string
	orderNo   string
	productID int64
}

// newShopCase stocks a fresh product with `stock` units.
func newShopCase(t *testing.T, c *coordinator, prefix string, stock int64) shopCase {
	t.Helper()
	s := shopCase{gid: dtmgrpc.MustGenGid(c.target), productID: time.Now().UnixNano() % 1_000_000_000}
	s.orderNo = fmt.Sprintf("%s%s", prefix, s.gid)
	mustExec(t, stockDB, "INSERT INTO stock(product_id, num) VALUES (?, ?)", s.productID, stock)
	return s
}

// orderSaga is the shop's saga: create the order, then deduct the stock; retries after 1 s.
func orderSaga(c *coordinator, s shopCase, num int64) *dtmgrpc.SagaGrpc {
	req := &shoppb.OrderReq{OrderNo: s.orderNo, UserID: 1, ProductID: s.productID, Num: num}
	saga := dtmgrpc.NewSagaGrpc(c.target, s.gid).
		Add(svcURL(orderSvc, "shop.Order/Create"), svcURL(orderSvc, "shop.Order/CreateRevert"), req).
		Add(svcURL(stockSvc, "shop.Stock/Deduct"), svcURL(stockSvc, "shop.Stock/DeductRevert"), req)
	saga.RetryInterval = 1
	return saga
}

func (s shopCase) stock(t *testing.T) int64 {
	return scalar(t, stockDB, "SELECT num FROM stock WHERE product_id = ?", s.productID)
}

func (s shopCase) orders(t *testing.T, status string) int64 {
	return scalar(t, orderDB, "SELECT COUNT(*) FROM orders WHERE order_no = ? AND status = ?", s.orderNo, status)
}

func TestShopSagaSucceedsWithEnoughStock(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		s := newShopCase(t, c, "ok-", 10)
		if err := orderSaga(c, s, 3).Submit(); err != nil {
			t.Fatalf("submit: %v", err)
		}
		c.waitStatus(t, s.gid, "succeed", 30*time.Second)
		if n := s.orders(t, "created"); n != 1 {
			t.Errorf("orders created = %d, want 1", n)
		}
		if n := s.stock(t); n != 7 {
			t.Errorf("stock = %d, want 7", n)
		}
	})
}

func TestShopSagaRollsBackWhenStockIsShort(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		s := newShopCase(t, c, "short-", 2)
		if err := orderSaga(c, s, 5).Submit(); err != nil {
			t.Fatalf("submit: %v", err)
		}
		// Stock answers codes.Aborted: the coordinator cancels the order (and sends the stock
		// service a compensation for a deduction that never happened, which the barrier ignores).
		c.waitStatus(t, s.gid, "failed", 30*time.Second)
		if n := s.orders(t, "cancelled"); n != 1 {
			t.Errorf("cancelled orders = %d, want 1", n)
		}
		if n := s.orders(t, "created"); n != 0 {
			t.Errorf("orders still created = %d, want 0", n)
		}
		if n := s.stock(t); n != 2 {
			t.Errorf("stock = %d, want 2 (unchanged)", n)
		}
	})
}

func TestShopSagaCompletesAfterStockServiceComesBack(t *testing.T) {
	if env.skip != "" {
		t.Skip(env.skip)
	}
	// One outage of the stock service for the sagas of every store at once (it is shared).
	// The first deduction after the restart commits but its reply is lost: the retry must not
	// deduct again.
	cases := make([]shopCase, len(coordinators))
	for i, c := range coordinators {
		cases[i] = newShopCase(t, c, "lost-", 10)
	}
	stockSvc.stop()
	restarted := false
	defer func() {
		if !restarted {
			stockSvc.start()
		}
	}()
	for i, c := range coordinators {
		if err := orderSaga(c, cases[i], 4).Submit(); err != nil {
			t.Fatalf("%s: submit: %v", c.store, err)
		}
	}
	time.Sleep(3 * time.Second)
	for i, c := range coordinators {
		if st, _ := c.query(t, cases[i].gid); st != "submitted" {
			t.Fatalf("%s: status while the stock service is down = %q, want submitted", c.store, st)
		}
		if n := cases[i].stock(t); n != 10 {
			t.Fatalf("%s: stock changed while the service was down: %d", c.store, n)
		}
	}
	if err := stockSvc.start(); err != nil {
		t.Fatalf("restart stock service: %v", err)
	}
	restarted = true
	for i, c := range coordinators {
		t.Run(c.store, func(t *testing.T) {
			s := cases[i]
			c.waitStatus(t, s.gid, "succeed", 60*time.Second)
			if n := s.stock(t); n != 6 {
				t.Errorf("stock = %d, want 6 (deducted exactly once)", n)
			}
			if n := s.orders(t, "created"); n != 1 {
				t.Errorf("orders created = %d, want 1", n)
			}
		})
	}
}

func TestShopSagaBarrierHandlesNullCompensationAndSuspension(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *coordinator) {
		// The first Deduct call is held back past its 1 s deadline; the retry answers FAILURE, so
		// the saga compensates: DeductRevert reaches the stock service before any deduction
		// (null compensation), then the held-back Deduct reaches the barrier (suspension).
		s := newShopCase(t, c, "disorder-", 10)
		saga := orderSaga(c, s, 4)
		saga.RequestTimeout = 1
		if err := saga.Submit(); err != nil {
			t.Fatalf("submit: %v", err)
		}
		c.waitStatus(t, s.gid, "failed", 60*time.Second)
		if n := s.orders(t, "cancelled"); n != 1 {
			t.Errorf("cancelled orders = %d, want 1", n)
		}
		// Wait for the held-back call to get through the barrier, then check it changed nothing.
		note := ""
		deadline := time.Now().Add(20 * time.Second)
		for note == "" && time.Now().Before(deadline) {
			stockDB.QueryRow("SELECT note FROM deduct_log WHERE order_no = ?", s.orderNo).Scan(&note)
			time.Sleep(100 * time.Millisecond)
		}
		if note != "held-back call done: <nil>" {
			t.Errorf("held-back Deduct: %q, want it done and skipped by the barrier", note)
		}
		// The compensation came first and left the action's barrier row, which refused the late action.
		if n := scalar(t, stockDB, "SELECT COUNT(*) FROM dtm_barrier.barrier WHERE gid = ? AND branch_id = '02' AND op = 'action' AND reason = 'compensate'", s.gid); n != 1 {
			t.Errorf("action barrier rows inserted by the compensation = %d, want 1", n)
		}
		if n := s.stock(t); n != 10 {
			t.Errorf("stock = %d, want 10 (unchanged)", n)
		}
	})
}
