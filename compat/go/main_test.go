package compat

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/dtm-labs/logger"
	_ "github.com/go-sql-driver/mysql"
)

// Environment (set by scripts/test-all.mjs; `node scripts/services.mjs start` prints them):
//
//	DTX_TEST_MYSQL_URL  MariaDB used as the business database (required; default: the port
//	                    scripts/services.mjs uses)
//	DTX_TEST_PG_URL     PostgreSQL, for running the coordinator on the postgres store
//	DTX_TEST_STORES     comma-separated coordinator stores to test: sqlite (default), postgres, mysql
const defaultMysqlURL = "mysql://root:dtxroot@127.0.0.1:53306/mysql"

var (
	// coordinators under test, one per store; every test runs against each of them.
	coordinators []*coordinator
	// busi is the in-process branch service every transaction calls.
	busi *busiServer
	// busiDB is the business database (MariaDB), busiConf the same as a dtmcli.DBConf (for XA).
	busiDB   *sql.DB
	busiConf dtmcli.DBConf
	mysqlDSN func(db string, extra string) string
)

func TestMain(m *testing.M) {
	// The tests mostly wait for the coordinator's retry timers: run more of them at once than
	// the default (GOMAXPROCS) unless -test.parallel was given.
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", "16")
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	logger.InitLog("error") // the SDK logs every request at info level
	dtmcli.SetCurrentDBType(dtmcli.DBTypeMysql)

	tmp, err := os.MkdirTemp("", "dtx-go-compat-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)

	if err := setupBusiDB(); err != nil {
		fmt.Fprintf(os.Stderr, "business database: %v\n(start MariaDB with `node scripts/services.mjs start` and export DTX_TEST_MYSQL_URL)\n", err)
		return 1
	}
	defer teardownBusiDB()

	busi, err = startBusi()
	if err != nil {
		fmt.Fprintf(os.Stderr, "branch service: %v\n", err)
		return 1
	}
	defer busi.close()

	for _, store := range storesToTest() {
		c, err := startCoordinator(store, tmp)
		if err != nil {
			fmt.Fprintf(os.Stderr, "coordinator (%s): %v\n", store, err)
			return 1
		}
		defer c.stop()
		coordinators = append(coordinators, c)
	}

	code := m.Run()
	if code != 0 {
		for _, c := range coordinators {
			c.dumpLog(300)
		}
	}
	return code
}

func storesToTest() []string {
	v := strings.TrimSpace(os.Getenv("DTX_TEST_STORES"))
	if v == "" {
		return []string{"sqlite"}
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// ---------------------------------------------------------------------------------------------
// Business database

var busiDBName string

func setupBusiDB() error {
	raw := os.Getenv("DTX_TEST_MYSQL_URL")
	if raw == "" {
		raw = defaultMysqlURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("DTX_TEST_MYSQL_URL: %w", err)
	}
	port, _ := strconv.Atoi(u.Port())
	if port == 0 {
		port = 3306
	}
	user := u.User.Username()
	password, _ := u.User.Password()
	mysqlDSN = func(db string, extra string) string {
		return fmt.Sprintf("%s:%s@tcp(%s:%d)/%s?charset=utf8mb4&parseTime=true&loc=Local%s", user, password, u.Hostname(), port, db, extra)
	}
	admin, err := sql.Open("mysql", mysqlDSN("", "&multiStatements=true"))
	if err != nil {
		return err
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		return fmt.Errorf("cannot reach %s: %w", u.Redacted(), err)
	}
	busiDBName = "dtx_busi_" + randomHex(4)
	// The barrier table of dtm's SDK (dtm: sqls/dtmcli.barrier.mysql.sql), shared by all runs;
	// gids are unique, so concurrent runs do not disturb each other.
	stmts := []string{
		"CREATE DATABASE IF NOT EXISTS dtm_barrier",
		`CREATE TABLE IF NOT EXISTS dtm_barrier.barrier (
			id bigint(22) PRIMARY KEY AUTO_INCREMENT,
			trans_type varchar(45) DEFAULT '',
			gid varchar(128) DEFAULT '',
			branch_id varchar(128) DEFAULT '',
			op varchar(45) DEFAULT '',
			barrier_id varchar(45) DEFAULT '',
			reason varchar(45) DEFAULT '' COMMENT 'the branch type who insert this record',
			create_time datetime DEFAULT now(),
			update_time datetime DEFAULT now(),
			KEY(create_time),
			KEY(update_time),
			UNIQUE KEY(gid, branch_id, op, barrier_id)
		) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
		fmt.Sprintf("CREATE DATABASE %s CHARACTER SET utf8mb4", busiDBName),
		fmt.Sprintf(`CREATE TABLE %s.user_account (
			user_id int PRIMARY KEY,
			balance decimal(10,2) NOT NULL DEFAULT 0,
			trading_balance decimal(10,2) NOT NULL DEFAULT 0
		) ENGINE=InnoDB`, busiDBName),
	}
	for _, s := range stmts {
		if _, err := admin.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", strings.Fields(s)[0:3], err)
		}
	}
	busiDB, err = sql.Open("mysql", mysqlDSN(busiDBName, ""))
	if err != nil {
		return err
	}
	busiDB.SetMaxOpenConns(50)
	busiConf = dtmcli.DBConf{Driver: "mysql", Host: u.Hostname(), Port: int64(port), User: user, Password: password, Db: busiDBName}
	return nil
}

func teardownBusiDB() {
	if busiDB == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A failed XA test may leave prepared XA transactions holding locks: roll back ours.
	rollbackOurXa(ctx)
	_, _ = busiDB.ExecContext(ctx, "DROP DATABASE IF EXISTS "+busiDBName)
	_ = busiDB.Close()
}

// openXids lists the prepared XA transactions whose xid starts with prefix.
func openXids(ctx context.Context, prefix string) []string {
	rows, err := busiDB.QueryContext(ctx, "XA RECOVER")
	if err != nil {
		return nil
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var format, gl, bl int
		var data string
		if rows.Scan(&format, &gl, &bl, &data) == nil && strings.HasPrefix(data, prefix) {
			out = append(out, data)
		}
	}
	return out
}

func rollbackOurXa(ctx context.Context) {
	for _, xid := range openXids(ctx, "") {
		if busi != nil && busi.ownsXid(xid) {
			_, _ = busiDB.ExecContext(ctx, fmt.Sprintf("XA ROLLBACK '%s'", xid))
		}
	}
}

// ---------------------------------------------------------------------------------------------
// The coordinator process

type coordinator struct {
	store   string
	base    string // http://127.0.0.1:PORT
	dtm     string // base + /api/dtmsvr, what the SDK is given
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	dropDB  func()
}

func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root := filepath.Join(wd, "..", "..")
	if _, err := os.Stat(filepath.Join(root, "apps", "server", "src", "main.ts")); err != nil {
		return "", fmt.Errorf("repository root not found two levels above %s", wd)
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules")); err != nil {
		return "", errors.New("node_modules missing: run `pnpm install` in the repository root")
	}
	return root, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// storeEnv returns the STORE_* variables for a fresh database on the named store.
func storeEnv(store, tmp string) (map[string]string, func(), error) {
	name := "dtx_go_" + randomHex(4)
	switch store {
	case "sqlite":
		return map[string]string{"STORE_DRIVER": "sqlite", "STORE_DB": filepath.Join(tmp, name+".sqlite")}, func() {}, nil
	case "postgres", "mysql":
		key := map[string]string{"postgres": "DTX_TEST_PG_URL", "mysql": "DTX_TEST_MYSQL_URL"}[store]
		raw := os.Getenv(key)
		if raw == "" && store == "mysql" {
			raw = defaultMysqlURL
		}
		if raw == "" {
			return nil, nil, fmt.Errorf("%s is not set (needed for the %s store)", key, store)
		}
		u, err := url.Parse(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", key, err)
		}
		password, _ := u.User.Password()
		env := map[string]string{
			"STORE_DRIVER":   store,
			"STORE_HOST":     u.Hostname(),
			"STORE_PORT":     u.Port(),
			"STORE_USER":     u.User.Username(),
			"STORE_PASSWORD": password,
			"STORE_DB":       name, // the server creates a missing database
		}
		drop := func() {}
		if store == "mysql" {
			drop = func() { _, _ = busiDB.Exec("DROP DATABASE IF EXISTS " + name) }
		}
		return env, drop, nil
	}
	return nil, nil, fmt.Errorf("unknown store %q (sqlite, postgres or mysql)", store)
}

func startCoordinator(store, tmp string) (*coordinator, error) {
	return startCoordinatorWith(store, tmp, nil)
}

// startCoordinatorWith starts one with extra environment (configuration keys).
func startCoordinatorWith(store, tmp string, extra map[string]string) (*coordinator, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	senv, drop, err := storeEnv(store, tmp)
	if err != nil {
		return nil, err
	}
	env := map[string]string{
		"HTTP_PORT":           strconv.Itoa(port),
		"GRPC_PORT":           "0", // several coordinators run at once: pick free ports
		"LISTEN_HOST":         "127.0.0.1",
		"TRANS_CRON_INTERVAL": "1",
		"LOG_LEVEL":           "info",
		"STORE_HOST":          "",
		"STORE_PORT":          "",
		"STORE_USER":          "",
		"STORE_PASSWORD":      "",
	}
	for k, v := range senv {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	cmd := exec.Command("node", "--import", "tsx", filepath.Join("apps", "server", "src", "main.ts"))
	cmd.Dir = root
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logPath := filepath.Join(tmp, fmt.Sprintf("coordinator-%s-%s.log", store, randomHex(3)))
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// The coordinator dies with the test binary even if it is killed (go test -timeout).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting node: %w", err)
	}
	c := &coordinator{
		store:   store,
		base:    fmt.Sprintf("http://127.0.0.1:%d", port),
		cmd:     cmd,
		logPath: logPath,
		exited:  make(chan struct{}),
		dropDB:  drop,
	}
	c.dtm = c.base + "/api/dtmsvr"
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(c.exited)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-c.exited:
			c.dumpLog(100)
			return nil, fmt.Errorf("coordinator exited during start-up: %v", cmd.ProcessState)
		default:
		}
		resp, err := http.Get(c.base + "/api/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c, nil
			}
		}
		if time.Now().After(deadline) {
			c.stop()
			c.dumpLog(100)
			return nil, errors.New("coordinator did not answer /api/ping within 60s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *coordinator) stop() {
	if c.cmd.Process != nil {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
	}
	if c.dropDB != nil {
		c.dropDB()
	}
}

func (c *coordinator) dumpLog(lines int) {
	b, err := os.ReadFile(c.logPath)
	if err != nil {
		return
	}
	var all []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1024*1024), 1024*1024)
	for sc.Scan() {
		all = append(all, sc.Text())
	}
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	fmt.Fprintf(os.Stderr, "---- last %d lines of the %s coordinator's log ----\n%s\n----\n", len(all), c.store, strings.Join(all, "\n"))
}
