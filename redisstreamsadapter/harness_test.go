package redisstreamsadapter_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"go.uber.org/goleak"

	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/internal/clustertest"
	"github.com/socketio-go/socketio/internal/redistest"
	"github.com/socketio-go/socketio/redisstreamsadapter"
)

// The tests run Go servers in-process and Node servers (npm socket.io
// 4.8.4 on @socket.io/redis-streams-adapter 0.3.1, pinned in
// redisadapter/nodecluster) as child processes, on a real Redis
// (127.0.0.1:6379 or SOCKETIO_REDIS_ADDR; a redis-server of their own for
// restarts). Each test uses a stream and channel prefix of its own.

func TestMain(m *testing.M) {
	redis.SetLogger(nopLogger{})
	goleak.VerifyTestMain(m)
}

type nopLogger struct{}

func (nopLogger) Printf(context.Context, string, ...any) {}

const wait = 5 * time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func redisAddr() string                   { return redistest.Addr() }
func needRedis(t testing.TB, addr string) { redistest.Need(t, addr) }
func testKey() string                     { return redistest.Key("sio-streams-test-") }

// member is a server of the cluster under test, Go or Node.
type member interface {
	name() string
	url() string
	emit(t *testing.T, rooms, except []string, event string, args ...any)
	kill(t *testing.T) // graceful: sessions are kept for recovery
}

// --- Go ---

type goServer struct {
	*clustertest.Server
	rdb *redis.Client
}

type serverConfig struct {
	key    string
	addr   string // Redis
	logger *slog.Logger
}

func newGoServer(t *testing.T, id string, c serverConfig) *goServer {
	t.Helper()
	addr := c.addr
	if addr == "" {
		addr = redisAddr()
	}
	needRedis(t, addr)
	logger := c.logger
	if logger == nil {
		logger = quiet
	}
	rdb := newClient(t, addr)
	factory := redisstreamsadapter.New(rdb, &redisstreamsadapter.Options{
		StreamName: c.key, ChannelPrefix: c.key, Logger: logger, BlockTime: time.Second,
	})
	return &goServer{Server: clustertest.StartServer(t, id, factory, true), rdb: rdb}
}

func (g *goServer) name() string { return g.Name }
func (g *goServer) url() string  { return g.URL() }

func (g *goServer) emit(t *testing.T, rooms, except []string, event string, args ...any) {
	t.Helper()
	if err := g.Srv.To(rooms...).Except(except...).Emit(event, args...); err != nil {
		t.Fatalf("%s: emit: %v", g.Name, err)
	}
}

func (g *goServer) kill(*testing.T) { g.Stop() }

func (g *goServer) adapter() *redisstreamsadapter.Adapter {
	return g.Srv.Of("/").Adapter().(*redisstreamsadapter.Adapter)
}

// newClient is a client of the servers under test, closed at the end of
// the test. It does not try maintenance notifications: go-redis 9.23
// switches them off on first use against Redis 7.0 by writing to options
// its other connections read (a data race when the reader's own connection
// and the subscriber's are made at the same time).
func newClient(t *testing.T, addr string) *redis.Client {
	rdb := redis.NewClient(&redis.Options{
		Addr: addr, MaxRetries: -1, DialTimeout: time.Second,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// --- Node ---

func nodeDir() string { return filepath.Join("..", "redisadapter", "nodecluster") }

func needNode(t testing.TB) {
	t.Helper()
	msg := ""
	if _, err := exec.LookPath("node"); err != nil {
		msg = "node is not on the PATH"
	} else if raw, err := os.ReadFile(filepath.Join(nodeDir(), "node_modules", "@socket.io", "redis-streams-adapter", "package.json")); err != nil {
		msg = "redisadapter/nodecluster/node_modules/@socket.io/redis-streams-adapter is missing"
	} else {
		var v struct{ Version string }
		if json.Unmarshal(raw, &v) != nil || v.Version != "0.3.1" {
			msg = fmt.Sprintf("@socket.io/redis-streams-adapter is %q, want 0.3.1", v.Version)
		}
	}
	if msg != "" {
		if os.Getenv("SOCKETIO_SKIP_NODE") == "1" {
			t.Skip(msg + " (SOCKETIO_SKIP_NODE=1)")
		}
		t.Fatalf("%s: install it with  make deps-test  (or set SOCKETIO_SKIP_NODE=1)", msg)
	}
}

// nodeServer is redisadapter/nodecluster/server.mjs in MODE=streams,
// driven through its control namespace "/ctl".
type nodeServer struct {
	*clustertest.Process
	id  string
	ctl *client.Socket
}

func newNodeServer(t *testing.T, id string, c serverConfig) *nodeServer {
	t.Helper()
	needNode(t)
	addr := c.addr
	if addr == "" {
		addr = redisAddr()
	}
	needRedis(t, addr)
	cmd := exec.Command("node", "server.mjs")
	cmd.Dir = nodeDir()
	cmd.Env = append(os.Environ(), "PORT=0", "REDIS_URL=redis://"+addr, "KEY="+c.key, "MODE=streams", "NAME="+id)
	n := &nodeServer{Process: clustertest.StartProcess(t, "node server "+id, cmd), id: id}
	t.Cleanup(func() {
		if n.ctl != nil {
			n.ctl.Manager().Close()
		}
	})
	n.ctl = dialPlain(t, n.URL()+"/ctl")
	return n
}

func (n *nodeServer) name() string { return n.id }
func (n *nodeServer) url() string  { return n.URL() }

func (n *nodeServer) call(t *testing.T, cmd map[string]any) any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	defer cancel()
	args, err := n.ctl.EmitWithAck(ctx, "ctl", cmd)
	if err != nil {
		t.Fatalf("%s: ctl %v: %v", n.id, cmd["op"], err)
	}
	var res struct {
		Ok    any    `json:"ok"`
		Error string `json:"error"`
	}
	if err := args.Decode(&res); err != nil {
		t.Fatal(err)
	}
	if res.Error != "" {
		t.Fatalf("%s: ctl %v: %s", n.id, cmd["op"], res.Error)
	}
	return res.Ok
}

func (n *nodeServer) emit(t *testing.T, rooms, except []string, event string, args ...any) {
	t.Helper()
	n.call(t, map[string]any{"op": "emit", "nsp": "/", "rooms": rooms, "except": except, "event": event, "args": args})
}

// kill stops the server with SIGTERM: io.close() keeps the sessions, as a
// graceful shutdown of a Go server does.
func (n *nodeServer) kill(t *testing.T) {
	if n.ctl != nil {
		n.ctl.Manager().Close()
		n.ctl = nil
	}
	n.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { n.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * wait):
		t.Errorf("%s did not exit after SIGTERM", n.id)
	}
}

type lockedBuffer = clustertest.Logs

// --- clients ---

func dialPlain(t *testing.T, rawURL string) *client.Socket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	s, err := client.Connect(ctx, rawURL, &client.Options{ForceNew: true, Transports: []string{"websocket"}, DisableReconnection: true, Logger: quiet})
	if err != nil {
		t.Fatalf("connect to %s: %v", rawURL, err)
	}
	return s
}
