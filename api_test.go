package socketio

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestAckRequested: handlers, OnAny and socket middlewares can tell whether
// the client asked for an acknowledgement.
func TestAckRequested(t *testing.T) {
	srv := NewServer(testOptions())
	seen := make(chan string, 16)
	srv.OnConnection(func(s *Socket) {
		s.Use(func(e *Event) error {
			seen <- "use:" + e.Name + ":" + yesNo(e.Args.AckRequested())
			return nil
		})
		s.OnAny(func(event string, args Args) { seen <- "any:" + event + ":" + yesNo(args.AckRequested()) })
		s.On("typed", func(room string, ack func([]string)) {
			seen <- "typed:" + yesNo(ack != nil)
			if ack != nil {
				ack([]string{room})
			} else {
				_ = s.Emit("typed-reply", room) // answer another way
			}
		})
		s.On("variadic", func(vals ...any) {
			ack, ok := vals[len(vals)-1].(func(...any))
			seen <- "variadic:" + yesNo(ok)
			if ok {
				ack(len(vals) - 1)
			}
		})
		s.On("raw", func(args Args, ack func(...any)) {
			seen <- "raw:" + yesNo(ack != nil) + yesNo(args.AckRequested())
		})
	})
	base := newTestServer(t, srv)
	c := dialRaw(t, base)
	c.connect("/", "")
	expectSeen := func(want ...string) {
		t.Helper()
		for _, w := range want {
			if got := waitFor(t, seen); got != w {
				t.Fatalf("got %q, want %q", got, w)
			}
		}
	}
	c.send(`42["typed","lobby"]`)
	expectSeen("any:typed:no", "use:typed:no", "typed:no")
	c.expect(`42["typed-reply","lobby"]`)
	c.send(`427["typed","lobby"]`)
	expectSeen("any:typed:yes", "use:typed:yes", "typed:yes")
	c.expect(`437[["lobby"]]`)
	c.send(`42["variadic",1,2]`)
	expectSeen("any:variadic:no", "use:variadic:no", "variadic:no")
	c.send(`428["variadic",1,2]`)
	expectSeen("any:variadic:yes", "use:variadic:yes", "variadic:yes")
	c.expect(`438[2]`)
	c.send(`42["raw"]`)
	expectSeen("any:raw:no", "use:raw:no", "raw:nono")
	c.send(`429["raw"]`)
	expectSeen("any:raw:yes", "use:raw:yes", "raw:yesyes")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// TestArgumentMismatch: a payload that does not fit the handler's types is
// a warning in the log and an error for OnError, with the namespace and
// the event; the handler is not called and no acknowledgement goes out.
func TestArgumentMismatch(t *testing.T) {
	opts := testOptions()
	logs := captureLogs(opts)
	srv := NewServer(opts)
	errs := make(chan error, 4)
	called := make(chan string, 4)
	srv.Of("/chat").OnConnection(func(s *Socket) {
		s.On("join", func(room string, ack func([]string)) { called <- room })
		s.On("join", func(args Args, ack func(...any)) { called <- "second handler" })
		s.OnError(func(err error) { errs <- err })
	})
	base := newTestServer(t, srv)
	c := dialRaw(t, base)
	c.connect("/chat", "")
	c.send(`42/chat,5["join",42]`)
	err := waitFor(t, errs)
	if !errors.Is(err, ErrInvalidArguments) || !strings.Contains(err.Error(), `event "join"`) || !strings.Contains(err.Error(), "into string") {
		t.Fatalf("error %v", err)
	}
	// The other handler, whose parameters fit, runs and may answer.
	if got := waitFor(t, called); got != "second handler" {
		t.Fatalf("called %q", got)
	}
	c.expectNothing()
	line := logs()
	for _, want := range []string{"level=WARN", "namespace=/chat", `event \"join\"`, "does not decode into string"} {
		if !strings.Contains(line, want) {
			t.Errorf("log lacks %q: %s", want, line)
		}
	}
}

// TestOneAckPerEvent: however many handlers an event has, the client gets
// one answer.
func TestOneAckPerEvent(t *testing.T) {
	srv := NewServer(testOptions())
	srv.OnConnection(func(s *Socket) {
		s.On("q", func(ack func(string)) { ack("first") })
		s.On("q", func(ack func(string)) { ack("second") })
	})
	base := newTestServer(t, srv)
	c := dialRaw(t, base)
	c.connect("/", "")
	c.send(`423["q"]`)
	c.expect(`433["first"]`)
	c.expectNothing()
}

// TestSendAndLeave: Send emits a "message" event as Node's send does, and
// Leave takes several rooms as Join does.
func TestSendAndLeave(t *testing.T) {
	srv := NewServer(testOptions())
	rooms := make(chan []string, 1)
	srv.OnConnection(func(s *Socket) {
		_ = s.Send("hello", 1)
		s.Join("a", "b", "c")
		s.Leave("a", "c", "nope")
		rooms <- s.Rooms()
	})
	base := newTestServer(t, srv)
	c := dialRaw(t, base)
	id := c.connect("/", "")
	c.expect(`42["message","hello",1]`)
	if got := waitFor(t, rooms); strings.Join(got, ",") != id+",b" {
		t.Fatalf("rooms %v", got)
	}
}

// TestEmitHandshake: sending socket.handshake, as Node apps do, gives the
// client what a Node server would send.
func TestEmitHandshake(t *testing.T) {
	srv := NewServer(testOptions())
	srv.OnConnection(func(s *Socket) { _ = s.Emit("hs", s.Handshake()) })
	base := newTestServer(t, srv)
	c := dialRaw(t, base)
	c.connect("/", `{"token":"t"}`)
	msg := c.expectPrefix(`42["hs",{"headers":{`)
	for _, want := range []string{`"query":{"EIO":"4","transport":"websocket"}`, `"auth":{"token":"t"}`, `"url":"/socket.io/?EIO=4&transport=websocket"`, `"xdomain":false`, `"address":"127.0.0.1"`, `"time":"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %s in %s", want, msg)
		}
	}
}

// TestRoomEvents: the namespace tells its listeners about the room
// lifecycle, as Node's adapter events; listeners may change rooms.
func TestRoomEvents(t *testing.T) {
	srv := NewServer(testOptions())
	nsp := srv.Of("/r")
	events := make(chan [2]string, 32)
	nsp.OnCreateRoom(func(room string) { events <- [2]string{"create", room} })
	nsp.OnDeleteRoom(func(room string) { events <- [2]string{"delete", room} })
	nsp.OnJoinRoom(func(room, id string) {
		events <- [2]string{"join", room}
		if room == "lobby" {
			// A listener that changes rooms: its events follow, in order.
			nsp.Socket(id).Join("lobby-presence")
		}
	})
	nsp.OnLeaveRoom(func(room, id string) { events <- [2]string{"leave", room} })
	nsp.OnConnection(func(s *Socket) {
		s.On("join", func(room string) { s.Join(room) })
		s.On("leave", func(room string) { s.Leave(room) })
	})
	base := newTestServer(t, srv)
	c := dialRaw(t, base)
	sid := c.connect("/r", "")
	next := func() string {
		e := waitFor(t, events)
		if e[1] == sid {
			e[1] = "<sid>"
		}
		return e[0] + " " + e[1]
	}
	expect := func(want ...string) {
		t.Helper()
		for _, w := range want {
			if got := next(); got != w {
				t.Fatalf("got %q, want %q", got, w)
			}
		}
	}
	expect("create <sid>", "join <sid>")
	c.send(`42/r,["join","lobby"]`)
	expect("create lobby", "join lobby", "create lobby-presence", "join lobby-presence")
	c.send(`42/r,["leave","lobby"]`)
	expect("leave lobby", "delete lobby")
	c.send(`41/r,`)
	var rest []string
	for range 4 {
		rest = append(rest, next())
	}
	slices.Sort(rest)
	if want := []string{"delete <sid>", "delete lobby-presence", "leave <sid>", "leave lobby-presence"}; !slices.Equal(rest, want) {
		t.Fatalf("on disconnect: %q", rest)
	}
}

// TestDecodeData: a fetched socket's data decodes the same way whether its
// server kept the Go value (this server) or sent its JSON (another one).
func TestDecodeData(t *testing.T) {
	type profile struct {
		User  string `json:"user"`
		Level int    `json:"level"`
		Key   []byte `json:"key"`
	}
	want := profile{User: "alice", Level: 7, Key: []byte{1, 2, 3}}
	for _, data := range []any{want, &want, json.RawMessage(`{"user":"alice","level":7,"key":"AQID"}`)} {
		var got profile
		if err := (&RemoteSocket{Data: data}).DecodeData(&got); err != nil || got.User != want.User || got.Level != 7 || !slices.Equal(got.Key, want.Key) {
			t.Fatalf("%T: %+v %v", data, got, err)
		}
	}
	var p profile
	if err := (&RemoteSocket{Data: json.RawMessage(`[1]`)}).DecodeData(&p); err == nil {
		t.Fatal("an array decoded into a struct")
	}
}
