package socketio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketio-go/socketio/adapter"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestConnectMainNamespace(t *testing.T) {
	srv := NewServer(testOptions())
	got := make(chan *Socket, 1)
	srv.OnConnection(func(s *Socket) { got <- s })
	base := newTestServer(t, srv)

	c := dialRaw(t, base)
	sid := c.connect("/", `{"token":"abc"}`)
	s := waitFor(t, got)
	if s.ID() != sid || len(sid) != 20 {
		t.Fatalf("socket id %q, CONNECT sid %q", s.ID(), sid)
	}
	if s.ID() == c.sid {
		t.Fatal("socket id must differ from the Engine.IO id")
	}
	if tok := s.Handshake().Auth["token"]; tok != "abc" {
		t.Fatalf("auth token = %v", tok)
	}
	if s.Handshake().Query.Get("EIO") != "4" || s.Handshake().Address == "" || s.Handshake().Issued == 0 {
		t.Fatalf("handshake = %+v", s.Handshake())
	}
	if s.Transport() != "websocket" || !s.Connected() {
		t.Fatalf("transport %q connected %v", s.Transport(), s.Connected())
	}
	if rooms := s.Rooms(); !slices.Equal(rooms, []string{s.ID()}) {
		t.Fatalf("rooms = %v", rooms)
	}
}

func TestInvalidNamespaceAndState(t *testing.T) {
	srv := NewServer(testOptions())
	base := newTestServer(t, srv)
	c := dialRaw(t, base)
	c.send("40/nope,")
	c.expect(`44/nope,{"message":"Invalid namespace"}`)
	// The connection survives a refused namespace.
	c.connect("/", "")
	// An event for a namespace the client is not in closes the connection.
	c.send(`42/nope,["x"]`)
	c.expectClosed()
}

func TestConnectTimeout(t *testing.T) {
	opts := testOptions()
	opts.ConnectTimeout = 100 * time.Millisecond
	srv := NewServer(opts)
	base := newTestServer(t, srv)
	c := dialRaw(t, base)
	c.expectClosed()
}

type chatMessage struct {
	Room string `json:"room"`
	Text string `json:"text"`
	N    int
}

func TestTypedHandlers(t *testing.T) {
	srv := NewServer(testOptions())
	results := make(chan string, 10)
	srv.OnConnection(func(s *Socket) {
		s.On("chat", func(m chatMessage, n int, missing string) {
			results <- m.Room + "/" + m.Text + "/" + string(rune('0'+m.N)) + "/" + string(rune('0'+n)) + "/" + missing
		})
		s.On("raw", func(args Args) { results <- args.String() })
		s.On("variadic", func(first string, rest ...int) {
			sum := 0
			for _, r := range rest {
				sum += r
			}
			results <- first + ":" + string(rune('0'+sum))
		})
		s.On("any", func(v ...any) {
			b, _ := json.Marshal(v)
			results <- string(b)
		})
		s.On("bad", func(n int) { results <- "bad called" })
		s.On("err", func() error { return errors.New("boom") })
		s.On("panic", func() { panic("oops") })
		s.OnError(func(err error) { results <- "error: " + err.Error() })
	})
	base := newTestServer(t, srv)
	c := dialRaw(t, base)
	c.connect("/", "")

	c.send(`42["chat",{"room":"r1","text":"hi","n":3},2]`) // case-insensitive field match, like encoding/json
	if got := waitFor(t, results); got != "r1/hi/3/2/" {
		t.Fatalf("chat: %q", got)
	}
	c.send(`42["raw",1,"two",{"3":[true]}]`)
	if got := waitFor(t, results); got != `[1,"two",{"3":[true]}]` {
		t.Fatalf("raw: %q", got)
	}
	c.send(`42["variadic","x",1,2,3]`)
	if got := waitFor(t, results); got != "x:6" {
		t.Fatalf("variadic: %q", got)
	}
	c.send(`42["any",1,"a",null,{"k":[1]}]`)
	if got := waitFor(t, results); got != `[1,"a",null,{"k":[1]}]` {
		t.Fatalf("any: %q", got)
	}
	c.send(`42["bad","not a number"]`)
	if got := waitFor(t, results); !strings.HasPrefix(got, `error: event "bad": socketio: arguments do not fit the handler: argument 0 ("not a number") does not decode into int`) {
		t.Fatalf("bad: %q", got)
	}
	c.send(`42["err"]`)
	if got := waitFor(t, results); got != `error: event "err": boom` {
		t.Fatalf("err: %q", got)
	}
	c.send(`42["panic"]`)
	if got := waitFor(t, results); !strings.Contains(got, "panicked: oops") {
		t.Fatalf("panic: %q", got)
	}
	// The connection still works.
	c.send(`42["raw"]`)
	if got := waitFor(t, results); got != `[]` {
		t.Fatalf("raw after panic: %q", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestHandlerValidation: a handler of a shape that cannot be called is a
// programmer error, which On reports at once with a panic rather than
// leaving the handler unregistered.
func TestHandlerValidation(t *testing.T) {
	srv := NewServer(testOptions())
	for _, tc := range []struct {
		fn   any
		want string
	}{
		{nil, "must be a function"},
		{42, "must be a function, not int"},
		{func(room string) []string { return nil }, "returns []string: answer through an acknowledgement callback"},
		{func(ch chan int) {}, "parameter 0 has type chan int"},
		{func(ack func() int) {}, "must not return values"},
	} {
		for _, register := range []func(){
			func() { srv.Of("/v").On("ev", tc.fn) },
			func() { (&Socket{nsp: srv.main}).On("ev", tc.fn) },
		} {
			func() {
				defer func() {
					r := recover()
					msg, _ := r.(string)
					if !strings.Contains(msg, tc.want) || !strings.Contains(msg, `("ev", `) {
						t.Errorf("%T: panic %v, want one saying %q", tc.fn, r, tc.want)
					}
				}()
				register()
			}()
		}
	}
}

func TestAcksFromClient(t *testing.T) {
	srv := NewServer(testOptions())
	srv.OnConnection(func(s *Socket) {
		s.On("sum", func(a, b int, ack func(int, string)) { ack(a+b, "ok") })
		s.On("echo", func(args Args, ack func(...any)) {
			vals, _ := args.Values()
			ack(vals...)
			ack("second call is ignored")
		})
		s.On("noack", func(ack func(string)) { ack("nobody asked") })
	})
	base := newTestServer(t, srv)
	c := dialRaw(t, base)
	c.connect("/", "")
	c.send(`4212["sum",2,3]`)
	c.expect(`4312[5,"ok"]`)
	c.send(`420["echo",{"a":1},"x"]`)
	c.expect(`430[{"a":1},"x"]`)
	c.send(`42["noack"]`)
	c.expectNothing()
}

func TestAcksFromServer(t *testing.T) {
	srv := NewServer(testOptions())
	sockets := make(chan *Socket, 1)
	srv.OnConnection(func(s *Socket) { sockets <- s })
	base := newTestServer(t, srv)
	c := dialRaw(t, base)
	c.connect("/", "")
	s := waitFor(t, sockets)

	// Callback form.
	replies := make(chan string, 1)
	must(t, s.Emit("question", 1, func(answer string, n int) { replies <- answer + string(rune('0'+n)) }))
	msg := c.expectPrefix("42")
	id := msg[2:strings.IndexByte(msg, '[')]
	if msg[len("42")+len(id):] != `["question",1]` {
		t.Fatalf("event = %q", msg)
	}
	c.send("43" + id + `["yes",7]`)
	if got := waitFor(t, replies); got != "yes7" {
		t.Fatalf("reply %q", got)
	}

	// EmitWithAck.
	done := make(chan Args, 1)
	go func() {
		args, err := s.EmitWithAck(context.Background(), "q2")
		if err != nil {
			t.Error(err)
		}
		done <- args
	}()
	msg = c.expectPrefix("42")
	id = msg[2:strings.IndexByte(msg, '[')]
	c.send("43" + id + `[{"ok":true}]`)
	args := waitFor(t, done)
	var v struct{ OK bool }
	if err := args.Decode(&v); err != nil || !v.OK {
		t.Fatalf("decode: %v %+v", err, v)
	}

	// Timeout with the error-first callback.
	errs := make(chan error, 1)
	must(t, s.Timeout(50*time.Millisecond).Emit("q3", func(err error, reply string) { errs <- err }))
	c.expectPrefix("42")
	if err := waitFor(t, errs); !errors.Is(err, ErrTimeout) || err.Error() != "operation has timed out" {
		t.Fatalf("timeout err = %v", err)
	}
	// A timeout callback must take an error first.
	if err := s.Timeout(time.Second).Emit("q4", func(reply string) {}); err == nil {
		t.Fatal("callback without error accepted with a timeout")
	}

	// EmitWithAck with a context deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.EmitWithAck(ctx, "q5"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ctx err = %v", err)
	}
	c.expectPrefix("42")

	// Pending acks fail when the socket disconnects.
	go func() {
		_, err := s.EmitWithAck(context.Background(), "q6")
		errs <- err
	}()
	c.expectPrefix("42")
	c.send("41")
	if err := waitFor(t, errs); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("disconnect err = %v", err)
	}
	// Reserved names are refused.
	if err := s.Emit("disconnect"); !errors.Is(err, ErrReservedEvent) {
		t.Fatalf("reserved: %v", err)
	}
}

type fileMsg struct {
	Name string `json:"name"`
	Data []byte `json:"data"`
}

func TestBinary(t *testing.T) {
	srv := NewServer(testOptions())
	got := make(chan string, 4)
	sockets := make(chan *Socket, 1)
	srv.OnConnection(func(s *Socket) {
		sockets <- s
		s.On("upload", func(f fileMsg, raw []byte, anyv any, ack func(...any)) {
			m := anyv.(map[string]any)
			got <- f.Name + ":" + string(f.Data) + ":" + string(raw) + ":" + string(m["b"].([]byte))
			ack([]byte("back"), map[string]any{"nested": []byte{9}})
		})
	})
	base := newTestServer(t, srv)
	c := dialRaw(t, base)
	c.connect("/", "")
	s := waitFor(t, sockets)

	c.send(`453-7["upload",{"name":"f","data":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1},{"b":{"_placeholder":true,"num":2}}]`)
	c.sendBinary([]byte("AAA"))
	c.sendBinary([]byte("BBB"))
	c.sendBinary([]byte("CCC"))
	if v := waitFor(t, got); v != "f:AAA:BBB:CCC" {
		t.Fatalf("upload: %q", v)
	}
	c.expect(`462-7[{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}]`)
	if m := c.next(); !bytes.Equal(m.binary, []byte("back")) {
		t.Fatalf("attachment 0 = %q", m.binary)
	}
	if m := c.next(); !bytes.Equal(m.binary, []byte{9}) {
		t.Fatalf("attachment 1 = %v", m.binary)
	}

	// Server to client, nested in a struct.
	must(t, s.Emit("file", fileMsg{Name: "x", Data: []byte{1, 2}}, []byte{3}))
	c.expect(`452-["file",{"name":"x","data":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1}]`)
	if m := c.next(); !bytes.Equal(m.binary, []byte{1, 2}) {
		t.Fatalf("attachment = %v", m.binary)
	}
	if m := c.next(); !bytes.Equal(m.binary, []byte{3}) {
		t.Fatalf("attachment = %v", m.binary)
	}

	// Attachment count mismatch closes the connection.
	c.send(`451-["upload",{"_placeholder":true,"num":1}]`)
	c.expectClosed()
}

func TestRoomsAndBroadcast(t *testing.T) {
	srv := NewServer(testOptions())
	sockets := make(chan *Socket, 3)
	srv.OnConnection(func(s *Socket) {
		s.On("join", func(room string, ack func([]string)) {
			s.Join(room)
			ack(s.Rooms())
		})
		s.On("shout", func(room, text string) { _ = s.To(room).Emit("shout", text) })
		s.On("all", func(text string) { _ = s.Broadcast().Emit("all", text) })
		sockets <- s
	})
	base := newTestServer(t, srv)
	a, b, c := dialRaw(t, base), dialRaw(t, base), dialRaw(t, base)
	a.connect("/", "")
	sa := waitFor(t, sockets)
	b.connect("/", "")
	waitFor(t, sockets)
	c.connect("/", "")
	sc := waitFor(t, sockets)

	a.send(`421["join","red"]`)
	a.expect(`431[["` + sa.ID() + `","red"]]`)
	b.send(`421["join","red"]`)
	b.expectPrefix(`431[`)

	// To a room: members only.
	must(t, srv.To("red").Emit("news", "for red"))
	a.expect(`42["news","for red"]`)
	b.expect(`42["news","for red"]`)
	c.expectNothing()

	// From a socket to its room: not back to the sender.
	a.send(`42["shout","red","hello"]`)
	b.expect(`42["shout","hello"]`)
	a.expectNothing()

	// Broadcast: everyone but the sender.
	c.send(`42["all","hey"]`)
	a.expect(`42["all","hey"]`)
	b.expect(`42["all","hey"]`)
	c.expectNothing()

	// Except, several rooms without duplicates, the socket id room.
	must(t, srv.Except("red").Emit("x", 1))
	c.expect(`42["x",1]`)
	must(t, srv.To("red", sa.ID(), sc.ID()).Emit("y", 2))
	a.expect(`42["y",2]`)
	b.expect(`42["y",2]`)
	c.expect(`42["y",2]`)
	a.expectNothing()

	// Leave.
	sa.Leave("red")
	must(t, srv.In("red").Emit("z", 3))
	b.expect(`42["z",3]`)
	a.expectNothing()

	// Server-wide operations.
	must(t, srv.SocketsJoin("blue"))
	must(t, srv.To("blue").Emit("blue", true))
	a.expect(`42["blue",true]`)
	b.expect(`42["blue",true]`)
	c.expect(`42["blue",true]`)
	must(t, srv.In("red").SocketsLeave("blue"))
	ctx := context.Background()
	infos, err := srv.In("blue").FetchSockets(ctx)
	if err != nil || len(infos) != 2 {
		t.Fatalf("fetch blue: %v %d", err, len(infos))
	}
	ids, _ := srv.Sockets().SocketIDs(ctx, "blue")
	if len(ids) != 2 || !slices.Contains(ids, sa.ID()) || !slices.Contains(ids, sc.ID()) {
		t.Fatalf("blue ids = %v", ids)
	}
	// A RemoteSocket acts on its socket.
	var remoteA *RemoteSocket
	for _, r := range infos {
		if r.ID == sa.ID() {
			remoteA = r
		}
	}
	if remoteA == nil || !slices.Contains(remoteA.Rooms, "blue") || remoteA.Handshake == nil {
		t.Fatalf("remote a = %+v", remoteA)
	}
	must(t, remoteA.Emit("direct", "hi"))
	a.expect(`42["direct","hi"]`)
	must(t, srv.In("blue").Except(sa.ID()).DisconnectSockets(false))
	c.expect(`41`)
	if sc.Connected() {
		t.Fatal("c still connected")
	}
	a.expectNothing()
}

func TestBroadcastWithAcks(t *testing.T) {
	srv := NewServer(testOptions())
	base := newTestServer(t, srv)
	a, b := dialRaw(t, base), dialRaw(t, base)
	a.connect("/", "")
	b.connect("/", "")

	type result struct {
		args []Args
		err  error
	}
	res := make(chan result, 1)
	go func() {
		r, err := srv.Timeout(2*time.Second).EmitWithAck(context.Background(), "poll", "q")
		res <- result{r, err}
	}()
	ma, mb := a.expectPrefix("42"), b.expectPrefix("42")
	ida, idb := ma[2:strings.IndexByte(ma, '[')], mb[2:strings.IndexByte(mb, '[')]
	if ida != idb {
		t.Fatalf("one broadcast, one ack id: %s vs %s", ida, idb)
	}
	a.send("43" + ida + `["A"]`)
	b.send("43" + idb + `["B"]`)
	r := waitFor(t, res)
	if r.err != nil || len(r.args) != 2 {
		t.Fatalf("result %v %d", r.err, len(r.args))
	}
	var answers []string
	for _, args := range r.args {
		var s string
		must(t, args.Decode(&s))
		answers = append(answers, s)
	}
	slices.Sort(answers)
	if !slices.Equal(answers, []string{"A", "B"}) {
		t.Fatalf("answers %v", answers)
	}

	// One client does not answer: timeout with the answers so far.
	cb := make(chan result, 1)
	must(t, srv.Timeout(100*time.Millisecond).Emit("poll2", func(err error, responses []Args) { cb <- result{responses, err} }))
	ma = a.expectPrefix("42")
	b.expectPrefix("42")
	a.send("43" + ma[2:strings.IndexByte(ma, '[')] + `["A"]`)
	r = waitFor(t, cb)
	if !errors.Is(r.err, ErrTimeout) || len(r.args) != 1 {
		t.Fatalf("partial: %v %d", r.err, len(r.args))
	}
	if err := srv.Emit("poll3", func(err error, responses []Args) {}); !errors.Is(err, ErrNoTimeout) {
		t.Fatalf("no timeout: %v", err)
	}
}

func TestMiddlewares(t *testing.T) {
	srv := NewServer(testOptions())
	srv.Use(func(s *Socket) error {
		if s.Handshake().Auth["token"] != "secret" {
			return NewConnectError("not authorized", map[string]any{"code": 42})
		}
		s.SetData("user-1")
		return nil
	})
	admin := srv.Of("admin")
	admin.Use(func(s *Socket) error { return errors.New("admins only") })
	users := make(chan any, 1)
	srv.OnConnection(func(s *Socket) { users <- s.Data() })
	base := newTestServer(t, srv)

	c := dialRaw(t, base)
	c.send(`40{"token":"wrong"}`)
	c.expect(`44{"data":{"code":42},"message":"not authorized"}`)
	c.send("40/admin,")
	c.expect(`44/admin,{"message":"admins only"}`)
	c.connect("/", `{"token":"secret"}`)
	if u := waitFor(t, users); u != "user-1" {
		t.Fatalf("data = %v", u)
	}
}

func TestSocketMiddlewareAndAny(t *testing.T) {
	srv := NewServer(testOptions())
	events := make(chan string, 10)
	srv.OnConnection(func(s *Socket) {
		s.OnAny(func(event string, args Args) { events <- "any:" + event + args.String() })
		s.OnAnyOutgoing(func(event string, args Args) { events <- "out:" + event + args.String() })
		s.Use(func(e *Event) error {
			if e.Name == "forbidden" {
				return errors.New("forbidden event")
			}
			return nil
		})
		s.OnError(func(err error) { events <- "error:" + err.Error() })
		s.On("ping", func(n int) { _ = s.Emit("pong", n) })
		s.On("forbidden", func() { events <- "forbidden ran" })
	})
	base := newTestServer(t, srv)
	c := dialRaw(t, base)
	c.connect("/", "")
	c.send(`42["ping",1]`)
	c.expect(`42["pong",1]`)
	if e := waitFor(t, events); e != "any:ping[1]" {
		t.Fatal(e)
	}
	if e := waitFor(t, events); e != "out:pong[1]" {
		t.Fatal(e)
	}
	c.send(`42["forbidden"]`)
	if e := waitFor(t, events); e != "any:forbidden[]" {
		t.Fatal(e)
	}
	if e := waitFor(t, events); e != "error:forbidden event" {
		t.Fatal(e)
	}
	_ = srv.Emit("bcast", "x")
	c.expect(`42["bcast","x"]`)
	if e := waitFor(t, events); e != `out:bcast["x"]` {
		t.Fatal(e)
	}
}

func TestDynamicNamespaces(t *testing.T) {
	srv := NewServer(testOptions())
	parent := srv.OfRegexp(regexp.MustCompile(`^/room-\d+$`))
	var mu sync.Mutex
	var created []string
	srv.OnNewNamespace(func(n *Namespace) {
		mu.Lock()
		created = append(created, n.Name())
		mu.Unlock()
	})
	conns := make(chan *Socket, 4)
	parent.Use(func(s *Socket) error {
		if s.Handshake().Auth["deny"] == true {
			return errors.New("denied")
		}
		return nil
	})
	parent.OnConnection(func(s *Socket) { conns <- s })
	byFunc := srv.OfFunc(func(name string, auth map[string]any) bool {
		return strings.HasPrefix(name, "/team-") && auth["member"] == true
	})
	byFunc.OnConnection(func(s *Socket) { conns <- s })
	base := newTestServer(t, srv)

	c := dialRaw(t, base)
	c.connect("/room-1", "")
	s1 := waitFor(t, conns)
	if s1.Namespace().Name() != "/room-1" {
		t.Fatalf("namespace %q", s1.Namespace().Name())
	}
	c.connect("/room-22", "")
	waitFor(t, conns)
	c.send(`40/room-3,{"deny":true}`)
	c.expect(`44/room-3,{"message":"denied"}`)
	c.send("40/room-x,")
	c.expect(`44/room-x,{"message":"Invalid namespace"}`)
	c.send(`40/team-a,{"member":false}`)
	c.expect(`44/team-a,{"message":"Invalid namespace"}`)
	c.connect("/team-a", `{"member":true}`)
	waitFor(t, conns)

	// Emitting on the parent reaches every child.
	must(t, parent.Emit("hello", 1))
	got := []string{c.next().text, c.next().text}
	slices.Sort(got)
	if !slices.Equal(got, []string{`42/room-1,["hello",1]`, `42/room-22,["hello",1]`}) {
		t.Fatalf("parent emit: %v", got)
	}
	if _, err := parent.FetchSockets(context.Background()); !errors.Is(err, ErrParentNamespace) {
		t.Fatalf("fetch on parent: %v", err)
	}
	// Of with a matching name makes a child too.
	if n := srv.Of("/room-99"); n.parent != parent {
		t.Fatal("Of did not attach to the regexp parent")
	}
	mu.Lock()
	defer mu.Unlock()
	for _, name := range []string{"/room-1", "/room-22", "/room-3", "/team-a", "/room-99"} {
		if !slices.Contains(created, name) {
			t.Errorf("new namespace %s not announced (%v)", name, created)
		}
	}
}

func TestDisconnectReasons(t *testing.T) {
	srv := NewServer(testOptions())
	reasons := make(chan string, 10)
	sockets := make(chan *Socket, 10)
	srv.OnConnection(func(s *Socket) {
		s.OnDisconnecting(func(r DisconnectReason, err error) {
			reasons <- "disconnecting:" + string(r) + ":" + strings.Join(s.Rooms(), ",")
		})
		s.On("disconnect", func(r string) { reasons <- "disconnect:" + r })
		s.Join("room")
		sockets <- s
	})
	srv.Of("/other").OnConnection(func(s *Socket) {
		s.OnDisconnect(func(r DisconnectReason, err error) { reasons <- "other:" + string(r) })
		sockets <- s
	})
	base := newTestServer(t, srv)

	check := func(want ...string) {
		t.Helper()
		for _, w := range want {
			if got := waitFor(t, reasons); got != w {
				t.Fatalf("got %q, want %q", got, w)
			}
		}
	}

	// Client leaves the namespace.
	c := dialRaw(t, base)
	sid := c.connect("/", "")
	waitFor(t, sockets)
	c.send("41")
	check("disconnecting:client namespace disconnect:"+sid+",room", "disconnect:client namespace disconnect")

	// Server removes the socket from the namespace.
	sid = c.connect("/", "")
	s := waitFor(t, sockets)
	s.Disconnect(false)
	c.expect("41")
	check("disconnecting:server namespace disconnect:"+sid+",room", "disconnect:server namespace disconnect")

	// Server closes the connection: every namespace goes.
	c.connect("/", "")
	s = waitFor(t, sockets)
	c.connect("/other", "")
	waitFor(t, sockets)
	s.Disconnect(true)
	msgs := []string{c.next().text, c.next().text}
	slices.Sort(msgs)
	if !slices.Equal(msgs, []string{"41", "41/other,"}) {
		t.Fatalf("disconnect packets %v", msgs)
	}
	c.expectClosed()
	got := []string{waitFor(t, reasons), waitFor(t, reasons), waitFor(t, reasons)}
	slices.Sort(got)
	if got[1] != "disconnecting:server namespace disconnect:"+s.ID()+",room" || got[0] != "disconnect:server namespace disconnect" || got[2] != "other:server namespace disconnect" {
		t.Fatalf("close reasons %v", got)
	}

	// The client goes away.
	c = dialRaw(t, base)
	c.connect("/", "")
	s = waitFor(t, sockets)
	_ = c.ws.Close(1000, "")
	check("disconnecting:transport close:"+s.ID()+",room", "disconnect:transport close")

	// Shutdown.
	c = dialRaw(t, base)
	c.connect("/", "")
	s = waitFor(t, sockets)
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	must(t, srv.Shutdown(ctx))
	check("disconnecting:server shutting down:"+s.ID()+",room", "disconnect:server shutting down")
	c.expectClosed()
}

func TestPingTimeoutReason(t *testing.T) {
	opts := testOptions()
	opts.Engine.PingInterval = 50 * time.Millisecond
	opts.Engine.PingTimeout = 50 * time.Millisecond
	srv := NewServer(opts)
	reasons := make(chan DisconnectReason, 1)
	srv.OnConnection(func(s *Socket) {
		s.OnDisconnect(func(r DisconnectReason, err error) { reasons <- r })
	})
	base := newTestServer(t, srv)
	// A client that does not answer pings: read the frames raw.
	c := dialRaw(t, base)
	c.connect("/", "")
	// Stop the auto-pong by closing the reading side's answers: replace
	// the connection's pongs by reading nothing more. Simplest: stop
	// answering by closing our write side after the connect.
	_ = c.ws.NetConn().(interface{ CloseWrite() error }).CloseWrite()
	if r := waitFor(t, reasons); r != ReasonPingTimeout && r != ReasonTransportClose {
		t.Fatalf("reason %q", r)
	}
}

func TestParseErrorReason(t *testing.T) {
	srv := NewServer(testOptions())
	reasons := make(chan DisconnectReason, 1)
	srv.OnConnection(func(s *Socket) {
		s.OnDisconnect(func(r DisconnectReason, err error) { reasons <- r })
	})
	base := newTestServer(t, srv)
	c := dialRaw(t, base)
	c.connect("/", "")
	c.send(`42{"not":"an array"}`)
	if r := waitFor(t, reasons); r != ReasonParseError {
		t.Fatalf("reason %q", r)
	}
	c.expectClosed()
}

func TestServerSideEmitSingleServer(t *testing.T) {
	srv := NewServer(testOptions())
	must(t, srv.ServerSideEmit("hello", 1))
	resps, err := srv.ServerSideEmitWithAck(context.Background(), "hello")
	if err != nil || len(resps) != 0 {
		t.Fatalf("%v %v", resps, err)
	}
	if err := srv.ServerSideEmit("connection"); !errors.Is(err, ErrReservedEvent) {
		t.Fatalf("reserved: %v", err)
	}
	// Local delivery path used by cluster adapters.
	got := make(chan string, 1)
	srv.On("sync", func(v string, ack func(string)) { got <- v; ack("ok:" + v) })
	answers := make(chan string, 1)
	srv.Sockets().forAdapter().OnServerSideEmit([]byte(`["sync","x"]`), nil, func(r adapterAck) { answers <- string(r.Data) })
	if v := waitFor(t, got); v != "x" {
		t.Fatal(v)
	}
	if a := waitFor(t, answers); a != `["ok:x"]` {
		t.Fatal(a)
	}
}

// recoverable is the handshake of a session that can be recovered.
type recoverable struct{ SID, PID string }

// openRecoverable connects to "/" of a server with connection state
// recovery whose connection handler joins room "news" and then sends the
// socket to joined, and returns the client, its handshake and the offset
// of a first broadcast to "news".
func openRecoverable(t *testing.T, srv *Server, base string, joined <-chan *Socket) (*rawClient, recoverable, string) {
	t.Helper()
	c := dialRaw(t, base)
	c.send("40")
	msg := c.expectPrefix("40{")
	var hs recoverable
	must(t, json.Unmarshal([]byte(msg[2:]), &hs))
	if hs.PID == "" {
		t.Fatalf("no pid in %q", msg)
	}
	waitFor(t, joined)
	must(t, srv.To("news").Emit("n", 1))
	msg = c.expectPrefix(`42["n",1,"`)
	return c, hs, msg[len(`42["n",1,"`) : len(msg)-2]
}

func TestConnectionStateRecovery(t *testing.T) {
	opts := testOptions()
	opts.ConnectionStateRecovery = &RecoveryOptions{MaxDisconnectionDuration: time.Minute}
	srv := NewServer(opts)
	sockets := make(chan *Socket, 2)
	srv.OnConnection(func(s *Socket) {
		if !s.Recovered() {
			s.Join("news")
			s.SetData("kept")
		}
		sockets <- s
	})
	base := newTestServer(t, srv)

	c, hs, offset := openRecoverable(t, srv, base, sockets)

	_ = c.ws.Close(1000, "")
	time.Sleep(50 * time.Millisecond)
	must(t, srv.To("news").Emit("n", 2))
	must(t, srv.To("elsewhere").Emit("n", 3))

	c2 := dialRaw(t, base)
	c2.send(`40{"pid":"` + hs.PID + `","offset":"` + offset + `"}`)
	msg := c2.expectPrefix(`40{`)
	if !strings.Contains(msg, hs.SID) {
		t.Fatalf("recovered sid differs: %q vs %s", msg, hs.SID)
	}
	c2.expectPrefix(`42["n",2,"`)
	s := waitFor(t, sockets)
	if !s.Recovered() || s.ID() != hs.SID || s.Data() != "kept" || !slices.Contains(s.Rooms(), "news") {
		t.Fatalf("recovered socket: %v %s %v %v", s.Recovered(), s.ID(), s.Data(), s.Rooms())
	}
	c2.expectNothing()

	// An unknown offset gives a fresh session.
	c3 := dialRaw(t, base)
	c3.send(`40{"pid":"nope","offset":"nope"}`)
	c3.expectPrefix(`40{`)
	if s := waitFor(t, sockets); s.Recovered() {
		t.Fatal("recovered with a bad pid")
	}
}

// joinRacer is an adapter that, when a socket is put back in room "news",
// broadcasts to that room at once: the broadcast reaches the socket while
// it connects, before its CONNECT is written, as one from another
// goroutine or server may.
type joinRacer struct {
	*adapter.Memory
	srv atomic.Pointer[Server]
}

func (j *joinRacer) AddAll(s adapter.Socket, rooms ...adapter.Room) {
	j.Memory.AddAll(s, rooms...)
	if srv := j.srv.Load(); srv != nil && slices.Contains(rooms, "news") {
		_ = srv.To("news").Emit("live")
	}
}

// TestRecoveryOrder: a restored socket gets its CONNECT, then the packets
// it missed, then the broadcasts that reached it while it connected (they
// overtook the missed packets when the CONNECT was written after the
// socket was back in its rooms).
func TestRecoveryOrder(t *testing.T) {
	opts := testOptions()
	opts.ConnectionStateRecovery = &RecoveryOptions{MaxDisconnectionDuration: time.Minute}
	racer := new(joinRacer)
	opts.Adapter = func(nsp adapter.Namespace) adapter.Adapter {
		racer.Memory = adapter.NewMemory(nsp, &adapter.MemoryOptions{Recovery: &adapter.RecoveryOptions{MaxDisconnectionDuration: time.Minute}})
		return racer
	}
	srv := NewServer(opts)
	joined := make(chan *Socket, 1)
	srv.OnConnection(func(s *Socket) {
		if !s.Recovered() {
			s.Join("news")
			joined <- s
		}
	})
	base := newTestServer(t, srv)

	c, hs, offset := openRecoverable(t, srv, base, joined)
	_ = c.ws.Close(1000, "")
	time.Sleep(50 * time.Millisecond)
	must(t, srv.To("news").Emit("n", 2))
	must(t, srv.To("news").Emit("n", 3))

	racer.srv.Store(srv)
	c2 := dialRaw(t, base)
	c2.send(`40{"pid":"` + hs.PID + `","offset":"` + offset + `"}`)
	if msg := c2.expectPrefix(`40{`); !strings.Contains(msg, hs.SID) {
		t.Fatalf("not recovered: %q, sid was %s", msg, hs.SID)
	}
	c2.expectPrefix(`42["n",2,"`)
	c2.expectPrefix(`42["n",3,"`)
	c2.expectPrefix(`42["live",`)
}

func TestPathAndClientFiles(t *testing.T) {
	opts := testOptions()
	opts.DisableServeClient = false
	opts.ClientDir = t.TempDir() // empty: files missing
	srv := NewServer(opts)
	base := newTestServer(t, srv)
	httpBase := "http" + strings.TrimPrefix(base, "ws")
	for path, want := range map[string]int{
		"/socket.io/socket.io.js":                     404,
		"/other":                                      404,
		"/socket.ionot":                               404,
		"/socket.io/?EIO=4&transport=polling":         200,
		"/socket.io/?EIO=3&transport=polling":         400,
		"/socket.io/socket.io.min.js.map?x=1":         404,
		"/socket.io/?EIO=4&transport=polling&sid=bad": 400,
	} {
		resp, err := httpGet(httpBase + path)
		if err != nil {
			t.Fatal(err)
		}
		if resp != want {
			t.Errorf("GET %s = %d, want %d", path, resp, want)
		}
	}
}
