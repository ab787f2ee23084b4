// Package gozero_test runs dtm's go-zero scenario against dtx, unchanged: zrpc services
// registered in a real etcd, the dtm Go SDK (dtmgrpc) with the go-zero driver on the client
// side, and dtx started as a process that registers itself in the same etcd
// (MicroService.Driver dtm-driver-gozero). Needs DTX_TEST_ETCD and DTX_TEST_MYSQL_URL (and
// DTX_TEST_PG_URL for the PostgreSQL store), which `pnpm test` sets after starting the services.
package gozero_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/dtm-labs/driver-gozero"
	"github.com/dtm-labs/logger"
	_ "github.com/go-sql-driver/mysql"
	clientv3 "go.etcd.io/etcd/client/v3"
)

var env struct {
	skip    string
	etcd    string
	mysql   *url.URL
	pg      *url.URL
	stores  []string
	root    string
	tmp     string
	barrier string
}

// coordinator is one running dtx process registered in etcd.
type coordinator struct {
	store   string
	target  string // etcd://host:port/key, what dtmgrpc clients are given
	http    string
	cmd     *exec.Cmd
	logFile string
}

// service is one running business service process.
type service struct {
	role, dsn, key, listen string
	cmd                    *exec.Cmd
}

var (
	coordinators []*coordinator
	orderSvc     *service
	stockSvc     *service
	busiSvc      *service
	orderDB      *sql.DB
	stockDB      *sql.DB
	busiDB       *sql.DB
)

func TestMain(m *testing.M) {
	if role := os.Getenv("DTX_GZ_ROLE"); role != "" {
		runService(role)
		return
	}
	// The SDK logs every call at info level; keep the test output readable.
	logger.InitLog("warn")
	os.Exit(run(m))
}

func run(m *testing.M) int {
	env.etcd = os.Getenv("DTX_TEST_ETCD")
	mysqlURL := os.Getenv("DTX_TEST_MYSQL_URL")
	if env.etcd == "" || mysqlURL == "" {
		fmt.Println("DTX_TEST_ETCD / DTX_TEST_MYSQL_URL not set: run through `pnpm test`; skipping the go-zero tests")
		env.skip = "no etcd / MariaDB"
		return m.Run()
	}
	env.mysql, _ = url.Parse(mysqlURL)
	if v := os.Getenv("DTX_TEST_PG_URL"); v != "" {
		env.pg, _ = url.Parse(v)
	}
	stores := os.Getenv("DTX_TEST_STORES")
	if stores == "" {
		stores = "sqlite,postgres,mysql"
	}
	for _, s := range strings.Split(stores, ",") {
		// The Go scenarios run on the embedded store and on PostgreSQL (the TypeScript suites cover MySQL).
		if s == "sqlite" || (s == "postgres" && env.pg != nil) {
			env.stores = append(env.stores, s)
		}
	}
	wd, _ := os.Getwd()
	env.root = filepath.Join(wd, "..", "..")
	var err error
	env.tmp, err = os.MkdirTemp("", "dtx-gozero-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(env.tmp)
	suffix := randHex(4)

	cleanup, err := setup(suffix)
	defer cleanup()
	if err != nil {
		fmt.Println("setup failed:", err)
		for _, c := range coordinators {
			if c.logFile != "" {
				out, _ := os.ReadFile(c.logFile)
				fmt.Printf("--- coordinator (%s) log:\n%s\n", c.store, out)
			}
		}
		return 1
	}
	code := m.Run()
	if code != 0 {
		for _, c := range coordinators {
			out, _ := os.ReadFile(c.logFile)
			fmt.Printf("--- coordinator (%s) log (last 4000 bytes):\n%s\n", c.store, tail(string(out), 4000))
		}
	}
	return code
}

func setup(suffix string) (func(), error) {
	var stops []func()
	cleanup := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	admin, err := sql.Open("mysql", mysqlDSN(""))
	if err != nil {
		return cleanup, err
	}
	defer admin.Close()
	// The barrier table is shared by every service of this MariaDB (dtm's default name).
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS dtm_barrier",
		`CREATE TABLE IF NOT EXISTS dtm_barrier.barrier (
			id bigint(22) PRIMARY KEY AUTO_INCREMENT,
			trans_type varchar(45) DEFAULT '',
			gid varchar(128) DEFAULT '',
			branch_id varchar(128) DEFAULT '',
			op varchar(45) DEFAULT '',
			barrier_id varchar(45) DEFAULT '',
			reason varchar(45) DEFAULT '',
			create_time datetime DEFAULT now(),
			update_time datetime DEFAULT now(),
			KEY (create_time), KEY (update_time),
			UNIQUE KEY (gid, branch_id, op, barrier_id)
		) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
	} {
		if _, err := admin.Exec(q); err != nil {
			return cleanup, fmt.Errorf("%s: %w", q, err)
		}
	}
	schemas := map[string][]string{
		"order": {`CREATE TABLE orders (id bigint PRIMARY KEY AUTO_INCREMENT, order_no varchar(64) NOT NULL UNIQUE,
			user_id bigint NOT NULL, product_id bigint NOT NULL, num bigint NOT NULL, status varchar(16) NOT NULL)`},
		"stock": {`CREATE TABLE stock (product_id bigint PRIMARY KEY, num bigint NOT NULL)`,
			`CREATE TABLE deduct_log (order_no varchar(64) NOT NULL, note varchar(255) NOT NULL)`},
		"busi": {`CREATE TABLE user_account (user_id bigint PRIMARY KEY, balance bigint NOT NULL,
			trading_balance bigint NOT NULL DEFAULT 0)`},
	}
	dbs := map[string]**sql.DB{"order": &orderDB, "stock": &stockDB, "busi": &busiDB}
	svcs := map[string]**service{"order": &orderSvc, "stock": &stockSvc, "busi": &busiSvc}
	for _, role := range []string{"order", "stock", "busi"} {
		name := fmt.Sprintf("dtx_gz_%s_%s", role, suffix)
		if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
			return cleanup, err
		}
		stops = append(stops, func() {
			a, _ := sql.Open("mysql", mysqlDSN(""))
			a.Exec("DROP DATABASE IF EXISTS " + name)
			a.Close()
		})
		db, err := sql.Open("mysql", mysqlDSN(name))
		if err != nil {
			return cleanup, err
		}
		for _, q := range schemas[role] {
			if _, err := db.Exec(q); err != nil {
				return cleanup, err
			}
		}
		*dbs[role] = db
		port, err := freePort()
		if err != nil {
			return cleanup, err
		}
		s := &service{role: role, dsn: mysqlDSN(name), key: fmt.Sprintf("dtxgz-%s-%s", role, suffix), listen: fmt.Sprintf("127.0.0.1:%d", port)}
		*svcs[role] = s
		if err := s.start(); err != nil {
			return cleanup, err
		}
		stops = append(stops, s.stop)
	}
	for _, store := range env.stores {
		c, err := startCoordinator(store, suffix)
		if c != nil {
			coordinators = append(coordinators, c)
			stops = append(stops, c.stop)
		}
		if err != nil {
			return cleanup, err
		}
	}
	for _, s := range []*service{orderSvc, stockSvc, busiSvc} {
		if err := waitRegistered(s.key, 1, 20*time.Second); err != nil {
			return cleanup, fmt.Errorf("%s service: %w", s.role, err)
		}
	}
	return cleanup, nil
}

// ---- processes

func (s *service) start() error {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "DTX_GZ_ROLE="+s.role, "DTX_GZ_DSN="+s.dsn, "DTX_GZ_LISTEN="+s.listen,
		"DTX_GZ_ETCD="+env.etcd, "DTX_GZ_KEY="+s.key)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	return waitPort(s.listen, 20*time.Second)
}

// stop kills the service process (a crash: its etcd key stays until the lease expires).
func (s *service) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

func startCoordinator(store, suffix string) (*coordinator, error) {
	grpcPort, err := freePort()
	if err != nil {
		return nil, err
	}
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("dtxgz-dtm-%s-%s", store, suffix)
	c := &coordinator{
		store:   store,
		target:  fmt.Sprintf("etcd://%s/%s", env.etcd, key),
		http:    fmt.Sprintf("http://127.0.0.1:%d", httpPort),
		logFile: filepath.Join(env.tmp, "dtx-"+store+".log"),
	}
	e := append(os.Environ(),
		fmt.Sprintf("GRPC_PORT=%d", grpcPort),
		fmt.Sprintf("HTTP_PORT=%d", httpPort),
		"LISTEN_HOST=127.0.0.1",
		"MICRO_SERVICE_DRIVER=dtm-driver-gozero",
		"MICRO_SERVICE_TARGET="+c.target,
		fmt.Sprintf("MICRO_SERVICE_END_POINT=127.0.0.1:%d", grpcPort),
		"TRANS_CRON_INTERVAL=1",
		"LOG_LEVEL=info",
	)
	switch store {
	case "sqlite":
		e = append(e, "STORE_DRIVER=sqlite", "STORE_DB="+filepath.Join(env.tmp, "dtx.sqlite"))
	case "postgres":
		pw, _ := env.pg.User.Password()
		e = append(e, "STORE_DRIVER=postgres", "STORE_HOST="+env.pg.Hostname(), "STORE_PORT="+env.pg.Port(),
			"STORE_USER="+env.pg.User.Username(), "STORE_PASSWORD="+pw, "STORE_DB=dtx_gozero_"+suffix)
	}
	log, err := os.Create(c.logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("node", "--import", "tsx", "apps/server/src/main.ts")
	cmd.Dir = env.root
	cmd.Env = e
	cmd.Stdout = log
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c.cmd = cmd
	if err := waitHTTP(c.http+"/api/ping", 60*time.Second); err != nil {
		return c, fmt.Errorf("coordinator (%s): %w", store, err)
	}
	if err := waitRegistered(key, 1, 20*time.Second); err != nil {
		return c, fmt.Errorf("coordinator (%s): %w", store, err)
	}
	return c, nil
}

func (c *coordinator) stop() {
	if c.cmd != nil && c.cmd.Process != nil {
		c.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { c.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			c.cmd.Process.Kill()
			<-done
		}
		c.cmd = nil
	}
}

// ---- helpers

// forEachStore runs fn as a subtest against the coordinator of every store.
func forEachStore(t *testing.T, fn func(t *testing.T, c *coordinator)) {
	if env.skip != "" {
		t.Skip(env.skip)
	}
	for _, c := range coordinators {
		c := c
		t.Run(c.store, func(t *testing.T) { fn(t, c) })
	}
}

func (c *coordinator) query(t *testing.T, gid string) (status string, branches []map[string]interface{}) {
	t.Helper()
	r, err := http.Get(c.http + "/api/dtmsvr/query?gid=" + url.QueryEscape(gid))
	if err != nil {
		t.Fatalf("query %s: %v", gid, err)
	}
	defer r.Body.Close()
	var body struct {
		Transaction *struct {
			Status string `json:"status"`
		} `json:"transaction"`
		Branches []map[string]interface{} `json:"branches"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		t.Fatalf("query %s: %v", gid, err)
	}
	if body.Transaction == nil {
		return "", nil
	}
	return body.Transaction.Status, body.Branches
}

// waitStatus waits (generously) for the global transaction to reach want.
func (c *coordinator) waitStatus(t *testing.T, gid, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	last := ""
	for time.Now().Before(deadline) {
		if last, _ = c.query(t, gid); last == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("transaction %s stayed %q, expected %q", gid, last, want)
}

func mysqlDSN(db string) string {
	pw, _ := env.mysql.User.Password()
	return fmt.Sprintf("%s:%s@tcp(%s)/%s?parseTime=true", env.mysql.User.Username(), pw, env.mysql.Host, db)
}

func etcdClient() (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{Endpoints: []string{env.etcd}, DialTimeout: 5 * time.Second})
}

// waitRegistered waits until at least n keys exist under key/ in etcd.
func waitRegistered(key string, n int, within time.Duration) error {
	cli, err := etcdClient()
	if err != nil {
		return err
	}
	defer cli.Close()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		r, err := cli.Get(ctx, key+"/", clientv3.WithPrefix())
		cancel()
		if err == nil && len(r.Kvs) >= n {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("no key under %s/ in etcd after %v", key, within)
}

func waitPort(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on %s after %v", addr, within)
}

func waitHTTP(u string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if r, err := http.Get(u); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer within %v", u, within)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// svcURL is the branch URL of a method of a service, resolved through etcd by the go-zero driver.
func svcURL(s *service, method string) string {
	return fmt.Sprintf("etcd://%s/%s/%s", env.etcd, s.key, method)
}

func scalar(t *testing.T, db *sql.DB, q string, args ...interface{}) int64 {
	t.Helper()
	var v sql.NullInt64
	if err := db.QueryRow(q, args...).Scan(&v); err != nil && err != sql.ErrNoRows {
		t.Fatalf("%s: %v", q, err)
	}
	return v.Int64
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...interface{}) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
