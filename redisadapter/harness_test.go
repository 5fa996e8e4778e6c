package redisadapter_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"go.uber.org/goleak"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/internal/clustertest"
	"github.com/socketio-go/socketio/internal/redistest"
	"github.com/socketio-go/socketio/redisadapter"
)

// The tests run real servers against a real Redis on 127.0.0.1 (6379, or
// SOCKETIO_REDIS_ADDR): Go servers in-process, and the Node server of
// nodecluster/ (npm socket.io + @socket.io/redis-adapter, pinned) as a
// child process. Each test uses a key (channel prefix) of its own, so
// tests and other users of the same Redis never hear each other. They fail
// when Redis or the Node fixture is missing, unless SOCKETIO_SKIP_REDIS=1
// or SOCKETIO_SKIP_NODE=1.

func TestMain(m *testing.M) {
	redis.SetLogger(nopLogger{}) // go-redis logs each failed dial during outages
	// go-redis 9.23's ClusterClient starts a maintenance-notifications
	// circuit breaker per node whose cleanup goroutine its Close does not
	// stop, even with the notifications disabled.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/redis/go-redis/v9/maintnotifications.(*CircuitBreakerManager).cleanupLoop"))
}

type nopLogger struct{}

func (nopLogger) Printf(context.Context, string, ...any) {}

// wait bounds every wait of the tests.
const wait = 5 * time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func redisAddr() string { return redistest.Addr() }

// newRedis returns a client of the test Redis, closed at the end of the
// test.
func newRedis(t testing.TB) *redis.Client {
	t.Helper()
	redistest.Need(t, redisAddr())
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr()})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// testKey returns a channel prefix no other test uses.
func testKey() string { return redistest.Key("sio-test-") }

// --- servers ---

// sel selects sockets for an operation.
type sel struct {
	nsp      string
	rooms    []string
	except   []string
	local    bool
	volatile bool
}

func (s sel) namespace() string {
	if s.nsp == "" {
		return "/"
	}
	return s.nsp
}

// sock is a socket as FetchSockets describes it.
type sock struct {
	ID    string
	Rooms []string
	Data  any
	// DataJSON is the data as its fetcher has it: the json.RawMessage a Go
	// server got (its type and JSON otherwise), Node's JSON.stringify.
	DataJSON  string
	Query     map[string][]string
	Address   string
	HasHeader bool // the handshake has an upgrade header
}

// server is a member of the cluster under test, Go or Node, driven the same
// way.
type server interface {
	name() string
	url() string
	emit(t *testing.T, s sel, event string, args ...any)
	emitWithAck(t *testing.T, s sel, timeout time.Duration, event string, args ...any) ([]any, string)
	fetchSockets(t *testing.T, s sel) []sock
	remoteEmit(t *testing.T, nsp, id, event string, args ...any)
	remoteEmitWithAck(t *testing.T, nsp, id, event string, args ...any) any
	remoteJoin(t *testing.T, nsp, id, room string)
	remoteLeave(t *testing.T, nsp, id, room string)
	remoteDisconnect(t *testing.T, nsp, id string)
	socketsJoin(t *testing.T, s sel, rooms ...string)
	socketsLeave(t *testing.T, s sel, rooms ...string)
	disconnectSockets(t *testing.T, s sel, close bool)
	serverSideEmit(t *testing.T, nsp, event string, args ...any)
	serverSideEmitWithAck(t *testing.T, nsp, event string, args ...any) ([]any, error)
	allRooms(t *testing.T, nsp string) []string
	serverCount(t *testing.T, nsp string) int
	notes(t *testing.T, nsp string) [][]any
	socketRooms(t *testing.T, nsp, id string) []string
}

// goServer is an in-process Go server on the Redis adapter.
type goServer struct {
	id   string
	srv  *socketio.Server
	addr string

	mu    sync.Mutex
	noted map[string][][]any // guarded by mu
}

// userData is socket data of a Go type: its fields are not in alphabetical
// order, so a trip through a map would show.
type userData struct {
	User   string  `json:"user"`
	Level  int     `json:"level"`
	Big    int64   `json:"big"`
	F      float64 `json:"f"`
	Nested struct {
		Z int `json:"z"`
		A int `json:"a"`
	} `json:"nested"`
}

type clusterOptions struct {
	sharded bool
	mode    redisadapter.SubscriptionMode
	key     string
	timeout time.Duration
	addr    string   // Redis; default redisAddr()
	cluster []string // a Redis Cluster's masters, instead of addr
	logger  *slog.Logger
	outbox  adapter.OutboxOptions
}

func newGoServer(t testing.TB, id string, o clusterOptions) *goServer {
	t.Helper()
	addr := o.addr
	if addr == "" {
		addr = redisAddr()
	}
	var rdb redis.UniversalClient = redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	if o.cluster != nil {
		rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: o.cluster, MaxRetries: -1, DialTimeout: time.Second,
			MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}})
	}
	logger := o.logger
	if logger == nil {
		logger = quiet
	}
	ao := &redisadapter.Options{Key: o.key, RequestsTimeout: o.timeout, SubscriptionMode: o.mode, Logger: logger, Outbox: o.outbox}
	factory := redisadapter.New(rdb, ao)
	if o.sharded {
		factory = redisadapter.NewSharded(rdb, ao)
	}
	srv := socketio.NewServer(&socketio.Options{
		Adapter:            factory,
		Logger:             logger,
		DisableServeClient: true,
		Engine:             engineio.Options{Transports: []string{"websocket"}},
	})
	g := &goServer{id: id, srv: srv, noted: make(map[string][][]any)}
	for _, name := range []string{"/", "/ns2"} {
		n := srv.Of(name)
		n.OnConnection(func(s *socketio.Socket) {
			s.On("join", func(room string, ack func([]string)) {
				s.Join(room)
				rooms := s.Rooms()
				slices.Sort(rooms)
				ack(rooms)
			})
			s.On("set-data", func(data any, ack func(bool)) {
				s.SetData(data)
				ack(true)
			})
			s.On("set-struct", func(data userData, ack func(bool)) {
				s.SetData(data)
				ack(true)
			})
		})
		n.On("ping-servers", func(payload any, ack func(any)) {
			ack(map[string]any{"server": id, "nsp": name, "data": payload})
		})
		n.On("note", func(args socketio.Args) {
			vals, _ := args.Values()
			g.mu.Lock()
			g.noted[name] = append(g.noted[name], vals)
			g.mu.Unlock()
		})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.addr = ln.Addr().String()
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: wait}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = hs.Close()
		_ = rdb.Close()
	})
	return g
}

func (g *goServer) name() string { return g.id }
func (g *goServer) url() string  { return "http://" + g.addr }

func (g *goServer) op(s sel) *socketio.BroadcastOperator {
	op := g.srv.Of(s.namespace()).To(s.rooms...).Except(s.except...)
	if s.local {
		op = op.Local()
	}
	if s.volatile {
		op = op.Volatile()
	}
	return op
}

func (g *goServer) emit(t *testing.T, s sel, event string, args ...any) {
	t.Helper()
	if err := g.op(s).Emit(event, args...); err != nil {
		t.Fatalf("%s: emit: %v", g.id, err)
	}
}

func (g *goServer) emitWithAck(t *testing.T, s sel, timeout time.Duration, event string, args ...any) ([]any, string) {
	t.Helper()
	resps, err := g.op(s).Timeout(timeout).EmitWithAck(context.Background(), event, args...)
	out := make([]any, 0, len(resps))
	for _, r := range resps {
		vals, _ := r.Values()
		if len(vals) > 0 {
			out = append(out, vals[0])
		} else {
			out = append(out, nil)
		}
	}
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	return out, msg
}

func (g *goServer) fetchSockets(t *testing.T, s sel) []sock {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	rs, err := g.op(s).FetchSockets(ctx)
	if err != nil {
		t.Fatalf("%s: fetchSockets: %v", g.id, err)
	}
	out := make([]sock, 0, len(rs))
	for _, r := range rs {
		so := sock{ID: r.ID, Rooms: slices.Sorted(slices.Values(r.Rooms)), Data: normalize(r.Data)}
		if raw, ok := r.Data.(json.RawMessage); ok {
			so.DataJSON = string(raw)
		} else {
			js, _ := json.Marshal(r.Data)
			so.DataJSON = fmt.Sprintf("(%T) %s", r.Data, js)
		}
		if h := r.Handshake; h != nil {
			so.Query = h.Query
			so.Address = h.Address
			so.HasHeader = h.Headers.Get("Upgrade") != ""
		}
		out = append(out, so)
	}
	return out
}

func (g *goServer) remote(t *testing.T, nsp, id string) *socketio.RemoteSocket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	rs, err := g.srv.Of(nsp).To(id).FetchSockets(ctx)
	if err != nil {
		t.Fatalf("%s: fetchSockets: %v", g.id, err)
	}
	for _, r := range rs {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("%s: socket %s not found", g.id, id)
	return nil
}

func (g *goServer) remoteEmit(t *testing.T, nsp, id, event string, args ...any) {
	t.Helper()
	if err := g.remote(t, nsp, id).Emit(event, args...); err != nil {
		t.Fatal(err)
	}
}

func (g *goServer) remoteEmitWithAck(t *testing.T, nsp, id, event string, args ...any) any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	r, err := g.remote(t, nsp, id).EmitWithAck(ctx, event, args...)
	if err != nil {
		t.Fatalf("%s: remote emitWithAck: %v", g.id, err)
	}
	vals, _ := r.Values()
	if len(vals) == 0 {
		return nil
	}
	return normalize(vals[0])
}

func (g *goServer) remoteJoin(t *testing.T, nsp, id, room string) {
	t.Helper()
	if err := g.remote(t, nsp, id).Join(room); err != nil {
		t.Fatal(err)
	}
}

func (g *goServer) remoteLeave(t *testing.T, nsp, id, room string) {
	t.Helper()
	if err := g.remote(t, nsp, id).Leave(room); err != nil {
		t.Fatal(err)
	}
}

func (g *goServer) remoteDisconnect(t *testing.T, nsp, id string) {
	t.Helper()
	if err := g.remote(t, nsp, id).Disconnect(false); err != nil {
		t.Fatal(err)
	}
}

func (g *goServer) socketsJoin(t *testing.T, s sel, rooms ...string) {
	t.Helper()
	if err := g.op(s).SocketsJoin(rooms...); err != nil {
		t.Fatal(err)
	}
}

func (g *goServer) socketsLeave(t *testing.T, s sel, rooms ...string) {
	t.Helper()
	if err := g.op(s).SocketsLeave(rooms...); err != nil {
		t.Fatal(err)
	}
}

func (g *goServer) disconnectSockets(t *testing.T, s sel, close bool) {
	t.Helper()
	if err := g.op(s).DisconnectSockets(close); err != nil {
		t.Fatal(err)
	}
}

func (g *goServer) serverSideEmit(t *testing.T, nsp, event string, args ...any) {
	t.Helper()
	if err := g.srv.Of(nsp).ServerSideEmit(event, args...); err != nil {
		t.Fatal(err)
	}
}

func (g *goServer) serverSideEmitWithAck(t *testing.T, nsp, event string, args ...any) ([]any, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	resps, err := g.srv.Of(nsp).ServerSideEmitWithAck(ctx, event, args...)
	var out []any
	for _, r := range resps {
		vals, _ := r.Values()
		if len(vals) > 0 {
			out = append(out, normalize(vals[0]))
		}
	}
	return out, err
}

func (g *goServer) adapter(nsp string) *redisadapter.Adapter {
	return g.srv.Of(nsp).Adapter().(*redisadapter.Adapter)
}

func (g *goServer) allRooms(t *testing.T, nsp string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	rooms, err := g.adapter(nsp).AllRooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return rooms
}

func (g *goServer) serverCount(t *testing.T, nsp string) int {
	t.Helper()
	n, err := g.adapter(nsp).ServerCount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (g *goServer) notes(t *testing.T, nsp string) [][]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([][]any, len(g.noted[nsp]))
	for i, n := range g.noted[nsp] {
		out[i] = normalize(n).([]any)
	}
	return out
}

func (g *goServer) socketRooms(t *testing.T, nsp, id string) []string {
	s := g.srv.Of(nsp).Socket(id)
	if s == nil {
		return nil
	}
	return slices.Sorted(slices.Values(s.Rooms()))
}

// --- the Node server ---

const (
	nodeSocketIO       = "4.8.4"
	nodeAdapter        = "8.3.0"
	nodeEmitterVersion = "5.1.0"
)

// nodeDir is the Node fixture folder, found from this package's folder.
func nodeDir() string { return "nodecluster" }

// nodeMissing says why the Node peers cannot run, or "".
func nodeMissing() string {
	if _, err := exec.LookPath("node"); err != nil {
		return "node is not on the PATH"
	}
	for pkg, want := range map[string]string{"socket.io": nodeSocketIO, "@socket.io/redis-adapter": nodeAdapter, "@socket.io/redis-emitter": nodeEmitterVersion} {
		raw, err := os.ReadFile(filepath.Join(nodeDir(), "node_modules", pkg, "package.json"))
		if err != nil {
			return "redisadapter/nodecluster/node_modules/" + pkg + " is missing"
		}
		var v struct{ Version string }
		if json.Unmarshal(raw, &v) != nil || v.Version != want {
			return fmt.Sprintf("redisadapter/nodecluster/node_modules/%s is version %q, want %s", pkg, v.Version, want)
		}
	}
	return ""
}

func needNode(t testing.TB) {
	t.Helper()
	if msg := nodeMissing(); msg != "" {
		if os.Getenv("SOCKETIO_SKIP_NODE") == "1" {
			t.Skip(msg + " (SOCKETIO_SKIP_NODE=1)")
		}
		t.Fatalf("%s: install it with  npm ci --prefix redisadapter/nodecluster  (or set SOCKETIO_SKIP_NODE=1)", msg)
	}
}

// nodeServer is the Node server of nodecluster/server.mjs, driven through
// a control socket on its namespace "/ctl".
type nodeServer struct {
	id   string
	addr string
	ctl  *client.Socket
}

func newNodeServer(t *testing.T, id string, o clusterOptions) *nodeServer {
	t.Helper()
	needNode(t)
	addr := o.addr
	if addr == "" {
		addr = redisAddr()
	}
	mode := "classic"
	if o.sharded {
		mode = "sharded"
	}
	cmd := exec.Command("node", "server.mjs")
	cmd.Dir = nodeDir()
	cmd.Env = append(os.Environ(), "PORT=0", "REDIS_URL=redis://"+addr, "KEY="+o.key, "MODE="+mode, "NAME="+id)
	if o.cluster != nil {
		cmd.Env = append(cmd.Env, "REDIS_CLUSTER="+strings.Join(o.cluster, ","))
	}
	proc := clustertest.StartProcess(t, "node server "+id, cmd)
	n := &nodeServer{id: id, addr: proc.Addr}
	t.Cleanup(func() {
		if n.ctl != nil {
			n.ctl.Manager().Close()
		}
	})
	n.ctl = dialSocket(t, n.url()+"/ctl", nil)
	return n
}

// lockedBuffer collects logs.
type lockedBuffer = clustertest.Logs

func (n *nodeServer) name() string { return n.id }
func (n *nodeServer) url() string  { return "http://" + n.addr }

// call runs a command on the Node server and returns its result.
func (n *nodeServer) call(t *testing.T, cmd map[string]any) (any, error) {
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
		return nil, errors.New(res.Error)
	}
	vals, _ := args.Values()
	if m, ok := vals[0].(map[string]any); ok {
		return normalize(m["ok"]), nil
	}
	return nil, nil
}

func (n *nodeServer) must(t *testing.T, cmd map[string]any) any {
	t.Helper()
	v, err := n.call(t, cmd)
	if err != nil {
		t.Fatalf("%s: %v: %v", n.id, cmd["op"], err)
	}
	return v
}

func selCmd(op string, s sel) map[string]any {
	cmd := map[string]any{"op": op, "nsp": s.namespace()}
	if len(s.rooms) > 0 {
		cmd["rooms"] = s.rooms
	}
	if len(s.except) > 0 {
		cmd["except"] = s.except
	}
	if s.local {
		cmd["local"] = true
	}
	if s.volatile {
		cmd["volatile"] = true
	}
	return cmd
}

func (n *nodeServer) emit(t *testing.T, s sel, event string, args ...any) {
	t.Helper()
	cmd := selCmd("emit", s)
	cmd["event"], cmd["args"] = event, args
	n.must(t, cmd)
}

func (n *nodeServer) emitWithAck(t *testing.T, s sel, timeout time.Duration, event string, args ...any) ([]any, string) {
	t.Helper()
	cmd := selCmd("emitWithAck", s)
	cmd["event"], cmd["args"], cmd["timeout"] = event, args, timeout.Milliseconds()
	res, _ := n.must(t, cmd).(map[string]any)
	msg, _ := res["error"].(string)
	resps, _ := res["responses"].([]any)
	return resps, msg
}

func (n *nodeServer) fetchSockets(t *testing.T, s sel) []sock {
	t.Helper()
	list, _ := n.must(t, selCmd("fetchSockets", s)).([]any)
	var out []sock
	for _, e := range list {
		m := e.(map[string]any)
		so := sock{ID: m["id"].(string), Data: m["data"]}
		so.DataJSON, _ = m["dataJSON"].(string)
		for _, r := range m["rooms"].([]any) {
			so.Rooms = append(so.Rooms, r.(string))
		}
		slices.Sort(so.Rooms)
		if h, ok := m["handshake"].(map[string]any); ok {
			so.Address, _ = h["address"].(string)
			so.Query = map[string][]string{}
			if q, ok := h["query"].(map[string]any); ok {
				for k, v := range q {
					if s, ok := v.(string); ok {
						so.Query[k] = []string{s}
					}
				}
			}
			if hd, ok := h["headers"].(map[string]any); ok {
				_, so.HasHeader = hd["upgrade"]
			}
		}
		out = append(out, so)
	}
	return out
}

func (n *nodeServer) remoteEmit(t *testing.T, nsp, id, event string, args ...any) {
	t.Helper()
	n.must(t, map[string]any{"op": "remoteEmit", "nsp": nsp, "id": id, "event": event, "args": args})
}

func (n *nodeServer) remoteEmitWithAck(t *testing.T, nsp, id, event string, args ...any) any {
	t.Helper()
	return n.must(t, map[string]any{"op": "remoteEmitWithAck", "nsp": nsp, "id": id, "event": event, "args": args, "timeout": 3000})
}

func (n *nodeServer) remoteJoin(t *testing.T, nsp, id, room string) {
	t.Helper()
	n.must(t, map[string]any{"op": "remoteJoin", "nsp": nsp, "id": id, "join": room})
}

func (n *nodeServer) remoteLeave(t *testing.T, nsp, id, room string) {
	t.Helper()
	n.must(t, map[string]any{"op": "remoteLeave", "nsp": nsp, "id": id, "leave": room})
}

func (n *nodeServer) remoteDisconnect(t *testing.T, nsp, id string) {
	t.Helper()
	n.must(t, map[string]any{"op": "remoteDisconnect", "nsp": nsp, "id": id})
}

func (n *nodeServer) socketsJoin(t *testing.T, s sel, rooms ...string) {
	t.Helper()
	cmd := selCmd("socketsJoin", s)
	cmd["join"] = rooms
	n.must(t, cmd)
}

func (n *nodeServer) socketsLeave(t *testing.T, s sel, rooms ...string) {
	t.Helper()
	cmd := selCmd("socketsLeave", s)
	cmd["leave"] = rooms
	n.must(t, cmd)
}

func (n *nodeServer) disconnectSockets(t *testing.T, s sel, close bool) {
	t.Helper()
	cmd := selCmd("disconnectSockets", s)
	cmd["close"] = close
	n.must(t, cmd)
}

func (n *nodeServer) serverSideEmit(t *testing.T, nsp, event string, args ...any) {
	t.Helper()
	n.must(t, map[string]any{"op": "serverSideEmit", "nsp": nsp, "event": event, "args": args})
}

func (n *nodeServer) serverSideEmitWithAck(t *testing.T, nsp, event string, args ...any) ([]any, error) {
	t.Helper()
	v, err := n.call(t, map[string]any{"op": "serverSideEmitWithAck", "nsp": nsp, "event": event, "args": args})
	list, _ := v.([]any)
	return list, err
}

func (n *nodeServer) allRooms(t *testing.T, nsp string) []string {
	t.Helper()
	var out []string
	for _, r := range n.must(t, map[string]any{"op": "allRooms", "nsp": nsp}).([]any) {
		out = append(out, r.(string))
	}
	return out
}

func (n *nodeServer) serverCount(t *testing.T, nsp string) int {
	t.Helper()
	return int(n.must(t, map[string]any{"op": "serverCount", "nsp": nsp}).(float64))
}

func (n *nodeServer) notes(t *testing.T, nsp string) [][]any {
	t.Helper()
	var out [][]any
	for _, e := range n.must(t, map[string]any{"op": "notes", "nsp": nsp}).([]any) {
		out = append(out, e.([]any))
	}
	return out
}

func (n *nodeServer) socketRooms(t *testing.T, nsp, id string) []string {
	t.Helper()
	var out []string
	for _, r := range n.must(t, map[string]any{"op": "socketRooms", "nsp": nsp, "id": id}).([]any) {
		out = append(out, r.(string))
	}
	return out
}

// --- clients ---

// event is an event a test client received.
type event struct {
	name string
	args []any
}

// tclient is a Go client socket that records the events it receives and
// answers "ask" with {from: its name, q}.
type tclient struct {
	name string
	s    *client.Socket

	mu     sync.Mutex
	events []event // guarded by mu
	kick   chan struct{}
}

func dialSocket(t testing.TB, rawURL string, query url.Values) *client.Socket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	s, err := client.Connect(ctx, rawURL, &client.Options{
		ForceNew:            true,
		Transports:          []string{"websocket"},
		DisableReconnection: true,
		Query:               query,
		Logger:              quiet,
	})
	if err != nil {
		t.Fatalf("connect to %s: %v", rawURL, err)
	}
	return s
}

// dial connects a recording client to a server's namespace.
func dial(t *testing.T, srv server, nsp, name string) *tclient {
	t.Helper()
	c := &tclient{name: name, kick: make(chan struct{}, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	s, err := client.NewSocket(srv.url()+nsp, &client.Options{
		ForceNew:            true,
		Transports:          []string{"websocket"},
		DisableReconnection: true,
		Query:               url.Values{"client": {name}},
		Logger:              quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.OnAny(func(ev string, args client.Args) {
		vals, _ := args.Values()
		c.mu.Lock()
		c.events = append(c.events, event{ev, normalize(vals).([]any)})
		c.mu.Unlock()
		select {
		case c.kick <- struct{}{}:
		default:
		}
	})
	s.On("ask", func(q any, ack func(any)) { ack(map[string]any{"from": name, "q": q}) })
	s.OnDisconnect(func(client.DisconnectReason, error) {
		c.mu.Lock()
		c.events = append(c.events, event{name: "(disconnect)"})
		c.mu.Unlock()
		select {
		case c.kick <- struct{}{}:
		default:
		}
	})
	s.Connect()
	if err := s.WaitConnect(ctx); err != nil {
		t.Fatalf("%s: connect to %s: %v", name, srv.url()+nsp, err)
	}
	c.s = s
	t.Cleanup(func() { s.Manager().Close() })
	return c
}

func (c *tclient) id() string { return c.s.ID() }

// waitFor waits for an event named ev and returns its arguments; events
// before it are kept.
func (c *tclient) waitFor(t *testing.T, ev string) []any {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		for i, e := range c.events {
			if e.name == ev {
				c.events = slices.Delete(c.events, i, i+1)
				c.mu.Unlock()
				return e.args
			}
		}
		c.mu.Unlock()
		select {
		case <-c.kick:
		case <-deadline.C:
			t.Fatalf("%s: no %q event in %v (got %v)", c.name, ev, wait, c.names())
		}
	}
}

// take removes and returns the names of the events received so far.
func (c *tclient) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := make([]string, len(c.events))
	for i, e := range c.events {
		names[i] = e.name
	}
	c.events = nil
	return names
}

func (c *tclient) names() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := make([]string, len(c.events))
	for i, e := range c.events {
		names[i] = e.name
	}
	return names
}

func (c *tclient) emitAck(t *testing.T, ev string, args ...any) client.Args {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	a, err := c.s.EmitWithAck(ctx, ev, args...)
	if err != nil {
		t.Fatalf("%s: %s: %v", c.name, ev, err)
	}
	return a
}

// --- helpers ---

// normalize makes values comparable: numbers as float64, []byte kept,
// maps and slices recursively.
func normalize(v any) any { return clustertest.Normalize(v) }

func same(a, b any) bool { return reflect.DeepEqual(normalize(a), normalize(b)) }

// eventually polls cond until it holds or wait passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %v", what, wait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
