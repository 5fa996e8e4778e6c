package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
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
		_ = s.On("echo", func(args socketio.Args, ack func(...any)) {
			vals, _ := args.Values()
			ack(vals...)
		})
		_ = s.On("note", func(args socketio.Args) { got <- args.String() })
		_ = s.On("silent", func(args socketio.Args, ack func(...any)) {})
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
	code, _, errOut := sio(t, "emit", url, "note", `{"x":1}`, `[2]`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	select {
	case v := <-got:
		if v != `[{"x":1},[2]]` {
			t.Fatalf("server got %s", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not get the event")
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
		{"unreachable emit", []string{"emit", dead, "x"}, 1, "cannot connect to " + dead},
		{"unreachable listen", []string{"listen", dead}, 1, "connection refused"},
		{"refused namespace", []string{"listen", url + "/admin"}, 1, `namespace "/admin" refused: not authorized (data: {"code":401})`},
		{"invalid namespace", []string{"emit", url, "x", "-n", "/nope"}, 1, `namespace "/nope" refused: Invalid namespace`},
		{"ack timeout", []string{"emit", url, "silent", "--ack", "--timeout", "200ms"}, 1, `no acknowledgement for "silent" within 200ms`},
		{"reserved event", []string{"emit", url, "connect"}, 1, "reserved event name"},
		{"no command", nil, 2, "usage:"},
		{"unknown command", []string{"shout", url}, 2, `unknown command "shout"`},
		{"unknown option", []string{"listen", url, "--loud"}, 2, "unknown option --loud"},
		{"bad auth", []string{"listen", url, "--auth", "[1]"}, 2, "--auth needs a JSON object"},
		{"bad transport", []string{"listen", url, "--transport", "smoke"}, 2, "polling or websocket"},
		{"emit without event", []string{"emit", url}, 2, "emit needs a URL and an event name"},
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
