// Package natstest has the test helpers of the NATS cluster package: the
// test server's URL, a check that it answers, subject prefixes no other
// test uses, and a nats-server (with JetStream) of a test's own that it can
// stop and start.
package natstest

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// URL is the test NATS: SOCKETIO_NATS_URL, or nats://127.0.0.1:4222.
func URL() string {
	if u := os.Getenv("SOCKETIO_NATS_URL"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

// Need fails the test (skips it with SOCKETIO_SKIP_NATS=1) when no NATS
// answers at url.
func Need(t testing.TB, url string) {
	t.Helper()
	nc, err := nats.Connect(url, nats.Timeout(2*time.Second))
	if err == nil {
		nc.Close()
		return
	}
	if os.Getenv("SOCKETIO_SKIP_NATS") == "1" {
		t.Skipf("no NATS at %s (SOCKETIO_SKIP_NATS=1): %v", url, err)
	}
	t.Fatalf("no NATS at %s: %v (start one: nats-server -js -a 127.0.0.1 -p 4222; or set SOCKETIO_SKIP_NATS=1)", url, err)
}

// Conn connects to url for a test (reconnecting quickly, forever), closed
// at the end of the test.
func Conn(t testing.TB, url string) *nats.Conn {
	t.Helper()
	Need(t, url)
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond), nats.ReconnectJitter(0, 0), nats.Timeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// Key returns prefix followed by random hex: a subject prefix or stream
// name no other test uses.
func Key(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Server is a nats-server of the test's own, with JetStream storing in a
// folder that survives its restarts.
type Server struct {
	t    testing.TB
	port string
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd // guarded by mu; nil while stopped
}

// Start starts a server, stopped at the end of the test.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath("nats-server"); err != nil {
		if os.Getenv("SOCKETIO_SKIP_NATS") == "1" {
			t.Skip("nats-server is not on the PATH (SOCKETIO_SKIP_NATS=1)")
		}
		t.Fatal("nats-server is not on the PATH (install Debian's nats-server, or set SOCKETIO_SKIP_NATS=1)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	s := &Server{t: t, port: port, dir: t.TempDir()}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// URL is the server's URL.
func (s *Server) URL() string { return "nats://127.0.0.1:" + s.port }

// Start starts the server (again, with what JetStream stored) and waits
// until it answers.
func (s *Server) Start() {
	s.t.Helper()
	cmd := exec.Command("nats-server", "-a", "127.0.0.1", "-p", s.port, "-js", "-sd", s.dir)
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		nc, err := nats.Connect(s.URL(), nats.Timeout(time.Second))
		if err == nil {
			nc.Close()
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("nats-server on %s did not start: %v", s.URL(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server, as a crash would (what JetStream wrote is kept).
func (s *Server) Stop() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
}
