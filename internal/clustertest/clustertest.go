// Package clustertest is the cross-server conformance suite that every
// cluster adapter runs: one table of operations between in-process Go
// servers sharing a broker (broadcasts with rooms, except and local,
// acknowledgements from every server, FetchSockets with data,
// SocketsJoin/SocketsLeave, DisconnectSockets, server-side events with and
// without acknowledgements, the server count, connection state recovery
// across servers, a broker restart). An adapter's test plugs in with a few
// lines:
//
//	func TestConformance(t *testing.T) {
//		clustertest.Run(t, clustertest.Config{
//			NewAdapter: func(t *testing.T) func(adapter.Namespace) adapter.Adapter {
//				rdb := redis.NewClient(&redis.Options{Addr: addr})
//				t.Cleanup(func() { rdb.Close() })
//				return redisadapter.New(rdb, &redisadapter.Options{Key: key})
//			},
//		})
//	}
//
// Each call of NewAdapter makes the factory of one more server of the same
// cluster (same broker, same key).
package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/engineio"
)

// Wait bounds every wait of the suite.
const Wait = 10 * time.Second

// Config describes the adapter under test.
type Config struct {
	// NewAdapter returns the adapter factory of one more server of the
	// cluster.
	NewAdapter func(t *testing.T) func(adapter.Namespace) adapter.Adapter
	// Recovery: the adapter keeps sessions across servers; the servers run
	// with connection state recovery and the recovery case runs.
	Recovery bool
	// Restart, when set, stops the broker and starts it again; the broker
	// restart case runs then.
	Restart func(t *testing.T)
	// LossyRestart: the broker may lose messages it acknowledged when
	// Restart kills it (pub/sub: a message taken for delivery and not yet
	// written to the subscribers dies with it, and no publisher can know to
	// send it again). A short run of the broadcasts sent just before the
	// restart may then be missing; every other one must arrive, in order.
	LossyRestart bool
	// Settle, when set, waits until servers servers listen to room's
	// messages (adapters that subscribe per room).
	Settle func(t *testing.T, room string, servers int)
}

// Run runs the suite: two servers, two clients on each.
func Run(t *testing.T, cfg Config) {
	a := StartServer(t, "a", cfg.NewAdapter(t), cfg.Recovery)
	b := StartServer(t, "b", cfg.NewAdapter(t), cfg.Recovery)
	a1, a2 := Dial(t, a.URL(), "a1", false), Dial(t, a.URL(), "a2", false)
	b1, b2 := Dial(t, b.URL(), "b1", false), Dial(t, b.URL(), "b2", false)
	all := []*Client{a1, a2, b1, b2}
	Eventually(t, "2 servers", func() bool { return a.ServerCount() == 2 && b.ServerCount() == 2 })
	a1.Join(t, "r")
	b1.Join(t, "r")
	if cfg.Settle != nil {
		cfg.Settle(t, "r", 2)
	}
	marks := 0
	// expect checks that exactly want got ev with args (when not nil):
	// a marker broadcast from a after it reaches every client after ev.
	expect := func(t *testing.T, ev string, args []any, want ...*Client) {
		t.Helper()
		for _, c := range want {
			got := c.WaitFor(t, ev)
			if _, isOffset := last(got).(string); cfg.Recovery && len(got) == len(args)+1 && isOffset {
				got = got[:len(args)] // the offset connection state recovery adds
			}
			if args != nil && !reflect.DeepEqual(got, args) {
				t.Errorf("%s got %s%v, want %v", c.Name, ev, got, args)
			}
		}
		marks++
		mark := fmt.Sprintf("mark-%d", marks)
		if err := a.Srv.Emit(mark); err != nil {
			t.Fatal(err)
		}
		for _, c := range all {
			c.WaitFor(t, mark)
			if slices.Contains(c.Names(), ev) {
				t.Errorf("%s got %s, which was not for it", c.Name, ev)
			}
			c.Take()
		}
	}
	bctx := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), Wait)
		t.Cleanup(cancel)
		return ctx
	}

	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"broadcast", func(t *testing.T) {
			args := []any{1.0, "two", map[string]any{"three": 3.0}, nil, true, []byte{0, 1, 0xff}}
			mustOK(t, a.Srv.Emit("all", args...))
			expect(t, "all", args, all...)
			mustOK(t, b.Srv.Emit("from-b", "x"))
			expect(t, "from-b", []any{"x"}, all...)
		}},
		{"room", func(t *testing.T) {
			mustOK(t, a.Srv.To("r").Emit("room", 1))
			expect(t, "room", []any{1.0}, a1, b1)
		}},
		{"rooms and except", func(t *testing.T) {
			mustOK(t, a.Srv.To("r", b2.ID()).Except(b1.ID()).Emit("multi", 2))
			expect(t, "multi", []any{2.0}, a1, b2)
			mustOK(t, a.Srv.Except("r").Emit("except", 3))
			expect(t, "except", []any{3.0}, a2, b2)
		}},
		{"local", func(t *testing.T) {
			mustOK(t, a.Srv.Local().Emit("local", 4))
			expect(t, "local", []any{4.0}, a1, a2)
		}},
		{"acks from all servers", func(t *testing.T) {
			resps, err := a.Srv.Timeout(Wait/2).EmitWithAck(bctx(), "ask", 7)
			if err != nil || len(resps) != 4 {
				t.Fatalf("EmitWithAck: %d answers, %v", len(resps), err)
			}
			var from []string
			for _, r := range resps {
				var v struct{ From string }
				if err := r.DecodeAt(0, &v); err != nil {
					t.Fatal(err)
				}
				from = append(from, v.From)
			}
			slices.Sort(from)
			if !slices.Equal(from, []string{"a1", "a2", "b1", "b2"}) {
				t.Errorf("answers from %v", from)
			}
		}},
		{"fetchSockets with data", func(t *testing.T) {
			b1.Call(t, "set-data", map[string]any{"user": "b1", "level": 7})
			socks, err := a.Srv.FetchSockets(bctx())
			if err != nil || len(socks) != 4 {
				t.Fatalf("FetchSockets: %d sockets, %v", len(socks), err)
			}
			socks, err = a.Srv.In("r").FetchSockets(bctx())
			if err != nil || len(socks) != 2 {
				t.Fatalf("FetchSockets in r: %d sockets, %v", len(socks), err)
			}
			for _, s := range socks {
				if s.ID != b1.ID() {
					continue
				}
				var d struct {
					User  string
					Level int
				}
				if err := s.DecodeData(&d); err != nil || d.User != "b1" || d.Level != 7 || !slices.Contains(s.Rooms, "r") {
					t.Errorf("b1 fetched: %+v, rooms %v, %v", d, s.Rooms, err)
				}
				if s.Handshake == nil || s.Handshake.Address == "" {
					t.Errorf("b1's handshake: %+v", s.Handshake)
				}
				return
			}
			t.Errorf("b1 not fetched")
		}},
		{"socketsJoin and socketsLeave", func(t *testing.T) {
			mustOK(t, a.Srv.In(b2.ID()).SocketsJoin("joined"))
			Eventually(t, "b2 joined", func() bool { return slices.Contains(b.Rooms(b2.ID()), "joined") })
			if cfg.Settle != nil {
				cfg.Settle(t, "joined", 1)
			}
			mustOK(t, a.Srv.To("joined").Emit("in-joined"))
			expect(t, "in-joined", nil, b2)
			mustOK(t, a.Srv.In("joined").SocketsLeave("joined"))
			Eventually(t, "b2 left", func() bool { return !slices.Contains(b.Rooms(b2.ID()), "joined") })
		}},
		{"serverSideEmit", func(t *testing.T) {
			mustOK(t, a.Srv.ServerSideEmit("note", 1, "x"))
			Eventually(t, "b noted", func() bool { return len(b.Notes()) == 1 })
			if got := b.Notes()[0]; !reflect.DeepEqual(got, []any{1.0, "x"}) {
				t.Errorf("b noted %v", got)
			}
			if n := a.Notes(); len(n) != 0 {
				t.Errorf("a noted its own event: %v", n)
			}
		}},
		{"serverSideEmit with acks", func(t *testing.T) {
			resps, err := a.Srv.ServerSideEmitWithAck(bctx(), "ping-servers", 1)
			if err != nil || len(resps) != 1 {
				t.Fatalf("ServerSideEmitWithAck: %d answers, %v", len(resps), err)
			}
			var v struct{ Server string }
			if err := resps[0].DecodeAt(0, &v); err != nil || v.Server != "b" {
				t.Errorf("answer %v, %v", v, err)
			}
		}},
		{"server count", func(t *testing.T) {
			if n := a.ServerCount(); n != 2 {
				t.Errorf("server count %d", n)
			}
		}},
		{"disconnectSockets", func(t *testing.T) {
			mustOK(t, a.Srv.In(b2.ID()).DisconnectSockets(false))
			Eventually(t, "b2 disconnected", func() bool { return !b2.S.Connected() })
			if !a1.S.Connected() || !b1.S.Connected() {
				t.Error("others disconnected")
			}
		}},
	}
	if cfg.Restart != nil {
		cases = append(cases, struct {
			name string
			run  func(t *testing.T)
		}{"broker restart", func(t *testing.T) { brokerRestart(t, cfg, a, b1) }})
	}
	if cfg.Recovery {
		cases = append(cases, struct {
			name string
			run  func(t *testing.T)
		}{"recovery across servers", func(t *testing.T) { recovery(t, cfg) }})
	}
	for _, c := range cases {
		t.Run(c.name, c.run)
	}
}

// brokerRestart restarts the broker during a stream of broadcasts from a:
// b's client must get every one, in order.
func brokerRestart(t *testing.T, cfg Config, a *Server, b1 *Client) {
	b1.Take()
	n := 0
	emit := func(k int) {
		for range k {
			mustOK(t, a.Srv.Emit("tick", n))
			n++
			time.Sleep(2 * time.Millisecond)
		}
	}
	emit(20)
	before := n
	cfg.Restart(t)
	emit(20)
	Eventually(t, "the last tick", func() bool { return slices.Contains(b1.Numbers("tick"), n-1) })
	got := b1.Numbers("tick")
	next := 0
	var lost []int
	for i, v := range got {
		if v < next {
			t.Fatalf("tick %d is %d: out of order or repeated (%v)", i, v, got)
		}
		for ; next < v; next++ {
			lost = append(lost, next)
		}
		next++
	}
	if len(lost) == 0 {
		return
	}
	if !cfg.LossyRestart || len(lost) > 5 || lost[len(lost)-1] >= before || lost[len(lost)-1]-lost[0] != len(lost)-1 {
		t.Fatalf("ticks %v lost (%d sent before the restart): %v", lost, before, got)
	}
	t.Logf("ticks %v were lost by the broker, killed as it delivered them", lost)
}

// recovery: a client of server x, which stops, reaches server y and gets
// its session and what y broadcast meanwhile.
func recovery(t *testing.T, cfg Config) {
	x := StartServer(t, "x", cfg.NewAdapter(t), true)
	y := StartServer(t, "y", cfg.NewAdapter(t), true)
	lb := NewProxy(t, x.Addr)
	c := Dial(t, lb.URL(), "c", true)
	c.WaitFor(t, "(connect)")
	c.Join(t, "r1")
	Eventually(t, "x and y", func() bool { return x.ServerCount() >= 2 })
	Eventually(t, "the client hears y", func() bool {
		_ = y.Srv.Emit("pre")
		time.Sleep(20 * time.Millisecond)
		return slices.Contains(c.Names(), "pre")
	})
	id := c.ID()
	lb.Route("")
	x.Stop()
	Eventually(t, "the client lost x", func() bool { return !c.S.Connected() })
	c.Take()
	mustOK(t, y.Srv.Emit("missed", 1))
	mustOK(t, y.Srv.To("r1").Emit("missed", 2))
	mustOK(t, y.Srv.To("other").Emit("not-for-c", 3))
	if r, ok := y.Srv.Of("/").Adapter().(adapter.OutboxReporter); ok {
		Eventually(t, "y's messages out", func() bool { return r.OutboxStats().Queued == 0 })
	}
	lb.Route(y.Addr)
	if got := c.WaitFor(t, "(connect)"); got[0] != true {
		t.Fatal("not recovered")
	}
	if c.ID() != id {
		t.Errorf("id %s, was %s", c.ID(), id)
	}
	mustOK(t, y.Srv.To("r1").Emit("after"))
	c.WaitFor(t, "after")
	var missed []int
	for _, e := range c.Take() {
		if e.Name == "not-for-c" {
			t.Error("got not-for-c")
		}
		if e.Name == "missed" {
			missed = append(missed, int(e.Args[0].(float64)))
		}
	}
	if !slices.Equal(missed, []int{1, 2}) {
		t.Errorf("missed %v, want [1 2]", missed)
	}
}

func last(xs []any) any {
	if len(xs) == 0 {
		return nil
	}
	return xs[len(xs)-1]
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// --- servers ---

// Quiet discards logs.
var Quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Server is an in-process Go server of the cluster. Its sockets answer
// "join"(room) with their rooms and "set-data"(v) by storing v; the server
// answers the server-side event "ping-servers" with {server: its name} and
// records "note" events.
type Server struct {
	Name string
	Srv  *socketio.Server
	Addr string
	hs   *http.Server
	once sync.Once

	mu    sync.Mutex
	notes [][]any // guarded by mu
}

// StartServer starts a server on 127.0.0.1, stopped at the end of the test.
func StartServer(t *testing.T, name string, factory func(adapter.Namespace) adapter.Adapter, recovery bool) *Server {
	t.Helper()
	opts := &socketio.Options{
		Adapter:            factory,
		Logger:             Quiet,
		DisableServeClient: true,
		Engine:             engineio.Options{Transports: []string{"websocket"}},
	}
	if recovery {
		opts.ConnectionStateRecovery = &socketio.RecoveryOptions{MaxDisconnectionDuration: time.Minute}
	}
	s := &Server{Name: name, Srv: socketio.NewServer(opts)}
	s.Srv.OnConnection(func(so *socketio.Socket) {
		so.On("join", func(room string, ack func([]string)) {
			so.Join(room)
			ack(so.Rooms())
		})
		so.On("set-data", func(v any, ack func(bool)) {
			so.SetData(v)
			ack(true)
		})
	})
	s.Srv.On("ping-servers", func(v any, ack func(any)) { ack(map[string]any{"server": name, "data": v}) })
	s.Srv.On("note", func(args socketio.Args) {
		vals, _ := args.Values()
		s.mu.Lock()
		s.notes = append(s.notes, normalize(vals).([]any))
		s.mu.Unlock()
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	s.hs = &http.Server{Handler: s.Srv, ReadHeaderTimeout: Wait}
	go func() { _ = s.hs.Serve(ln) }()
	t.Cleanup(s.Stop)
	return s
}

// URL is the server's base URL.
func (s *Server) URL() string { return "http://" + s.Addr }

// Stop shuts the server down gracefully (sessions are kept for recovery).
func (s *Server) Stop() {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Wait)
		defer cancel()
		_ = s.Srv.Shutdown(ctx)
		_ = s.hs.Close()
	})
}

// ServerCount is the main namespace's adapter's count, -1 on error.
func (s *Server) ServerCount() int {
	n, err := s.Srv.Of("/").Adapter().ServerCount(context.Background())
	if err != nil {
		return -1
	}
	return n
}

// Rooms returns the rooms of a local socket.
func (s *Server) Rooms(id string) []string {
	if so := s.Srv.Of("/").Socket(id); so != nil {
		return so.Rooms()
	}
	return nil
}

// Notes returns the "note" events received.
func (s *Server) Notes() [][]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.notes)
}

// --- clients ---

// Event is an event a Client received.
type Event struct {
	Name string
	Args []any
}

// Client is a Go client that records its events ("(connect)" with
// Recovered as argument on each connection) and answers "ask" with
// {from: its name, q}.
type Client struct {
	Name string
	S    *client.Socket

	mu     sync.Mutex
	events []Event // guarded by mu
	kick   chan struct{}
}

// Dial connects a client, which reconnects by itself when reconnect is set.
func Dial(t *testing.T, rawURL, name string, reconnect bool) *Client {
	t.Helper()
	c := &Client{Name: name, kick: make(chan struct{}, 1)}
	s, err := client.NewSocket(rawURL, &client.Options{
		ForceNew:             true,
		Transports:           []string{"websocket"},
		DisableReconnection:  !reconnect,
		ReconnectionDelay:    50 * time.Millisecond,
		ReconnectionDelayMax: 200 * time.Millisecond,
		Logger:               Quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	note := func(ev string, vals []any) {
		c.mu.Lock()
		c.events = append(c.events, Event{ev, vals})
		c.mu.Unlock()
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
	s.OnAny(func(ev string, args client.Args) {
		vals, _ := args.Values()
		note(ev, normalize(vals).([]any))
	})
	s.OnConnect(func() { note("(connect)", []any{s.Recovered()}) })
	s.On("ask", func(q any, ack func(any)) { ack(map[string]any{"from": name, "q": q}) })
	s.Connect()
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	if err := s.WaitConnect(ctx); err != nil {
		t.Fatalf("%s: connect to %s: %v", name, rawURL, err)
	}
	c.S = s
	t.Cleanup(func() { s.Manager().Close() })
	return c
}

// ID is the socket's id.
func (c *Client) ID() string { return c.S.ID() }

// WaitFor waits for an event named ev, removes it and returns its
// arguments.
func (c *Client) WaitFor(t *testing.T, ev string) []any {
	t.Helper()
	deadline := time.NewTimer(Wait)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		for i, e := range c.events {
			if e.Name == ev {
				c.events = slices.Delete(c.events, i, i+1)
				c.mu.Unlock()
				return e.Args
			}
		}
		c.mu.Unlock()
		select {
		case <-c.kick:
		case <-deadline.C:
			t.Fatalf("%s: no %q event in %v (got %v)", c.Name, ev, Wait, c.Names())
		}
	}
}

// Names returns the names of the events recorded.
func (c *Client) Names() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.events))
	for i, e := range c.events {
		out[i] = e.Name
	}
	return out
}

// Take removes and returns the events recorded.
func (c *Client) Take() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.events
	c.events = nil
	return out
}

// Numbers returns the first argument of the events named ev, in order.
func (c *Client) Numbers(ev string) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for _, e := range c.events {
		if e.Name == ev && len(e.Args) > 0 {
			if f, ok := e.Args[0].(float64); ok {
				out = append(out, int(f))
			}
		}
	}
	return out
}

// Call emits ev with args and waits for the acknowledgement.
func (c *Client) Call(t *testing.T, ev string, args ...any) client.Args {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	r, err := c.S.EmitWithAck(ctx, ev, args...)
	if err != nil {
		t.Fatalf("%s: %s: %v", c.Name, ev, err)
	}
	return r
}

// Join makes the client's socket join room.
func (c *Client) Join(t *testing.T, room string) { c.Call(t, "join", room) }

// --- a load balancer whose backend can change ---

// Proxy forwards TCP connections to its backend ("" refuses them).
type Proxy struct {
	ln net.Listener
	wg sync.WaitGroup

	mu      sync.Mutex
	backend string     // guarded by mu
	conns   []net.Conn // guarded by mu
}

// NewProxy starts a proxy to backend, closed at the end of the test.
func NewProxy(t *testing.T, backend string) *Proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, backend: backend}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			_ = c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

// URL is the proxy's base URL.
func (p *Proxy) URL() string { return "http://" + p.ln.Addr().String() }

// Route sends new connections to backend.
func (p *Proxy) Route(backend string) {
	p.mu.Lock()
	p.backend = backend
	p.mu.Unlock()
}

// Cut closes the connections made so far (new ones follow Route).
func (p *Proxy) Cut() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// Addr is the proxy's address.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		backend := p.backend
		p.mu.Unlock()
		var b net.Conn
		if backend != "" {
			b, err = net.Dial("tcp", backend)
		}
		if backend == "" || err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, b)
		p.mu.Unlock()
		p.wg.Add(2)
		pipe := func(dst, src net.Conn) {
			defer p.wg.Done()
			_, _ = io.Copy(dst, src)
			_ = dst.Close()
			_ = src.Close()
		}
		go pipe(b, c)
		go pipe(c, b)
	}
}

// Eventually polls cond until it holds, for Wait at most.
func Eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %v", what, Wait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Normalize makes received values comparable: numbers as float64, JSON
// text (json.RawMessage) decoded, maps and slices recursively.
func Normalize(v any) any { return normalize(v) }

func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case json.Number:
		f, _ := x.Float64()
		return f
	case json.RawMessage:
		var v any
		if json.Unmarshal(x, &v) != nil {
			return x
		}
		return normalize(v)
	}
	return v
}

// CheckSequence checks that got holds 0..total-1 in order, each first
// delivery after the one before: nothing lost or reordered. A message a
// broker took just before it died may come again when the sender, whose
// connection lost the broker's answer, sends it again (at least once);
// such repeats of numbers already seen are counted, not errors.
func CheckSequence(got []int, total int) (repeated int, err error) {
	next := 0
	for i, v := range got {
		switch {
		case v == next:
			next++
		case v < next:
			repeated++
		default:
			return repeated, fmt.Errorf("message %d is %d, %d expected: lost or out of order", i, v, next)
		}
	}
	if next != total {
		return repeated, fmt.Errorf("%d of %d messages", next, total)
	}
	return repeated, nil
}
