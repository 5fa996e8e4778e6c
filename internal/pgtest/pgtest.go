// Package pgtest has the test helpers of the PostgreSQL cluster packages:
// the test database's URL, a check that it answers, channel prefixes and
// table names no other test uses, and a PostgreSQL server of a test's own
// that it can stop and start (the machine's is never restarted).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// URL is the test database: SOCKETIO_POSTGRES_URL, or
// postgres://postgres@127.0.0.1:5432/test.
func URL() string {
	if u := os.Getenv("SOCKETIO_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// Need fails the test (skips it with SOCKETIO_SKIP_POSTGRES=1) when no
// PostgreSQL answers at url.
func Need(t testing.TB, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, url)
	if err == nil {
		err = pool.Ping(ctx)
		pool.Close()
	}
	if err != nil {
		if os.Getenv("SOCKETIO_SKIP_POSTGRES") == "1" {
			t.Skipf("no PostgreSQL at %s (SOCKETIO_SKIP_POSTGRES=1): %v", url, err)
		}
		t.Fatalf("no PostgreSQL at %s: %v (start one, e.g. pg_ctlcluster 15 main start; or set SOCKETIO_SKIP_POSTGRES=1)", url, err)
	}
}

// Pool returns a pool on url, closed at the end of the test.
func Pool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	Need(t, url)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Key returns prefix followed by random hex: a channel prefix or table
// name no other test uses.
func Key(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Server is a PostgreSQL server of the test's own, on a free port, in a
// data directory made by initdb (run as the postgres user when the test
// runs as root, which PostgreSQL refuses to be).
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port string
	mu   sync.Mutex
	cmd  *exec.Cmd // guarded by mu; nil while stopped
}

// Start initialises and starts a server, removed at the end of the test.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := binDir()
	if bin == "" {
		if os.Getenv("SOCKETIO_SKIP_POSTGRES") == "1" {
			t.Skip("PostgreSQL's initdb not found (SOCKETIO_SKIP_POSTGRES=1)")
		}
		t.Fatal("PostgreSQL's initdb not found in /usr/lib/postgresql/*/bin nor on the PATH (install Debian's postgresql, or set SOCKETIO_SKIP_POSTGRES=1)")
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := own(dir); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	s := &Server{t: t, bin: bin, dir: filepath.Join(dir, "data"), port: port}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", s.dir, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
	asPostgres(initdb)
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

func binDir() string {
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(m) > 0 {
		return filepath.Dir(m[len(m)-1])
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// URL is the server's database "postgres".
func (s *Server) URL() string {
	return "postgres://postgres@127.0.0.1:" + s.port + "/postgres?sslmode=disable"
}

// Start starts the server (again) and waits until it answers.
func (s *Server) Start() {
	s.t.Helper()
	cmd := exec.Command(filepath.Join(s.bin, "postgres"), "-D", s.dir, "-p", s.port,
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+filepath.Dir(s.dir),
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=100")
	asPostgres(cmd)
	var logs strings.Builder
	cmd.Stderr = &lockedWriter{w: &logs}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		pool, err := pgxpool.New(ctx, s.URL())
		if err == nil {
			err = pool.Ping(ctx)
			pool.Close()
		}
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("postgres on port %s did not start: %v", s.port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the server at once (SIGQUIT: immediate shutdown, every
// connection cut, as a crash would) and waits for it.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	quit(cmd)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// PoolNoCleanup returns a pool on url for a cleanup function (nil when it
// cannot be made); the caller closes it.
func PoolNoCleanup(url string) *pgxpool.Pool {
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		return nil
	}
	return pool
}

// DropTable drops a test's table, if it exists.
func DropTable(pool *pgxpool.Pool, table string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = pool.Exec(ctx, "DROP TABLE IF EXISTS "+table)
}
