// Package redistest has the test helpers of the Redis cluster packages:
// the test Redis's address, a check that it answers, keys no other test
// uses, and a redis-server of a test's own that it can stop and start.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Addr is the test Redis: SOCKETIO_REDIS_ADDR, or 127.0.0.1:6379.
func Addr() string {
	if a := os.Getenv("SOCKETIO_REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// Need fails the test (skips it with SOCKETIO_SKIP_REDIS=1) when no Redis
// answers at addr.
func Need(t testing.TB, addr string) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		if os.Getenv("SOCKETIO_SKIP_REDIS") == "1" {
			t.Skipf("no Redis at %s (SOCKETIO_SKIP_REDIS=1): %v", addr, err)
		}
		t.Fatalf("no Redis at %s: %v (start one: redis-server --port 6379 --save '' --appendonly no; or set SOCKETIO_SKIP_REDIS=1)", addr, err)
	}
}

// Key returns prefix followed by random hex: a key or channel prefix no
// other test uses.
func Key(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Server is a redis-server of the test's own, on a free port (the
// machine's Redis is never touched).
type Server struct {
	t    testing.TB
	port string
	dir  string // with persistence: the AOF's folder
	mu   sync.Mutex
	cmd  *exec.Cmd // guarded by mu; nil while stopped
}

// Start starts a server without persistence (a restart empties it),
// stopped at the end of the test.
func Start(t testing.TB) *Server { return start(t, "") }

// StartPersistent starts a server that writes every command to its
// append-only file before answering (appendfsync always), so that a
// restart, even after a kill, keeps everything it acknowledged.
func StartPersistent(t testing.TB) *Server { return start(t, t.TempDir()) }

func start(t testing.TB, dir string) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("SOCKETIO_SKIP_REDIS") == "1" {
			t.Skip("redis-server is not on the PATH (SOCKETIO_SKIP_REDIS=1)")
		}
		t.Fatal("redis-server is not on the PATH (install Debian's redis-server, or set SOCKETIO_SKIP_REDIS=1)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	s := &Server{t: t, port: port, dir: dir}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Addr is the server's address.
func (s *Server) Addr() string { return "127.0.0.1:" + s.port }

// Start starts the server again (empty unless persistent) and waits until
// it answers.
func (s *Server) Start() {
	s.t.Helper()
	args := []string{"--port", s.port, "--bind", "127.0.0.1", "--save", "", "--loglevel", "warning"}
	if s.dir != "" {
		args = append(args, "--dir", s.dir, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	cmd := exec.Command("redis-server", args...)
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", s.Addr())
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on %s did not start: %v", s.Addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server, as a crash would.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd != nil {
		s.thaw(cmd)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
}
