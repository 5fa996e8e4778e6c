package client_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/msgpackparser"
)

// The tests run each scenario against two servers ("peers") that behave the
// same way: this module's server, in-process, and the Node reference server
// (npm socket.io, client/nodeserver/server.mjs, whose header lists the
// behaviour). Both listen on 127.0.0.1 only.

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait bounds every wait of the tests.
const wait = 10 * time.Second

// nodeVersion is the socket.io version the Node server is pinned to.
const nodeVersion = "4.8.4"

type peerOptions struct {
	recovery     bool
	pingInterval time.Duration
	pingTimeout  time.Duration
	deflate      bool // WebSocket compression on
	msgpack      bool // the MessagePack parser (npm socket.io-msgpack-parser for Node)
	eio3         bool // Socket.IO 2.x clients allowed (allowEIO3)
}

// peer is a running test server.
type peer struct {
	name    string
	addr    string // 127.0.0.1:port, kept across restarts
	restart func()
	stop    func() // stops the server, keeping the address for start
	start   func()
}

func (p *peer) url(nsp string) string { return "http://" + p.addr + nsp }

// forEachPeer runs fn as a subtest against the Go server and the Node
// server.
func forEachPeer(t *testing.T, po peerOptions, fn func(t *testing.T, p *peer)) {
	t.Run("go", func(t *testing.T) { fn(t, goPeer(t, po)) })
	t.Run("node", func(t *testing.T) { fn(t, nodePeer(t, po)) })
}

// --- the Go server ---

func goPeer(t *testing.T, po peerOptions) *peer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{name: "go", addr: ln.Addr().String()}
	var mu sync.Mutex
	var srv *socketio.Server
	var hs *http.Server
	serve := func(ln net.Listener) {
		s := newGoServer(po)
		h := &http.Server{Handler: s, ReadHeaderTimeout: wait}
		mu.Lock()
		srv, hs = s, h
		mu.Unlock()
		go func() { _ = h.Serve(ln) }()
	}
	p.stop = func() {
		mu.Lock()
		s, h := srv, hs
		srv, hs = nil, nil
		mu.Unlock()
		if s == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = s.Shutdown(ctx)
		_ = h.Close()
	}
	p.start = func() {
		var ln net.Listener
		var err error
		for i := 0; i < 100; i++ {
			if ln, err = net.Listen("tcp", p.addr); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			t.Errorf("listen again on %s: %v", p.addr, err)
			return
		}
		serve(ln)
	}
	p.restart = func() { p.stop(); p.start() }
	serve(ln)
	t.Cleanup(p.stop)
	return p
}

func newGoServer(po peerOptions) *socketio.Server {
	opts := &socketio.Options{
		Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
		DisableServeClient: true,
		Engine:             engineio.Options{PingInterval: po.pingInterval, PingTimeout: po.pingTimeout},
	}
	if po.recovery {
		opts.ConnectionStateRecovery = &socketio.RecoveryOptions{MaxDisconnectionDuration: time.Minute}
	}
	if po.deflate {
		opts.Engine.PerMessageDeflate = &engineio.DeflateOptions{}
	}
	if po.msgpack {
		opts.Parser = msgpackparser.New()
	}
	opts.Engine.AllowEIO3 = po.eio3
	srv := socketio.NewServer(opts)
	setup := func(n *socketio.Namespace) {
		var mu sync.Mutex
		seen := map[float64]int{}
		n.OnConnection(func(s *socketio.Socket) {
			// Node's key order, for the wire comparisons.
			_ = s.Emit("welcome", struct {
				ID        string         `json:"id"`
				Nsp       string         `json:"nsp"`
				Recovered bool           `json:"recovered"`
				Auth      map[string]any `json:"auth"`
			}{s.ID(), n.Name(), s.Recovered(), s.Handshake().Auth})
			s.On("echo", func(args socketio.Args, ack func(...any)) {
				vals, _ := args.Values()
				ack(vals...)
			})
			s.On("emit-back", func(args socketio.Args) {
				var ev string
				_ = args.DecodeAt(0, &ev)
				vals, _ := args.Values()
				_ = s.Emit(ev, vals[1:]...)
			})
			s.On("ask", func(ev string, payload any, ack func(any)) {
				_ = s.Timeout(2*time.Second).Emit(ev, payload, func(err error, answer any) {
					if err != nil {
						ack(map[string]string{"error": err.Error()})
						return
					}
					ack(answer)
				})
			})
			s.On("drop-first", func(n float64, ack func(int)) {
				mu.Lock()
				seen[n]++
				c := seen[n]
				mu.Unlock()
				if c > 1 {
					ack(c)
				}
			})
			s.On("seen", func(n float64, ack func(int)) {
				mu.Lock()
				defer mu.Unlock()
				ack(seen[n])
			})
			s.On("disconnect-me", func() { s.Disconnect(false) })
			s.On("drop-me", func(engineID, ev string, data any) {
				id := s.ID()
				if c := srv.Engine().Conn(engineID); c != nil {
					c.Close()
				}
				if ev != "" {
					time.AfterFunc(50*time.Millisecond, func() { _ = n.To(id).Emit(ev, data) })
				}
			})
		})
	}
	setup(srv.Sockets())
	setup(srv.Of("/room"))
	admin := srv.Of("/admin")
	admin.Use(func(s *socketio.Socket) error {
		if s.Handshake().Auth["token"] == "secret" {
			return nil
		}
		return socketio.NewConnectError("not authorized", map[string]int{"code": 401})
	})
	setup(admin)
	return srv
}

// --- the Node server ---

// nodeMissing says why the Node server cannot run, or "".
func nodeMissing() string {
	if _, err := exec.LookPath("node"); err != nil {
		return "node is not on the PATH"
	}
	raw, err := os.ReadFile(filepath.Join("nodeserver", "node_modules", "socket.io", "package.json"))
	if err != nil {
		return "client/nodeserver/node_modules/socket.io is missing"
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(raw, &pkg) != nil || pkg.Version != nodeVersion {
		return fmt.Sprintf("client/nodeserver/node_modules/socket.io is version %q, want %s", pkg.Version, nodeVersion)
	}
	return ""
}

func nodePeer(t *testing.T, po peerOptions) *peer {
	t.Helper()
	if msg := nodeMissing(); msg != "" {
		if os.Getenv("SOCKETIO_SKIP_NODE") == "1" {
			t.Skip(msg + " (SOCKETIO_SKIP_NODE=1)")
		}
		t.Fatalf("%s: install the pinned server with  npm ci --prefix client/nodeserver  (or set SOCKETIO_SKIP_NODE=1 to skip the Node tests)", msg)
	}
	p := &peer{name: "node"}
	var mu sync.Mutex
	var cmd *exec.Cmd
	var logs strings.Builder
	launch := func(port string) error {
		c := exec.Command("node", "server.mjs")
		c.Dir = "nodeserver"
		c.Env = append(os.Environ(), "PORT="+port)
		if po.recovery {
			c.Env = append(c.Env, "RECOVERY=1")
		}
		if po.deflate {
			c.Env = append(c.Env, "DEFLATE=1")
		}
		if po.msgpack {
			c.Env = append(c.Env, "PARSER=msgpack")
		}
		if po.eio3 {
			c.Env = append(c.Env, "ALLOW_EIO3=1")
		}
		if po.pingInterval > 0 {
			c.Env = append(c.Env, "PING_INTERVAL="+strconv.FormatInt(po.pingInterval.Milliseconds(), 10))
		}
		if po.pingTimeout > 0 {
			c.Env = append(c.Env, "PING_TIMEOUT="+strconv.FormatInt(po.pingTimeout.Milliseconds(), 10))
		}
		out, err := c.StdoutPipe()
		if err != nil {
			return err
		}
		c.Stderr = &lockedWriter{mu: &mu, w: &logs}
		if err := c.Start(); err != nil {
			return err
		}
		lines := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(out)
			first := true
			for sc.Scan() {
				if first {
					lines <- sc.Text()
					first = false
				}
			}
			close(lines)
		}()
		select {
		case line, ok := <-lines:
			port, found := strings.CutPrefix(line, "listening ")
			if !ok || !found {
				_ = c.Process.Kill()
				_ = c.Wait()
				mu.Lock()
				defer mu.Unlock()
				return fmt.Errorf("node server did not start: %q\n%s", line, logs.String())
			}
			p.addr = "127.0.0.1:" + port
		case <-time.After(wait):
			_ = c.Process.Kill()
			_ = c.Wait()
			return errors.New("node server did not start in time")
		}
		mu.Lock()
		cmd = c
		mu.Unlock()
		return nil
	}
	p.stop = func() {
		mu.Lock()
		c := cmd
		cmd = nil
		mu.Unlock()
		if c != nil {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
	p.start = func() {
		_, port, _ := net.SplitHostPort(p.addr)
		var err error
		for i := 0; i < 50; i++ {
			if err = launch(port); err == nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Errorf("restart node server: %v", err)
	}
	p.restart = func() { p.stop(); p.start() }
	if err := launch("0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			mu.Lock()
			t.Logf("node server stderr:\n%s", logs.String())
			mu.Unlock()
		}
	})
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(b)
}
