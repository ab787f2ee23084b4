// Command clientbench measures dtm's Go SDK the way packages/bench/src/client-overhead.ts
// measures @dtx/client (docs/benchmarks.md, "Client overhead"): CPU of this process per saga
// submit (getrusage around each submit, one at a time) against a coordinator whose branches
// answer at once, and the barrier's cost per branch call on PostgreSQL (statements sent and ms of
// a local transaction with dtmcli's barrier against the same transaction without it). Started by
// `pnpm bench:client --sdk go`, which provides the coordinator, the branch service and a fresh
// database with the barrier table; prints one JSON object.
//
//	clientbench -dtm http://127.0.0.1:36789/api/dtmsvr -busi http://127.0.0.1:8081/api/busi_bench [-pg URL] [-seconds 10] [-warmup 2]
package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"sort"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/dtm-labs/logger"
	"github.com/lib/pq"
)

const update = "update user_account set balance = balance - 1 where user_id = 1"

type pct struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
}

func percentiles(xs []float64) pct {
	if len(xs) == 0 {
		return pct{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	at := func(q float64) float64 { return s[int(math.Min(float64(len(s)-1), math.Floor(q*float64(len(s)))))] }
	r := func(x float64) float64 { return math.Round(x*100) / 100 }
	return pct{r(at(0.5)), r(at(0.99))}
}

func cpuMicros() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fail(err)
	}
	return float64(ru.Utime.Sec*1e6+ru.Utime.Usec) + float64(ru.Stime.Sec*1e6+ru.Stime.Usec)
}

// loop runs fn for warmup, then for seconds, and counts the measured runs.
func loop(warmup, seconds float64, fn func(measured bool)) int {
	end := time.Now().Add(time.Duration(warmup * float64(time.Second)))
	for time.Now().Before(end) {
		fn(false)
	}
	n := 0
	end = time.Now().Add(time.Duration(seconds * float64(time.Second)))
	for time.Now().Before(end) {
		fn(true)
		n++
	}
	return n
}

// The statements sent through database/sql (begin, each exec/query, commit/rollback).
var trips atomic.Int64

type pqConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ExecerContext
	driver.QueryerContext
}

type countingDriver struct{ d driver.Driver }

func (c countingDriver) Open(name string) (driver.Conn, error) {
	cn, err := c.d.Open(name)
	if err != nil {
		return nil, err
	}
	pc, ok := cn.(pqConn)
	if !ok {
		return nil, fmt.Errorf("the pq connection lacks the context methods")
	}
	return countingConn{pc}, nil
}

type countingConn struct{ pqConn }

func (c countingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	trips.Add(1)
	return c.pqConn.ExecContext(ctx, q, args)
}

func (c countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	trips.Add(1)
	return c.pqConn.QueryContext(ctx, q, args)
}

func (c countingConn) BeginTx(ctx context.Context, o driver.TxOptions) (driver.Tx, error) {
	trips.Add(1)
	tx, err := c.pqConn.BeginTx(ctx, o)
	if err != nil {
		return nil, err
	}
	return countingTx{tx}, nil
}

type countingTx struct{ driver.Tx }

func (t countingTx) Commit() error   { trips.Add(1); return t.Tx.Commit() }
func (t countingTx) Rollback() error { trips.Add(1); return t.Tx.Rollback() }

func main() {
	dtm := flag.String("dtm", "", "the coordinator, http://host:port/api/dtmsvr")
	busi := flag.String("busi", "", "the branch service's base URL (TransOut, TransIn, TransOutCom, TransInCom)")
	pgURL := flag.String("pg", "", "PostgreSQL URL of a database with dtm_barrier.barrier and user_account (empty: no barrier part)")
	seconds := flag.Float64("seconds", 10, "measured seconds of each part")
	warmup := flag.Float64("warmup", 2, "unmeasured seconds before each part")
	flag.Parse()
	if *dtm == "" || *busi == "" {
		fail(fmt.Errorf("-dtm and -busi are required"))
	}
	logger.InitLog("error")
	result := map[string]any{"sdk": "dtm Go SDK (github.com/dtm-labs/client v1.18.7)", "go": runtime.Version()}

	var cpu, wall, gidCPU []float64
	n := loop(*warmup, *seconds, func(measured bool) {
		t := cpuMicros()
		gid := dtmcli.MustGenGid(*dtm)
		g := cpuMicros() - t
		saga := dtmcli.NewSaga(*dtm, gid).
			Add(*busi+"/TransOut", *busi+"/TransOutCom", map[string]any{}).
			Add(*busi+"/TransIn", *busi+"/TransInCom", map[string]any{})
		saga.WaitResult = true
		t = cpuMicros()
		w := time.Now()
		if err := saga.Submit(); err != nil {
			fail(err)
		}
		if measured {
			cpu = append(cpu, cpuMicros()-t)
			wall = append(wall, float64(time.Since(w).Microseconds()))
			gidCPU = append(gidCPU, g)
		}
	})
	result["client"] = map[string]any{"submits": n, "cpu_us": percentiles(cpu), "wall_us": percentiles(wall), "newgid_cpu_us": percentiles(gidCPU)}

	if *pgURL == "" {
		result["barrier"] = nil
	} else {
		sql.Register("countingpq", countingDriver{&pq.Driver{}})
		db, err := sql.Open("countingpq", *pgURL)
		if err != nil {
			fail(err)
		}
		defer db.Close()
		db.SetMaxOpenConns(2)
		dtmcli.SetCurrentDBType(dtmcli.DBTypePostgres)
		var plainMs, barrierMs []float64
		var plainTrips, barrierTrips int64
		i := 0
		calls := loop(*warmup, *seconds, func(measured bool) {
			i++
			n0 := trips.Load()
			t := time.Now()
			tx, err := db.Begin()
			if err != nil {
				fail(err)
			}
			if _, err := tx.Exec(update); err != nil {
				fail(err)
			}
			if err := tx.Commit(); err != nil {
				fail(err)
			}
			p := float64(time.Since(t).Microseconds()) / 1000
			n1 := trips.Load()
			bb, err := dtmcli.BarrierFrom("saga", fmt.Sprintf("gobench-%d-%d", os.Getpid(), i), "01", "action")
			if err != nil {
				fail(err)
			}
			t = time.Now()
			if err := bb.CallWithDB(db, func(tx *sql.Tx) error { _, err := tx.Exec(update); return err }); err != nil {
				fail(err)
			}
			b := float64(time.Since(t).Microseconds()) / 1000
			if measured {
				plainMs = append(plainMs, p)
				barrierMs = append(barrierMs, b)
				plainTrips += n1 - n0
				barrierTrips += trips.Load() - n1
			}
		})
		r := func(x float64) float64 { return math.Round(x*100) / 100 }
		c := math.Max(1, float64(calls))
		pm, bm := percentiles(plainMs), percentiles(barrierMs)
		result["barrier"] = map[string]any{
			"calls":               calls,
			"round_trips_plain":   r(float64(plainTrips) / c),
			"round_trips_barrier": r(float64(barrierTrips) / c),
			"extra_round_trips":   r(float64(barrierTrips-plainTrips) / c),
			"plain_ms":            pm,
			"barrier_ms":          bm,
			"extra_ms_p50":        r(bm.P50 - pm.P50),
		}
	}
	out, _ := json.MarshalIndent(result, "", "  ")
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
