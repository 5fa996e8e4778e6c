package client_test

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/client"
)

// echoServer answers "echo" with its arguments (as an acknowledgement, or
// as an "echo" event when none was asked for) and, for "emit-back"
// (event, args...), emits event with args, asking for an acknowledgement
// when the client's emit did; the answer goes back as "acked" (the
// acknowledgement's arguments, or the error).
func echoServer(t *testing.T, record bool) *testServer {
	return newTestServer(t, record, func(s *socketio.Socket) {
		s.On("echo", func(args socketio.Args, ack func(...any)) {
			vals, _ := args.Values()
			if ack != nil {
				ack(vals...)
				return
			}
			_ = s.Emit("echo", vals...)
		})
		s.On("emit-back", func(args socketio.Args, ack func(...any)) {
			vals, _ := args.Values()
			ev, _ := vals[0].(string)
			if ack == nil {
				_ = s.Emit(ev, vals[1:]...)
				return
			}
			ack() // received
			_ = s.Timeout(wait).Emit(ev, append(vals[1:], func(err error, answer socketio.Args) {
				if err != nil {
					_ = s.Emit("acked", "error: "+err.Error())
					return
				}
				v, _ := answer.Values()
				_ = s.Emit("acked", v...)
			})...)
		})
	})
}

// TestArgsType: Args is the client package's own type, with its methods,
// and it is what every handler gets.
func TestArgsType(t *testing.T) {
	typ := reflect.TypeFor[client.Args]()
	if typ.PkgPath() != "github.com/socketio-go/socketio/client" || typ.Name() != "Args" {
		t.Fatalf("client.Args is %s.%s", typ.PkgPath(), typ.Name())
	}
	for _, m := range []string{"Len", "Raw", "Decode", "DecodeAt", "Values", "AckRequested", "String"} {
		if _, ok := typ.MethodByName(m); !ok {
			t.Errorf("client.Args has no method %s", m)
		}
	}

	ts := echoServer(t, false)
	s := newSocket(t, ts.url, testOptions())
	handled := make(chan client.Args, 1)
	s.On("back", func(a client.Args) { handled <- a })
	anyIn := make(chan client.Args, 4)
	s.OnAny(func(ev string, a client.Args) {
		if ev == "back" {
			anyIn <- a
		}
	})
	anyOut := make(chan client.Args, 4)
	s.OnAnyOutgoing(func(ev string, a client.Args) {
		if ev == "emit-back" {
			anyOut <- a
		}
	})
	connect(t, s)
	if err := s.Emit("emit-back", "back", 1, "two"); err != nil {
		t.Fatal(err)
	}
	for what, ch := range map[string]chan client.Args{"handler": handled, "OnAny": anyIn} {
		if a := recv(t, ch, what); a.String() != `[1,"two"]` {
			t.Fatalf("%s got %s", what, a)
		}
	}
	if a := recv(t, anyOut, "OnAnyOutgoing"); a.String() != `["back",1,"two"]` {
		t.Fatalf("OnAnyOutgoing got %s", a)
	}
	var got client.Args
	got, err := s.EmitWithAck(ctxT(t), "echo", "x", nil)
	if err != nil || got.String() != `["x",null]` {
		t.Fatalf("EmitWithAck: %s, %v", got, err)
	}
	acked := make(chan client.Args, 1)
	if err := s.Emit("echo", true, func(a client.Args) { acked <- a }); err != nil {
		t.Fatal(err)
	}
	if a := recv(t, acked, "ack callback"); a.String() != `[true]` || a.AckRequested() {
		t.Fatalf("ack callback got %s (ack requested %v)", a, a.AckRequested())
	}
}

// TestAckRequested: a handler knows whether the server asked for an
// acknowledgement (a nil callback, the flag on Args, the last value of a
// ...any handler), and one event is answered once whatever the number of
// its handlers.
func TestAckRequested(t *testing.T) {
	ts := echoServer(t, true)
	s := newSocket(t, ts.url, testOptions("polling"))
	type seen struct {
		shape string
		asked bool
	}
	seenCh := make(chan seen, 8)
	s.On("typed", func(v string, ack func(string)) {
		seenCh <- seen{"typed", ack != nil}
		if ack != nil {
			ack("typed:" + v)
		}
	})
	s.On("raw", func(a client.Args, ack func(...any)) {
		if a.AckRequested() != (ack != nil) {
			t.Errorf("raw: flag %v, callback %v", a.AckRequested(), ack != nil)
		}
		seenCh <- seen{"raw", ack != nil}
		if ack != nil {
			var v string
			_ = a.Decode(&v)
			ack("raw:" + v)
		}
	})
	s.On("variadic", func(vals ...any) {
		ack, ok := vals[len(vals)-1].(func(...any))
		seenCh <- seen{"variadic", ok}
		if ok {
			ack("variadic:" + vals[0].(string))
		}
	})
	anyFlags := make(chan bool, 8)
	s.OnAny(func(ev string, a client.Args) {
		if ev != "acked" {
			anyFlags <- a.AckRequested()
		}
	})
	answers := make(chan string, 4)
	s.On("acked", func(answer string) { answers <- answer })
	connect(t, s)
	ctx := ctxT(t)
	for _, shape := range []string{"typed", "raw", "variadic"} {
		if err := s.Emit("emit-back", shape, "x"); err != nil {
			t.Fatal(err)
		}
		if got := recv(t, seenCh, shape); got != (seen{shape, false}) {
			t.Fatalf("without an acknowledgement asked for: %+v", got)
		}
		if recv(t, anyFlags, "OnAny") {
			t.Fatalf("%s: OnAny's Args say an acknowledgement was asked for", shape)
		}
		if _, err := s.EmitWithAck(ctx, "emit-back", shape, "y"); err != nil {
			t.Fatal(err)
		}
		if got := recv(t, seenCh, shape); got != (seen{shape, true}) {
			t.Fatalf("with an acknowledgement asked for: %+v", got)
		}
		if !recv(t, anyFlags, "OnAny") {
			t.Fatalf("%s: OnAny's Args say no acknowledgement was asked for", shape)
		}
		if got := recv(t, answers, shape+" answer"); got != shape+":y" {
			t.Fatalf("answer %q", got)
		}
	}

	// Two handlers answer the same event: one acknowledgement leaves.
	acks := len(ts.posted("43"))
	s.On("twice", func(ack func(string)) { ack("first") })
	s.On("twice", func(ack func(string)) { ack("second") })
	if _, err := s.EmitWithAck(ctx, "emit-back", "twice"); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, answers, "twice answer"); got != "first" {
		t.Fatalf("answer %q", got)
	}
	// Whatever the client wrote before this round trip has reached the
	// server when its answer comes back.
	if _, err := s.EmitWithAck(ctx, "echo"); err != nil {
		t.Fatal(err)
	}
	if got := ts.posted("43")[acks:]; len(got) != 1 {
		t.Fatalf("acknowledgements sent for one event: %q", got)
	}
}

// TestOnPanics: a handler of an impossible shape is refused at
// registration, with a message naming the method, the event and the type.
func TestOnPanics(t *testing.T) {
	s, err := client.NewSocket("http://127.0.0.1:1", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ev      string
		handler any
		want    string
	}{
		{"ev", func(string) string { return "" }, `client: Socket.On("ev", func(string) string): a handler returns nothing or an error`},
		{"ev", nil, `client: Socket.On("ev", <nil>): a handler must be a function`},
		{"ev", "text", `client: Socket.On("ev", string): a handler must be a function`},
		{"ev", func(chan int) {}, `client: Socket.On("ev", func(chan int)): parameter 0 has type chan int`},
		{"ev", func(func(), int) {}, `client: Socket.On("ev", func(func(), int)): parameter 0`},
		{"ev", func(ack func() int) {}, `client: Socket.On("ev", func(func() int)): the acknowledgement parameter`},
		{"connect", func() int { return 0 }, `client: Socket.On("connect", func() int): a handler returns nothing or an error`},
		{"disconnect", 42, `client: Socket.On("disconnect", int): a handler must be a function`},
		{"connect_error", func() {}, `client: Socket.On("connect_error", func()): a connect_error handler is a func(error)`},
	} {
		got := func() (msg string) {
			defer func() { msg, _ = recover().(string) }()
			s.On(tc.ev, tc.handler)
			return "no panic"
		}()
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("On(%q, %T):\n got %s\nwant %s...", tc.ev, tc.handler, got, tc.want)
		}
	}
}

// TestInvalidArguments: arguments that do not fit a handler are reported
// (a warning naming the namespace and event, and OnError), the handler is
// not called and no acknowledgement leaves; other handler errors are
// logged as errors when there is no OnError handler.
func TestInvalidArguments(t *testing.T) {
	ts := echoServer(t, true)
	logs := &logRecorder{}
	o := testOptions("polling")
	o.Logger = slog.New(logs)
	s := newSocket(t, ts.url, o)
	errs := make(chan error, 4)
	s.OnError(func(err error) { errs <- err })
	called := make(chan int, 4)
	s.On("typed", func(n int, ack func(int)) {
		called <- n
		if ack != nil {
			ack(n)
		}
	})
	sentinel := make(chan struct{}, 4)
	s.On("sentinel", func() { sentinel <- struct{}{} })
	connect(t, s)
	ctx := ctxT(t)

	check := func(ev string) {
		t.Helper()
		err := recv(t, errs, "OnError")
		if !errors.Is(err, client.ErrInvalidArguments) || !strings.Contains(err.Error(), fmt.Sprintf("%q", ev)) {
			t.Fatalf("OnError got %v", err)
		}
		found := false
		for _, a := range logs.find(slog.LevelWarn, "arguments do not fit") {
			found = found || a["namespace"] == "/" && a["event"] == ev && a["err"] == err.Error()
		}
		if !found {
			t.Fatalf("no warning for %q: %v", ev, logs.find(slog.LevelWarn, ""))
		}
	}
	if err := s.Emit("emit-back", "typed", "not a number"); err != nil {
		t.Fatal(err)
	}
	check("typed")
	acks := len(ts.posted("43"))
	if _, err := s.EmitWithAck(ctx, "emit-back", "typed", "still not a number"); err != nil {
		t.Fatal(err)
	}
	check("typed")
	// Handlers run in order: once the sentinel's has run, so has any
	// before it.
	_ = s.Emit("emit-back", "sentinel")
	recv(t, sentinel, "sentinel")
	if _, err := s.EmitWithAck(ctx, "echo"); err != nil {
		t.Fatal(err)
	}
	if len(called) > 0 {
		t.Fatalf("handler called with %d", <-called)
	}
	if got := ts.posted("43")[acks:]; len(got) > 0 {
		t.Fatalf("acknowledgement sent: %q", got)
	}
	// An acknowledgement callback whose parameters do not fit.
	if err := s.Emit("echo", "text", func(n int) { called <- n }); err != nil {
		t.Fatal(err)
	}
	check("echo")

	// Without OnError handlers, other errors are logged as errors.
	s2 := newSocket(t, ts.url, o)
	s2.On("fails", func() error { return errors.New("boom") })
	s2.On("sentinel", func() { sentinel <- struct{}{} })
	connect(t, s2)
	_ = s2.Emit("emit-back", "fails")
	_ = s2.Emit("emit-back", "sentinel")
	recv(t, sentinel, "sentinel")
	found := false
	for _, a := range logs.find(slog.LevelError, "handler error") {
		found = found || a["event"] == "fails" && strings.Contains(a["err"], "boom")
	}
	if !found {
		t.Fatalf("handler error not logged: %v", logs.find(slog.LevelError, ""))
	}
}

// TestOnceOff: Once handlers run once; Off, OffAny and OffAnyOutgoing
// remove the given handlers only, compared by identity (two closures of
// one literal are two handlers), or all of them when none is given.
func TestOnceOff(t *testing.T) {
	ts := echoServer(t, false)
	s := newSocket(t, ts.url, testOptions())
	got := make(chan string, 64)
	mk := func(name string) func(string) { return func(v string) { got <- name + ":" + v } }
	h1, c1, c2 := mk("h1"), mk("c1"), mk("c2")
	s.On("ev", h1)
	s.On("ev", c1)
	s.On("ev", c2)
	s.Once("ev", mk("once"))
	gone := mk("gone")
	s.Once("ev", gone)
	s.Off("ev", gone)
	mkAny := func(name string) func(string, client.Args) {
		return func(ev string, a client.Args) {
			if ev == "ev" || ev == "emit-back" && a.Raw(0) != nil && string(a.Raw(0)) == `"ev"` {
				got <- name
			}
		}
	}
	any1, any2, out1, out2 := mkAny("any1"), mkAny("any2"), mkAny("out1"), mkAny("out2")
	s.OnAny(any1)
	s.OnAny(any2)
	s.OnAnyOutgoing(out1)
	s.OnAnyOutgoing(out2)
	onConnect := func() { got <- "connect" }
	s.OnConnect(onConnect)
	s.Once("connect", func() { got <- "connect once" })
	s.On("done", func() { got <- "done" })
	connect(t, s)

	// round emits "ev" v and returns what the handlers saw, up to "done"
	// (handlers run in order).
	round := func(v string) string {
		t.Helper()
		if err := s.Emit("emit-back", "ev", v); err != nil {
			t.Fatal(err)
		}
		if err := s.Emit("emit-back", "done"); err != nil {
			t.Fatal(err)
		}
		var seen []string
		for {
			e := recv(t, got, "events")
			if e == "done" {
				return strings.Join(seen, " ")
			}
			seen = append(seen, e)
		}
	}
	check := func(v, want string) {
		t.Helper()
		if got := round(v); got != want {
			t.Fatalf("round %s:\n got %s\nwant %s", v, got, want)
		}
	}
	check("1", "connect connect once out1 out2 any1 any2 h1:1 c1:1 c2:1 once:1")
	s.Off("ev", c1)
	s.OffAny(any1)
	s.OffAnyOutgoing(out2)
	check("2", "out1 any2 h1:2 c2:2")
	s.Off("ev", mk("never registered"), h1)
	s.OffAnyOutgoing()
	check("3", "any2 c2:3")
	s.On("ev", h1)
	s.On("ev", h1)
	s.Off("ev", h1) // one registration per handler given
	check("4", "any2 c2:4 h1:4")
	s.Off("ev")
	s.OffAny()
	check("5", "")

	// Lifecycle events: OnConnect handlers are "connect" handlers.
	s.Off("connect", onConnect)
	s.On("connect", func() { got <- "connect again" })
	onDisconnect := func(client.DisconnectReason, error) { got <- "OnDisconnect" }
	s.OnDisconnect(onDisconnect)
	s.Off("disconnect", onDisconnect)
	s.Once("disconnect", func(reason string) { got <- "disconnect once: " + reason })
	s.Disconnect()
	connect(t, s)
	check("6", "disconnect once: io client disconnect connect again")
}

// TestRegistrationPanics: the other ways to register (or remove) a handler
// refuse what is not a function.
func TestRegistrationPanics(t *testing.T) {
	s, err := client.NewSocket("http://127.0.0.1:1", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for want, register := range map[string]func(){
		`client: Socket.Once("ev", func() string): a handler returns nothing or an error`:    func() { s.Once("ev", func() string { return "" }) },
		`client: Socket.Off("ev", int): a handler must be a function`:                        func() { s.Off("ev", 1) },
		`client: Socket.OnConnect("connect", func()): a handler must be a function, not nil`: func() { s.OnConnect(nil) },
		`client: Socket.On("connect_error", func(error)): a handler must be a function, not nil`: func() {
			s.On("connect_error", (func(error))(nil))
		},
		`client: Socket.OnAny(func(string, client.Args)): a handler must be a function, not nil`: func() { s.OnAny(nil) },
	} {
		got := func() (msg string) {
			defer func() { msg, _ = recover().(string) }()
			register()
			return "no panic"
		}()
		if !strings.HasPrefix(got, want) {
			t.Errorf("\n got %s\nwant %s...", got, want)
		}
	}
}

// TestAckRequestedPeers: against both servers, an event the server emits
// with an acknowledgement comes with the flag and a callback, one without
// comes with neither.
func TestAckRequestedPeers(t *testing.T) {
	forEachPeer(t, peerOptions{}, func(t *testing.T, p *peer) {
		s := newSocket(t, p.url("/"), testOptions())
		asked := make(chan bool, 2)
		s.On("q", func(a client.Args, ack func(...any)) {
			if a.AckRequested() != (ack != nil) {
				t.Errorf("flag %v, callback %v", a.AckRequested(), ack != nil)
			}
			asked <- a.AckRequested()
			if ack != nil {
				var v string
				_ = a.Decode(&v)
				ack("re:" + v)
			}
		})
		connect(t, s)
		if err := s.Emit("emit-back", "q", "a"); err != nil {
			t.Fatal(err)
		}
		if recv(t, asked, "q without ack") {
			t.Fatal("acknowledgement requested by an emit without one")
		}
		answer, err := s.EmitWithAck(ctxT(t), "ask", "q", "b")
		if err != nil {
			t.Fatal(err)
		}
		if !recv(t, asked, "q with ack") || answer.String() != `["re:b"]` {
			t.Fatalf("answer %s", answer)
		}
	})
}
