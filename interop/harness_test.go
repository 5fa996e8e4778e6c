package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/engineio"
)

// nodeTimeout bounds one Node run; each JS test has its own, shorter,
// timeout.
const nodeTimeout = 60 * time.Second

// env is one scenario group: a Socket.IO server on 127.0.0.1, the control
// endpoint the Node scripts talk to, and what the server observed.
type env struct {
	t     *testing.T
	opts  *socketio.Options
	setup func(e *env, srv *socketio.Server)
	rec   *recorder
	logs  *syncBuffer

	mu   sync.Mutex
	srv  *socketio.Server // guarded by mu; the current server
	hs   *http.Server     // guarded by mu
	addr string           // fixed for the life of the env (restarts reuse it)
	gen  int              // guarded by mu; 1 for the first server, +1 per restart

	ctl      *httptest.Server
	actionMu sync.Mutex
	actions  map[string]func(q url.Values) (any, error) // guarded by actionMu
}

// newEnv starts a server with opts (copied; Logger and DisableServeClient
// are set here) whose handlers setup registers. setup runs again for the
// new server of each restart.
func newEnv(t *testing.T, opts *socketio.Options, setup func(e *env, srv *socketio.Server)) *env {
	t.Helper()
	e := &env{
		t:       t,
		opts:    opts,
		setup:   setup,
		rec:     newRecorder(),
		logs:    &syncBuffer{},
		actions: make(map[string]func(url.Values) (any, error)),
	}
	e.defaultActions()
	e.ctl = httptest.NewServer(http.HandlerFunc(e.serveCtl))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	e.start(ln)
	t.Cleanup(e.close)
	return e
}

func (e *env) newServer() *socketio.Server {
	var o socketio.Options
	if e.opts != nil {
		o = *e.opts
	}
	level := slog.LevelWarn
	if os.Getenv("SOCKETIO_INTEROP_DEBUG") == "1" {
		level = slog.LevelDebug
	}
	o.Logger = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: level}))
	o.DisableServeClient = true
	srv := socketio.NewServer(&o)
	if e.setup != nil {
		e.setup(e, srv)
	}
	return srv
}

// start serves a new server on ln.
func (e *env) start(ln net.Listener) {
	srv := e.newServer()
	hs := &http.Server{Handler: http.HandlerFunc(e.serveIO), ReadHeaderTimeout: 10 * time.Second}
	e.mu.Lock()
	e.srv, e.hs = srv, hs
	e.gen++
	e.mu.Unlock()
	go func() { _ = hs.Serve(ln) }()
}

// restart stops the server (Socket.IO server and HTTP server) and starts a
// new one on the same address, as a redeployed server would be.
func (e *env) restart() error {
	e.mu.Lock()
	srv, hs := e.srv, e.hs
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	_ = hs.Close()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", e.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("listen again on %s: %w", e.addr, err)
	}
	e.start(ln)
	return nil
}

func (e *env) close() {
	e.mu.Lock()
	srv, hs := e.srv, e.hs
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		e.t.Errorf("server shutdown: %v", err)
	}
	_ = hs.Close()
	e.ctl.Close()
	if e.t.Failed() && e.logs.Len() > 0 {
		e.t.Logf("server log:\n%s", e.logs.String())
	}
}

// server returns the current Socket.IO server.
func (e *env) server() *socketio.Server {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.srv
}

func (e *env) generation() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.gen
}

// url is the Socket.IO server's base URL.
func (e *env) url() string { return "http://" + e.addr }

// serveIO serves the Socket.IO path. It counts Engine.IO handshakes by the
// client's "tag" query parameter (key "handshake:<tag>"), and delays the
// WebSocket request of an upgrade by the client's "upgradeDelay" query
// parameter (milliseconds), as a slow network would, so that traffic can be
// sent during the upgrade.
func (e *env) serveIO(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/socket.io/") {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	if q.Get("sid") == "" && r.Method == http.MethodGet {
		if tag := q.Get("tag"); tag != "" {
			e.rec.add("handshake:"+tag, q.Get("transport"))
		}
	}
	if ms, _ := strconv.Atoi(q.Get("upgradeDelay")); ms > 0 && q.Get("sid") != "" && q.Get("transport") == "websocket" {
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	e.server().ServeHTTP(w, r)
}

// track records a socket's connection, errors and disconnect reason:
// "connect:<namespace>" and, when the client's auth has a tag,
// "connect:tag:<tag>" get the socket id; "disconnect:<id>" gets the
// reason; "error:<id>" the errors.
func (e *env) track(s *socketio.Socket) {
	e.rec.add("connect:"+s.Namespace().Name(), s.ID())
	if tag, _ := s.Handshake().Auth["tag"].(string); tag != "" {
		e.rec.add("connect:tag:"+tag, s.ID())
	}
	s.OnDisconnect(func(r socketio.DisconnectReason, _ error) { e.rec.add("disconnect:"+s.ID(), string(r)) })
	s.OnError(func(err error) { e.rec.add("error:"+s.ID(), err.Error()) })
}

// action registers a control action the scripts call with ctlDo(name).
func (e *env) action(name string, fn func(q url.Values) (any, error)) {
	e.actionMu.Lock()
	e.actions[name] = fn
	e.actionMu.Unlock()
}

func (e *env) defaultActions() {
	// abort?sid=<engine id>: the server drops the Engine.IO connection at
	// once, as a broken network would.
	e.action("abort", func(q url.Values) (any, error) {
		c := e.server().Engine().Conn(q.Get("sid"))
		if c == nil {
			return nil, fmt.Errorf("no engine connection %q", q.Get("sid"))
		}
		c.Abort(engineio.ReasonTransportClose, nil)
		return true, nil
	})
	// engine?sid=<engine id>: whether that connection is open, and how many
	// are.
	e.action("engine", func(q url.Values) (any, error) {
		eng := e.server().Engine()
		return map[string]any{"open": eng.Conn(q.Get("sid")) != nil, "count": eng.ClientsCount()}, nil
	})
	e.action("restart", func(url.Values) (any, error) {
		if err := e.restart(); err != nil {
			return nil, err
		}
		return e.generation(), nil
	})
}

// serveCtl is the control endpoint:
//
//	GET /get?key=K                  the values recorded under K (a JSON array)
//	GET /wait?key=K&n=N&timeout=MS  the same, once there are N of them (504 after MS)
//	POST /do/NAME?params            runs the action NAME
func (e *env) serveCtl(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	reply := func(v any, err error) {
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, context.DeadlineExceeded) {
				status = http.StatusGatewayTimeout
			}
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		_ = json.NewEncoder(w).Encode(v)
	}
	switch {
	case r.URL.Path == "/get":
		reply(e.rec.get(q.Get("key")), nil)
	case r.URL.Path == "/wait":
		n, _ := strconv.Atoi(q.Get("n"))
		ms, _ := strconv.Atoi(q.Get("timeout"))
		if n <= 0 {
			n = 1
		}
		if ms <= 0 {
			ms = 5000
		}
		ctx, cancel := context.WithTimeout(r.Context(), time.Duration(ms)*time.Millisecond)
		defer cancel()
		vals, err := e.rec.wait(ctx, q.Get("key"), n)
		if err != nil {
			err = fmt.Errorf("waited %dms for %d value(s) of %q, got %v: %w", ms, n, q.Get("key"), vals, err)
		}
		reply(vals, err)
	case strings.HasPrefix(r.URL.Path, "/do/"):
		e.actionMu.Lock()
		fn := e.actions[strings.TrimPrefix(r.URL.Path, "/do/")]
		e.actionMu.Unlock()
		if fn == nil {
			reply(nil, fmt.Errorf("no action %q", r.URL.Path))
			return
		}
		reply(fn(q))
	default:
		http.NotFound(w, r)
	}
}

// run runs js/<script> with node's test runner and fails the test if it
// fails. It returns Node's output.
func (e *env) run(script string) string {
	e.t.Helper()
	return runNode(e.t, script, "SERVER_URL="+e.url(), "CTL_URL="+e.ctl.URL)
}

func runNode(t *testing.T, script string, env ...string) string {
	t.Helper()
	if skipNode != "" {
		t.Skip(skipNode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "--test-reporter=spec", filepath.Join("js", script))
	cmd.Env = append(os.Environ(), env...)
	cmd.Env = append(cmd.Env, "NO_COLOR=1", "FORCE_COLOR=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	setProcessGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start).Round(time.Millisecond)
	if ctx.Err() != nil {
		t.Fatalf("node %s: killed after %v (timeout):\n%s", script, elapsed, out.String())
	}
	if err != nil {
		t.Fatalf("node %s failed (%v) after %v:\n%s", script, err, elapsed, out.String())
	}
	if testing.Verbose() {
		t.Logf("node %s passed in %v:\n%s", script, elapsed, out.String())
	}
	return out.String()
}

// recorder keeps what the server observed, by key, and lets the control
// endpoint wait for it.
type recorder struct {
	mu      sync.Mutex
	vals    map[string][]any // guarded by mu
	changed chan struct{}    // guarded by mu; closed and replaced on each add
}

func newRecorder() *recorder {
	return &recorder{vals: make(map[string][]any), changed: make(chan struct{})}
}

func (r *recorder) add(key string, v any) {
	r.mu.Lock()
	r.vals[key] = append(r.vals[key], v)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

func (r *recorder) get(key string) []any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]any{}, r.vals[key]...)
}

// wait returns the values under key once there are at least n.
func (r *recorder) wait(ctx context.Context, key string, n int) ([]any, error) {
	for {
		r.mu.Lock()
		vals := append([]any{}, r.vals[key]...)
		ch := r.changed
		r.mu.Unlock()
		if len(vals) >= n {
			return vals, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return vals, ctx.Err()
		}
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use, for server logs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}
