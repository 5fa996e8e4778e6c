package socketio

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/internal/websocket"
)

// rawClient speaks Engine.IO/Socket.IO by hand over a WebSocket, so that
// the tests see the exact packets.
type rawClient struct {
	t    *testing.T
	ws   *websocket.Conn
	sid  string
	msgs chan rawMsg
}

type rawMsg struct {
	text   string
	binary []byte
}

const testWait = 5 * time.Second

// newTestServer starts srv on 127.0.0.1 and returns its ws:// base URL.
func newTestServer(t *testing.T, srv *Server) string {
	t.Helper()
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testWait)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
	})
	return "ws" + strings.TrimPrefix(ts.URL, "http")
}

func testOptions() *Options {
	return &Options{
		Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
		DisableServeClient: true,
		Engine:             engineio.Options{PingInterval: 2 * time.Second, PingTimeout: 2 * time.Second},
	}
}

// dialRaw opens an Engine.IO WebSocket session (without joining a
// namespace).
func dialRaw(t *testing.T, base string) *rawClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, base+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c := &rawClient{t: t, ws: ws, msgs: make(chan rawMsg, 1024)}
	go c.read()
	t.Cleanup(func() { _ = ws.Close(websocket.CloseNormal, "") })
	open := c.next()
	if !strings.HasPrefix(open.text, "0") {
		t.Fatalf("expected open packet, got %q", open.text)
	}
	var hs struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal([]byte(open.text[1:]), &hs); err != nil {
		t.Fatalf("open packet: %v", err)
	}
	c.sid = hs.SID
	return c
}

func (c *rawClient) read() {
	defer close(c.msgs)
	for {
		op, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		if op == websocket.OpBinary {
			c.msgs <- rawMsg{binary: data}
			continue
		}
		if string(data) == "2" {
			_ = c.ws.WriteMessage(websocket.OpText, []byte("3"))
			continue
		}
		c.msgs <- rawMsg{text: string(data)}
	}
}

// send writes an Engine.IO text packet.
func (c *rawClient) send(s string) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.OpText, []byte(s)); err != nil {
		c.t.Fatalf("send %q: %v", s, err)
	}
}

func (c *rawClient) sendBinary(b []byte) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.OpBinary, b); err != nil {
		c.t.Fatalf("send binary: %v", err)
	}
}

// next returns the next message (pings are answered and skipped).
func (c *rawClient) next() rawMsg {
	c.t.Helper()
	select {
	case m, ok := <-c.msgs:
		if !ok {
			c.t.Fatalf("connection closed while waiting for a message")
		}
		return m
	case <-time.After(testWait):
		c.t.Fatalf("timed out waiting for a message")
	}
	return rawMsg{}
}

// expect reads the next message and compares it with want.
func (c *rawClient) expect(want string) {
	c.t.Helper()
	if got := c.next(); got.text != want {
		c.t.Fatalf("got %q (binary %v), want %q", got.text, got.binary, want)
	}
}

// expectPrefix reads the next message and checks its prefix; it returns
// the message.
func (c *rawClient) expectPrefix(prefix string) string {
	c.t.Helper()
	got := c.next()
	if !strings.HasPrefix(got.text, prefix) {
		c.t.Fatalf("got %q, want prefix %q", got.text, prefix)
	}
	return got.text
}

// expectClosed waits for the server to close the connection.
func (c *rawClient) expectClosed() {
	c.t.Helper()
	deadline := time.After(testWait)
	for {
		select {
		case _, ok := <-c.msgs:
			if !ok {
				return
			}
		case <-deadline:
			c.t.Fatalf("connection not closed")
		}
	}
}

// expectNothing checks that no message arrives for a short while.
func (c *rawClient) expectNothing() {
	c.t.Helper()
	select {
	case m, ok := <-c.msgs:
		if ok {
			c.t.Fatalf("unexpected message %q %v", m.text, m.binary)
		}
	case <-time.After(100 * time.Millisecond):
	}
}

// connect joins a namespace and returns the socket id.
func (c *rawClient) connect(nsp string, auth string) string {
	c.t.Helper()
	prefix := "40"
	if nsp != "/" {
		prefix += nsp + ","
	}
	c.send(prefix + auth)
	msg := c.expectPrefix(prefix + "{")
	var data struct {
		SID string `json:"sid"`
		PID string `json:"pid"`
	}
	if err := json.Unmarshal([]byte(msg[len(prefix):]), &data); err != nil || data.SID == "" {
		c.t.Fatalf("bad CONNECT answer %q: %v", msg, err)
	}
	return data.SID
}

// waitFor receives from ch or fails.
func waitFor[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testWait):
		t.Fatalf("timed out")
	}
	var zero T
	return zero
}
