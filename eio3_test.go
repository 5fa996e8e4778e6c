package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/websocket"
)

// v3Options are testOptions with Socket.IO 2.x clients allowed.
func v3Options() *Options {
	o := testOptions()
	o.Engine.AllowEIO3 = true
	return o
}

// dialRawV3 opens an Engine.IO v3 WebSocket session; the server connects
// it to the main namespace at once, unless it refuses: the first message
// after the open packet is left to the caller.
func dialRawV3(t *testing.T, base string) *rawClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, base+"/socket.io/?EIO=3&transport=websocket", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c := &rawClient{t: t, ws: ws, msgs: make(chan rawMsg, 1024)}
	go c.read()
	t.Cleanup(func() { _ = ws.Close(websocket.CloseNormal, "") })
	open := c.next()
	var hs struct {
		SID string `json:"sid"`
	}
	if !strings.HasPrefix(open.text, "0") || json.Unmarshal([]byte(open.text[1:]), &hs) != nil {
		t.Fatalf("expected open packet, got %q", open.text)
	}
	c.sid = hs.SID
	return c
}

func TestV2ClientRefusedByDefault(t *testing.T) {
	srv := NewServer(testOptions())
	base := newTestServer(t, srv)
	url := "http" + strings.TrimPrefix(base, "ws") + "/socket.io/?EIO=3&transport=polling"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || string(body) != `{"code":5,"message":"Unsupported protocol version"}` {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
}

// A v2 client is connected to the main namespace unprompted, with the
// Engine.IO id as its socket id and a CONNECT without payload.
func TestV2MainNamespace(t *testing.T) {
	srv := NewServer(v3Options())
	ids := make(chan string, 1)
	srv.OnConnection(func(s *Socket) {
		ids <- s.ID()
		s.On("echo", func(args Args, ack func(...any)) {
			v, _ := args.Values()
			if ack != nil {
				ack(v...)
				return
			}
			_ = s.Emit("echo", v...)
		})
	})
	c := dialRawV3(t, newTestServer(t, srv))
	c.expect("40")
	if id := waitFor(t, ids); id != c.sid {
		t.Errorf("socket id %q, want the Engine.IO id %q", id, c.sid)
	}
	c.send(`42["echo",1,"a"]`)
	c.expect(`42["echo",1,"a"]`)
	c.send(`427["echo",{"x":true}]`)
	c.expect(`437[{"x":true}]`)
	// A CONNECT to "/" again is a protocol error, as in Node.
	c.send("40")
	c.expectClosed()
}

// A v2 client's namespace query is its auth; packets name the namespace
// without it.
func TestV2NamespaceQueryAuth(t *testing.T) {
	srv := NewServer(v3Options())
	auths := make(chan map[string]any, 1)
	ids := make(chan string, 1)
	admin := srv.Of("/admin")
	admin.Use(func(s *Socket) error {
		auths <- s.Handshake().Auth
		return nil
	})
	admin.OnConnection(func(s *Socket) {
		ids <- s.ID()
		s.On("whoami", func(ack func(string, string)) { ack(s.ID(), s.Namespace().Name()) })
	})
	c := dialRawV3(t, newTestServer(t, srv))
	c.expect("40")
	c.send("40/admin?token=x%20y&a=b+c&a=last&flag,")
	c.expect("40/admin,")
	want := map[string]any{"token": "x y", "a": "last", "flag": ""}
	if got := waitFor(t, auths); !reflect.DeepEqual(got, want) {
		t.Errorf("auth %v, want %v", got, want)
	}
	if id := waitFor(t, ids); id != "/admin#"+c.sid {
		t.Errorf("socket id %q", id)
	}
	c.send(`42/admin,3["whoami"]`)
	c.expect(fmt.Sprintf(`43/admin,3["/admin#%s","/admin"]`, c.sid))
}

// Middleware errors reach v2 clients as Node sends them: the error's data,
// or its message as a string.
func TestV2ConnectErrors(t *testing.T) {
	srv := NewServer(v3Options())
	srv.Of("/data").Use(func(*Socket) error {
		return NewConnectError("not authorized", map[string]any{"code": 401})
	})
	srv.Of("/plain").Use(func(*Socket) error { return errors.New("go away") })
	srv.Of("/zero").Use(func(*Socket) error { return NewConnectError("zero", 0) })
	c := dialRawV3(t, newTestServer(t, srv))
	c.expect("40")
	c.send("40/data,")
	c.expect(`44/data,{"code":401}`)
	c.send("40/plain,")
	c.expect(`44/plain,"go away"`)
	c.send("40/zero,")
	c.expect(`44/zero,"zero"`)
	c.send("40/nope,")
	c.expect(`44/nope,{"message":"Invalid namespace"}`)

	// A refusal of the main namespace comes right after the open packet.
	srv2 := NewServer(v3Options())
	srv2.Use(func(*Socket) error { return errors.New("no") })
	c2 := dialRawV3(t, newTestServer(t, srv2))
	c2.expect(`44"no"`)
}

// A broadcast reaches v2 and v4 clients in one room, binary included: the
// same text packet, and each client's binary framing.
func TestV2MixedBroadcast(t *testing.T) {
	srv := NewServer(v3Options())
	joined := make(chan *Socket, 2)
	srv.OnConnection(func(s *Socket) {
		s.Join("room")
		s.On("shout", func() { _ = srv.To("room").Emit("news", "hi", []byte{1, 2}) })
		joined <- s
	})
	base := newTestServer(t, srv)
	v2 := dialRawV3(t, base)
	v2.expect("40")
	v4 := dialRaw(t, base)
	v4.connect("/", "")
	// The connection handlers run after the CONNECT is written: both
	// sockets are in the room once they have returned.
	waitFor(t, joined)
	waitFor(t, joined)
	v2.send(`42["shout"]`)
	const text = `451-["news","hi",{"_placeholder":true,"num":0}]`
	v2.expect(text)
	if m := v2.next(); string(m.binary) != "\x04\x01\x02" {
		t.Errorf("v2 attachment %q", m.binary)
	}
	v4.expect(text)
	if m := v4.next(); string(m.binary) != "\x01\x02" {
		t.Errorf("v4 attachment %q", m.binary)
	}
	// Binary from a v2 client: its attachment frames carry the type byte.
	got := make(chan []byte, 1)
	srv.Sockets().Socket(v2.sid).On("upload", func(b []byte) { got <- b })
	v2.send(`451-["upload",{"_placeholder":true,"num":0}]`)
	v2.sendBinary([]byte{4, 9, 8})
	if b := waitFor(t, got); string(b) != "\x09\x08" {
		t.Errorf("upload %q", b)
	}
}

// Acknowledgements from the server to a v2 client.
func TestV2ServerAck(t *testing.T) {
	srv := NewServer(v3Options())
	answers := make(chan string, 1)
	srv.OnConnection(func(s *Socket) {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), testWait)
			defer cancel()
			a, err := s.EmitWithAck(ctx, "q", 1)
			var v string
			if err == nil {
				err = a.Decode(&v)
			}
			if err != nil {
				v = err.Error()
			}
			answers <- v
		}()
	})
	c := dialRawV3(t, newTestServer(t, srv))
	c.expect("40")
	msg := c.expectPrefix("42")
	var id int
	if _, err := fmt.Sscanf(msg, `42%d["q",1]`, &id); err != nil {
		t.Fatalf("%q: %v", msg, err)
	}
	c.send(fmt.Sprintf(`43%d["yes"]`, id))
	if a := waitFor(t, answers); a != "yes" {
		t.Errorf("answer %q", a)
	}
}

// Over long-polling, the handshake answers with the open packet alone, as
// Node does, and the CONNECT of "/" follows in the next poll.
func TestV2PollingHandshake(t *testing.T) {
	srv := NewServer(v3Options())
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Close()
	get := func(q string) string {
		resp, err := http.Get(ts.URL + "/socket.io/?" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	open := get("EIO=3&transport=polling")
	i := strings.Index(open, ":0{")
	var hs struct {
		SID string `json:"sid"`
	}
	if i < 0 || json.Unmarshal([]byte(open[i+2:]), &hs) != nil {
		t.Fatalf("handshake %q", open)
	}
	done := make(chan string, 1)
	go func() { done <- get("EIO=3&transport=polling&sid=" + hs.SID) }()
	select {
	case b := <-done:
		if b != "2:40" {
			t.Errorf("second poll %q, want 2:40", b)
		}
	case <-time.After(testWait):
		t.Fatal("no CONNECT")
	}
}
