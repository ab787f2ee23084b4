package compat

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/dtm-labs/client/workflow"
)

// The branch service: dtm's quick-start account transfer written against the official SDK
// (barrier-protected saga, tcc and msg branches; XA branches with dtmcli.XaLocalTransaction),
// plus a log of every call it received, per gid, in arrival order.

// busiReq is the payload every branch receives (dtm's quick-start request, with explicit users).
type busiReq struct {
	Amount         int    `json:"amount"`
	OutUID         int    `json:"out_uid"`
	InUID          int    `json:"in_uid"`
	TransOutResult string `json:"trans_out_result,omitempty"` // "FAILURE": the branch fails its business check
	TransInResult  string `json:"trans_in_result,omitempty"`
}

// branchCall is one request the service received.
type branchCall struct {
	Name     string // handler name, e.g. "saga/TransOut"
	Method   string
	Op       string
	BranchID string
	TransTyp string
	FromSDK  bool // the request carried the SDK's `dtm` parameter (made by a client SDK, not the coordinator)
	Header   http.Header
	Body     string
	At       time.Time
}

type busiServer struct {
	base   string // http://127.0.0.1:PORT/api/busi
	srv    *http.Server
	mux    *http.ServeMux
	mu     sync.Mutex
	calls  map[string][]branchCall // by gid
	faults map[string][]string     // by gid|name|op: results to answer before running the handler
}

// runTag prefixes every gid this run creates (and so every XA xid).
var runTag = "gc" + randomHex(3)

func startBusi() (*busiServer, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &busiServer{
		base:   fmt.Sprintf("http://%s/api/busi", l.Addr().String()),
		mux:    http.NewServeMux(),
		calls:  map[string][]branchCall{},
		faults: map[string][]string{},
	}
	b.routes()
	b.srv = &http.Server{Handler: b.mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = b.srv.Serve(l) }()
	return b, nil
}

func (b *busiServer) close() { _ = b.srv.Close() }

func (b *busiServer) url(name string) string { return b.base + "/" + name }

func (b *busiServer) ownsXid(xid string) bool { return strings.HasPrefix(xid, runTag+"-") }

// inject makes the next len(results) calls of handler `name` with op `op` for gid answer the given
// results ("FAILURE" -> 409, "ONGOING" -> 425, "ERROR" -> 500) without running the handler, or
// "SLOW": answer success after 1.5s.
func (b *busiServer) inject(gid, name, op string, results ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := gid + "|" + name + "|" + op
	b.faults[k] = append(b.faults[k], results...)
}

func (b *busiServer) nextFault(gid, name, op string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := gid + "|" + name + "|" + op
	q := b.faults[k]
	if len(q) == 0 {
		return ""
	}
	b.faults[k] = q[1:]
	return q[0]
}

// callsOf returns the calls received for gid, in arrival order.
func (b *busiServer) callsOf(gid string) []branchCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]branchCall(nil), b.calls[gid]...)
}

// traceIDs renders the calls for gid as "name op branch_id" strings.
func (b *busiServer) traceIDs(gid string) []string {
	var out []string
	for _, c := range b.callsOf(gid) {
		out = append(out, c.Name+" "+c.Op+" "+c.BranchID)
	}
	return out
}

// trace renders the calls for gid as "name op" strings (SDK-made calls get a "sdk:" prefix).
func (b *busiServer) trace(gid string) []string {
	var out []string
	for _, c := range b.callsOf(gid) {
		s := c.Name + " " + c.Op
		if c.FromSDK {
			s = "sdk:" + s
		}
		out = append(out, s)
	}
	return out
}

func faultError(f string) error {
	switch f {
	case "FAILURE":
		return dtmcli.ErrFailure
	case "ONGOING":
		return dtmcli.ErrOngoing
	case "SLOW":
		time.Sleep(1500 * time.Millisecond)
		return nil
	default:
		return errors.New("injected error")
	}
}

// handle registers a branch handler that receives the decoded busiReq payload.
func (b *busiServer) handle(name string, fn func(r *http.Request, req *busiReq) any) {
	b.handleRaw(name, func(r *http.Request, body []byte) any {
		req := &busiReq{}
		if s := strings.TrimSpace(string(body)); s != "" && s != "null" {
			if err := json.Unmarshal(body, req); err != nil {
				return fmt.Errorf("bad request body %q: %w", s, err)
			}
		}
		return fn(r, req)
	})
}

// handleRaw registers a branch handler. Its result is rendered like dtm's example services do
// (dtmcli.Result2HttpJSON: nil -> 200, ErrFailure -> 409, ErrOngoing -> 425, other error -> 500).
func (b *busiServer) handleRaw(name string, fn func(r *http.Request, body []byte) any) {
	b.mux.HandleFunc("/api/busi/"+name, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		q := r.URL.Query()
		gid := q.Get("gid")
		c := branchCall{
			Name: name, Method: r.Method, Op: q.Get("op"), BranchID: q.Get("branch_id"), TransTyp: q.Get("trans_type"),
			FromSDK: q.Has("dtm"), Header: r.Header.Clone(), Body: string(body), At: time.Now(),
		}
		b.mu.Lock()
		b.calls[gid] = append(b.calls[gid], c)
		b.mu.Unlock()

		var result any
		if f := b.nextFault(gid, name, c.Op); f != "" {
			result = faultError(f)
		} else {
			result = fn(r, body)
		}
		code, res := dtmcli.Result2HttpJSON(result)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(res)
	})
}

func mustBarrier(r *http.Request) (*dtmcli.BranchBarrier, error) {
	return dtmcli.BarrierFromQuery(r.URL.Query())
}

// withBarrier runs fn in a local transaction protected by the sub-transaction barrier.
func withBarrier(r *http.Request, fn dtmcli.BarrierBusiFunc) any {
	bb, err := mustBarrier(r)
	if err != nil {
		return err
	}
	return bb.CallWithDB(busiDB, fn)
}

// adjustBalance moves amount into uid's balance; it fails the business check (FAILURE) when the
// balance would become negative or when result asks it to.
func adjustBalance(tx *sql.Tx, uid int, amount int, result string) error {
	r, err := tx.Exec("UPDATE user_account SET balance = balance + ? WHERE user_id = ? AND balance + ? >= 0", amount, uid, amount)
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return fmt.Errorf("insufficient balance for user %d: %w", uid, dtmcli.ErrFailure)
	}
	if result == dtmcli.ResultFailure {
		return fmt.Errorf("business check failed for user %d: %w", uid, dtmcli.ErrFailure)
	}
	return nil
}

// adjustTrading freezes (negative amount) or credits-in-advance (positive) part of a balance (TCC try/cancel).
func adjustTrading(tx *sql.Tx, uid int, amount int) error {
	r, err := tx.Exec("UPDATE user_account SET trading_balance = trading_balance + ? WHERE user_id = ? AND trading_balance + ? + balance >= 0", amount, uid, amount)
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return fmt.Errorf("insufficient balance for user %d: %w", uid, dtmcli.ErrFailure)
	}
	return nil
}

// confirmTrading turns a frozen amount into a real balance change (TCC confirm).
func confirmTrading(tx *sql.Tx, uid int, amount int) error {
	_, err := tx.Exec("UPDATE user_account SET trading_balance = trading_balance - ?, balance = balance + ? WHERE user_id = ?", amount, amount, uid)
	return err
}

func (b *busiServer) routes() {
	// saga (dtm's quick start)
	b.handle("saga/TransOut", func(r *http.Request, q *busiReq) any {
		return withBarrier(r, func(tx *sql.Tx) error { return adjustBalance(tx, q.OutUID, -q.Amount, q.TransOutResult) })
	})
	b.handle("saga/TransOutRevert", func(r *http.Request, q *busiReq) any {
		return withBarrier(r, func(tx *sql.Tx) error { return adjustBalance(tx, q.OutUID, q.Amount, "") })
	})
	b.handle("saga/TransIn", func(r *http.Request, q *busiReq) any {
		return withBarrier(r, func(tx *sql.Tx) error { return adjustBalance(tx, q.InUID, q.Amount, q.TransInResult) })
	})
	b.handle("saga/TransInRevert", func(r *http.Request, q *busiReq) any {
		return withBarrier(r, func(tx *sql.Tx) error { return adjustBalance(tx, q.InUID, -q.Amount, "") })
	})
	// steps without business effect, for ordering and retry tests
	b.handle("noop", func(r *http.Request, q *busiReq) any { return nil })
	b.handle("noop2", func(r *http.Request, q *busiReq) any { return nil })

	// tcc
	b.handle("tcc/TransOutTry", func(r *http.Request, q *busiReq) any {
		if q.TransOutResult == dtmcli.ResultFailure {
			return dtmcli.ErrFailure
		}
		return withBarrier(r, func(tx *sql.Tx) error { return adjustTrading(tx, q.OutUID, -q.Amount) })
	})
	b.handle("tcc/TransOutConfirm", func(r *http.Request, q *busiReq) any {
		return withBarrier(r, func(tx *sql.Tx) error { return confirmTrading(tx, q.OutUID, -q.Amount) })
	})
	b.handle("tcc/TransOutCancel", func(r *http.Request, q *busiReq) any {
		return withBarrier(r, func(tx *sql.Tx) error { return adjustTrading(tx, q.OutUID, q.Amount) })
	})
	b.handle("tcc/TransInTry", func(r *http.Request, q *busiReq) any {
		if q.TransInResult == dtmcli.ResultFailure {
			return fmt.Errorf("transfer refused by the receiving bank: %w", dtmcli.ErrFailure)
		}
		return withBarrier(r, func(tx *sql.Tx) error { return adjustTrading(tx, q.InUID, q.Amount) })
	})
	b.handle("tcc/TransInConfirm", func(r *http.Request, q *busiReq) any {
		return withBarrier(r, func(tx *sql.Tx) error { return confirmTrading(tx, q.InUID, q.Amount) })
	})
	b.handle("tcc/TransInCancel", func(r *http.Request, q *busiReq) any {
		return withBarrier(r, func(tx *sql.Tx) error { return adjustTrading(tx, q.InUID, -q.Amount) })
	})

	// a nested TCC: the Try of branch 02 opens sub-branch 0201 of the same global transaction
	b.handle("tcc/NestedTry", func(r *http.Request, q *busiReq) any {
		tcc, err := dtmcli.TccFromQuery(r.URL.Query())
		if err != nil {
			return err
		}
		_, err = tcc.CallBranch(q, b.url("noop2"), b.url("noop2"), b.url("noop2"))
		return err
	})

	// msg: the consumer action and the query-prepared check-back
	b.handle("msg/TransIn", func(r *http.Request, q *busiReq) any {
		return withBarrier(r, func(tx *sql.Tx) error { return adjustBalance(tx, q.InUID, q.Amount, "") })
	})
	b.handle("msg/QueryPrepared", func(r *http.Request, q *busiReq) any {
		bb, err := mustBarrier(r)
		if err != nil {
			return err
		}
		return bb.QueryPrepared(busiDB)
	})

	// workflow: the coordinator's resume callback re-runs an unfinished workflow
	b.handleRaw("workflow/resume", func(r *http.Request, body []byte) any {
		return workflow.ExecuteByQS(r.URL.Query(), body)
	})

	// xa: phase 1 from the SDK (op=action), phase 2 from the coordinator (op=commit/rollback)
	b.handle("xa/TransOut", func(r *http.Request, q *busiReq) any {
		return xaLocal(r, func(db *sql.DB) error { return xaAdjust(db, q.OutUID, -q.Amount, q.TransOutResult) })
	})
	b.handle("xa/TransIn", func(r *http.Request, q *busiReq) any {
		return xaLocal(r, func(db *sql.DB) error { return xaAdjust(db, q.InUID, q.Amount, q.TransInResult) })
	})
}

// xaLocal is dtmcli.XaLocalTransaction, plus a wait until MariaDB has detached the prepared XA
// transaction from the branch's (closed) connection. The SDK closes that connection without
// waiting for the server; until the server has processed the disconnect, an XA COMMIT/ROLLBACK
// from another connection answers XAER_NOTA, which the SDK takes for "already done": the commit
// would be lost and the transaction left prepared, holding its locks. (A race between the SDK
// and MariaDB >= 10.5, independent of the coordinator; dtm's own tests run one at a time.)
func xaLocal(r *http.Request, fn func(db *sql.DB) error) error {
	var conn int64
	err := dtmcli.XaLocalTransaction(r.URL.Query(), busiConf, func(db *sql.DB, xa *dtmcli.Xa) error {
		conn = connectionID(db)
		return fn(db)
	})
	waitDisconnected(conn)
	return err
}

// connectionID returns the server thread id of the XA connection (the SDK runs the XA statements
// one after another on a private pool, so they share one connection).
func connectionID(db *sql.DB) int64 {
	var id int64
	_ = db.QueryRow("SELECT CONNECTION_ID()").Scan(&id)
	return id
}

// waitDisconnected waits (up to 10s) until the server thread id is gone.
func waitDisconnected(id int64) {
	if id == 0 {
		return
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		var n int
		if err := busiDB.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?", id).Scan(&n); err != nil || n == 0 {
			return
		}
	}
}

// xaAdjust runs inside the branch's XA transaction (db is the XA connection, autocommit off).
func xaAdjust(db *sql.DB, uid int, amount int, result string) error {
	r, err := db.Exec("UPDATE user_account SET balance = balance + ? WHERE user_id = ? AND balance + ? >= 0", amount, uid, amount)
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return fmt.Errorf("insufficient balance for user %d: %w", uid, dtmcli.ErrFailure)
	}
	if result == dtmcli.ResultFailure {
		return fmt.Errorf("business check failed for user %d: %w", uid, dtmcli.ErrFailure)
	}
	return nil
}
