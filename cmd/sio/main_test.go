package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/socketio-go/socketio"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newServer starts a Socket.IO server on 127.0.0.1: "/" acks "echo" with
// its arguments and, on connection, emits "other", "tick" 1 and 2, and
// "hdr" with the X-Test header, the q query parameter and the transport;
// "/admin" wants auth {token: "secret"}.
func newServer(t *testing.T) (string, chan string) {
	t.Helper()
	got := make(chan string, 16)
	srv := socketio.NewServer(&socketio.Options{
		Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
		DisableServeClient: true,
	})
	srv.OnConnection(func(s *socketio.Socket) {
		_ = s.Emit("other", "x")
		_ = s.Emit("tick", 1)
		_ = s.Emit("tick", 2, []byte("bin"))
		_ = s.Emit("hdr", s.Handshake().Headers.Get("X-Test"), s.Handshake().Query.Get("q"), s.Transport())
		s.On("echo", func(args socketio.Args, ack func(...any)) {
			vals, _ := args.Values()
			ack(vals...)
		})
		s.On("note", func(args socketio.Args) { got <- args.String() })
		s.On("silent", func(args socketio.Args, ack func(...any)) {})
	})
	admin := srv.Of("/admin")
	admin.Use(func(s *socketio.Socket) error {
		if s.Handshake().Auth["token"] == "secret" {
			return nil
		}
		return socketio.NewConnectError("not authorized", map[string]int{"code": 401})
	})
	admin.OnConnection(func(s *socketio.Socket) { _ = s.Emit("hello", "admin") })
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
	})
	return ts.URL, got
}

func sio(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestEmitAck(t *testing.T) {
	url, _ := newServer(t)
	for _, tr := range []string{"polling", "websocket"} {
		code, out, errOut := sio(t, "emit", url, "echo", `"hello"`, "1", `{"a":[true,null]}`, "bare word", "--ack", "--transport", tr)
		if code != 0 || out != `["hello",1,{"a":[true,null]},"bare word"]`+"\n" {
			t.Fatalf("%s: exit %d, stdout %q, stderr %q", tr, code, out, errOut)
		}
	}
	// Negative numbers are arguments, not options.
	code, out, _ := sio(t, "emit", "--timeout=3s", url, "echo", "-1", "--ack")
	if code != 0 || out != "[-1]\n" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
}

func TestEmitNoAck(t *testing.T) {
	url, got := newServer(t)
	// The event is written right before the client disconnects, while the
	// server is still sending its own events: it must arrive over either
	// transport.
	for _, transport := range []string{"polling", "websocket"} {
		code, _, errOut := sio(t, "emit", url, "note", `{"x":1}`, `[2]`, "--transport", transport)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", transport, code, errOut)
		}
		select {
		case v := <-got:
			if v != `[{"x":1},[2]]` {
				t.Fatalf("%s: server got %s", transport, v)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the server did not get the event", transport)
		}
	}
}

func TestListen(t *testing.T) {
	url, _ := newServer(t)
	code, out, errOut := sio(t, "listen", url, "-e", "tick", "--count", "2")
	want := `{"event":"tick","args":[1]}` + "\n" + `{"event":"tick","args":[2,"Ymlu"]}` + "\n"
	if code != 0 || out != want {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if !strings.Contains(errOut, "connected to") {
		t.Fatalf("stderr %q", errOut)
	}
	// Headers, auth and a namespace.
	code, out, errOut = sio(t, "listen", url, "-e", "hdr", "--count", "1", "-H", "X-Test: yes", "--query", "q=1", "--transport", "websocket")
	if code != 0 || out != `{"event":"hdr","args":["yes","1","websocket"]}`+"\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = sio(t, "listen", url, "-n", "/admin", "--auth", `{"token":"secret"}`, "--count", "1")
	if code != 0 || out != `{"event":"hello","args":["admin"]}`+"\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestErrors(t *testing.T) {
	url, _ := newServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unreachable emit", []string{"emit", dead, "x", "1"}, 1, "cannot connect to " + dead},
		{"unreachable listen", []string{"listen", dead}, 1, "connection refused"},
		{"unreachable without scheme", []string{"emit", strings.TrimPrefix(dead, "http://"), "x", "1"}, 1, "cannot connect to " + dead},
		{"refused namespace", []string{"listen", url + "/admin"}, 1, `namespace "/admin" refused: not authorized (data: {"code":401})`},
		{"invalid namespace", []string{"emit", url, "x", "--no-args", "-n", "/nope"}, 1, `namespace "/nope" refused: Invalid namespace`},
		{"ack timeout", []string{"emit", url, "silent", "--no-args", "--ack", "--timeout", "200ms"}, 1, `no acknowledgement for "silent" within 200ms`},
		{"reserved event", []string{"emit", url, "connect", "1"}, 2, `"connect" is a reserved event name`},
		{"reserved first event", []string{"listen", url, "--first", "disconnect now"}, 2, `--first: "disconnect" is a reserved event name`},
		{"first without event", []string{"listen", url, "--first", " "}, 2, "--first needs an event name"},
		{"no command", nil, 2, "usage:"},
		{"unknown command", []string{"shout", url}, 2, `unknown command "shout"`},
		{"help about nothing", []string{"help", "shout"}, 2, "help takes a command: listen or emit"},
		{"unknown option", []string{"listen", url, "--loud"}, 2, "unknown option --loud"},
		{"bad auth", []string{"listen", url, "--auth", "[1]"}, 2, "--auth needs a JSON object"},
		{"bad transport", []string{"listen", url, "--transport", "smoke"}, 2, "polling or websocket"},
		{"emit without event", []string{"emit", url}, 2, "emit needs a URL and an event name"},
		{"emit without argument", []string{"emit", url, "join"}, 2, `emit "join" needs an argument (JSON, or a word sent as a string); to send it without any, add --no-args`},
		{"no-args with arguments", []string{"emit", url, "join", "red", "--no-args"}, 2, "--no-args, yet arguments were given"},
		{"listen with emit options", []string{"listen", url, "--ack"}, 2, "--no-args and --ack are options of emit"},
		{"unsupported scheme", []string{"listen", "ftp://127.0.0.1:3000"}, 2, "the scheme is http, https, ws or wss"},
		{"no host", []string{"listen", "http:///admin"}, 2, "invalid URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := sio(t, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.msg) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", code, tc.code, errOut, tc.msg)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	cases := []struct {
		args      []string
		has, hasn string // in stdout, not in stdout
	}{
		{[]string{"help"}, "sio help [listen|emit]", ""},
		{[]string{"--help"}, "--no-args", ""},
		{[]string{"-h"}, "--count N", ""},
		{[]string{"help", "emit"}, "--no-args", "--count N"},
		{[]string{"emit", "--help"}, "--no-args", "--count N"},
		{[]string{"listen", "-h"}, "--count N", "--no-args"},
		// Help wins over what else is on the line.
		{[]string{"emit", "localhost:3000", "--loud", "--help"}, "--no-args", "--count N"},
	}
	for _, tc := range cases {
		code, out, errOut := sio(t, tc.args...)
		if code != 0 || errOut != "" || !strings.HasPrefix(out, "usage:") || !strings.Contains(out, tc.has) ||
			tc.hasn != "" && strings.Contains(out, tc.hasn) {
			t.Errorf("sio %s: exit %d, stderr %q, stdout:\n%s", strings.Join(tc.args, " "), code, errOut, out)
		}
	}
	// A usage error shows the message and the command lines, on stderr.
	code, out, errOut := sio(t, "emit", "localhost:3000", "join")
	if code != 2 || out != "" || !strings.Contains(errOut, "sio emit URL EVENT --no-args") || !strings.Contains(errOut, "sio help emit") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestWithScheme(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"localhost:3000", "http://localhost:3000"},
		{"127.0.0.1:3000/admin", "http://127.0.0.1:3000/admin"},
		{"//example.com/x", "http://example.com/x"},
		{"example.com", "http://example.com"},
		{"http://localhost:3000", "http://localhost:3000"},
		{"HTTPS://example.com", "HTTPS://example.com"},
		{"wss://example.com/chat", "wss://example.com/chat"},
		{"ftp://example.com", ""},
		{"", ""},
		{"http://", ""},
	} {
		got, err := withScheme(tc.in)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("withScheme(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestURLWithoutScheme(t *testing.T) {
	url, _ := newServer(t)
	host := strings.TrimPrefix(url, "http://")
	code, out, errOut := sio(t, "emit", host, "echo", "hi", "--ack")
	if code != 0 || out != `["hi"]`+"\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = sio(t, "listen", host+"/admin", "--auth", `{"token":"secret"}`, "--count", "1")
	if code != 0 || out != `{"event":"hello","args":["admin"]}`+"\n" || !strings.Contains(errOut, "connected to "+url+"/admin") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestEmitNoArgs(t *testing.T) {
	url, _ := newServer(t)
	code, out, errOut := sio(t, "emit", url, "echo", "--no-args", "--ack")
	if code != 0 || out != "[]\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestParseFirst(t *testing.T) {
	for _, tc := range []struct {
		in, event, args string // args as JSON
	}{
		{"join red", "join", `["red"]`},
		{` join  "red" `, "join", `["red"]`},
		{`echo 1 {"a":[2]} true`, "echo", `[1,{"a":[2]},true]`},
		{"message hello   world", "message", `["hello   world"]`},
		{"message 1 apple", "message", `["1 apple"]`},
		{"ping", "ping", `[]`},
	} {
		f, err := parseFirst(tc.in)
		if err != nil || f.event != tc.event || jsonLine(f.args) != tc.args {
			t.Errorf("parseFirst(%q) = %q %s, %v; want %q %s", tc.in, f.event, jsonLine(f.args), err, tc.event, tc.args)
		}
	}
}

// newChatServer starts a server that routes like the chat demo
// (examples/chat): a socket starts in the room "lobby" and is told so by a
// "session" event, "join" moves it to a room and acknowledges
// {"ok":true,"room":...}, "message" goes to the sender's room.
func newChatServer(t *testing.T) string {
	t.Helper()
	srv := socketio.NewServer(&socketio.Options{
		Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
		DisableServeClient: true,
	})
	type reply struct {
		OK   bool   `json:"ok"`
		Room string `json:"room,omitempty"`
	}
	srv.OnConnection(func(s *socketio.Socket) {
		room := "lobby" // owned by the socket's handlers, which run in order
		s.Join(room)
		_ = s.Emit("session", reply{OK: true, Room: room})
		s.On("join", func(name string, ack func(reply)) {
			s.Leave(room)
			room = name
			s.Join(room)
			ack(reply{OK: true, Room: room})
		})
		s.On("message", func(text string, ack func(reply)) {
			_ = srv.To(room).Emit("message", map[string]string{"room": room, "text": text})
			ack(reply{OK: true})
		})
	})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
	})
	return strings.TrimPrefix(ts.URL, "http://")
}

// lineWriter passes each complete line written to it to lines.
type lineWriter struct {
	mu    sync.Mutex
	buf   []byte       // guarded by mu; the incomplete last line
	all   bytes.Buffer // guarded by mu
	lines chan string
}

func newLineWriter() *lineWriter { return &lineWriter{lines: make(chan string, 64)} }

func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all.Write(b)
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		select {
		case w.lines <- string(w.buf[:i]):
		default: // nobody waits for that many
		}
		w.buf = w.buf[i+1:]
	}
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.all.String()
}

// waitLine waits for a line starting with prefix.
func (w *lineWriter) waitLine(t *testing.T, prefix string, exited <-chan int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l := <-w.lines:
			if strings.HasPrefix(l, prefix) {
				return
			}
		case code := <-exited:
			t.Fatalf("sio exited (%d) before writing %q; it wrote %q", code, prefix, w.String())
		case <-timeout:
			t.Fatalf("no line %q in %q", prefix, w.String())
		}
	}
}

// TestChatPairs runs the listen/emit pairs of the usage's examples (and
// the README's) against a server that routes like the chat demo.
func TestChatPairs(t *testing.T) {
	addr := newChatServer(t)
	start := func(args ...string) (stdout, stderr *lineWriter, exited chan int) {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		stdout, stderr, exited = newLineWriter(), newLineWriter(), make(chan int, 1)
		go func() {
			defer cancel()
			exited <- run(ctx, args, stdout, stderr)
		}()
		return stdout, stderr, exited
	}
	wait := func(exited chan int, stdout, stderr *lineWriter) {
		t.Helper()
		select {
		case code := <-exited:
			if code != 0 {
				t.Fatalf("listen exited with %d: stdout %q, stderr %q", code, stdout, stderr)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("listen did not exit")
		}
	}

	// A new socket starts in the lobby: so do both of the first pair.
	// (The "session" event tells that the listener is in.)
	out, errOut, exited := start("listen", addr, "-e", "session", "-e", "message", "--count", "2")
	out.waitLine(t, `{"event":"session"`, exited)
	code, ackOut, ackErr := sio(t, "emit", addr, "message", "hello lobby", "--ack")
	if code != 0 || ackOut != `[{"ok":true}]`+"\n" {
		t.Fatalf("emit: exit %d, stdout %q, stderr %q", code, ackOut, ackErr)
	}
	wait(exited, out, errOut)
	if want := `{"event":"message","args":[{"room":"lobby","text":"hello lobby"}]}` + "\n"; !strings.HasSuffix(out.String(), want) {
		t.Fatalf("listen wrote %q, want it to end with %q", out, want)
	}

	// --first joins another room; the listener's acknowledgement tells it is in.
	out, errOut, exited = start("listen", addr, "-e", "message", "--first", "join red", "--count", "1")
	errOut.waitLine(t, `sio: join acknowledged: [{"ok":true,"room":"red"}]`, exited)
	code, ackOut, ackErr = sio(t, "emit", addr, "message", "hello red", "--first", "join red", "--ack")
	if code != 0 || ackOut != `[{"ok":true}]`+"\n" {
		t.Fatalf("emit: exit %d, stdout %q, stderr %q", code, ackOut, ackErr)
	}
	wait(exited, out, errOut)
	if want := `{"event":"message","args":[{"room":"red","text":"hello red"}]}` + "\n"; out.String() != want {
		t.Fatalf("listen wrote %q, want %q", out, want)
	}
}
