package engineio

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/websocket"
)

func TestWebSocketEcho(t *testing.T) {
	e := newEnvWith(t, nil, envConfig{echo: true})
	ws, s, _ := e.dialSession()

	wsWrite(t, ws, "4hello")
	if m := recv(t, s.msgs, "message"); m != (received{"hello", false}) {
		t.Errorf("got %+v", m)
	}
	if op, p := wsRead(t, ws); op != websocket.OpText || p != "4hello" {
		t.Errorf("echo %v %q", op, p)
	}

	bin := []byte{0, 1, 2, 0xff}
	if err := ws.WriteMessage(websocket.OpBinary, bin); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, s.msgs, "message"); m != (received{string(bin), true}) {
		t.Errorf("got %+v", m)
	}
	if op, p := wsRead(t, ws); op != websocket.OpBinary || p != string(bin) {
		t.Errorf("echo %v %q", op, p)
	}

	// Base64 binary is accepted over WebSocket too; the answer is a
	// binary frame.
	wsWrite(t, ws, "bAQID")
	if m := recv(t, s.msgs, "message"); m != (received{"\x01\x02\x03", true}) {
		t.Errorf("got %+v", m)
	}
	if op, p := wsRead(t, ws); op != websocket.OpBinary || p != "\x01\x02\x03" {
		t.Errorf("echo %v %q", op, p)
	}

	// Noop, open and upgrade packets are ignored.
	wsWrite(t, ws, "6")
	wsWrite(t, ws, "5")
	wsWrite(t, ws, "4after")
	if m := recv(t, s.msgs, "message"); m.data != "after" {
		t.Errorf("got %+v", m)
	}
}

func TestWebSocketSendOrder(t *testing.T) {
	e := newEnv(t, nil)
	ws, s, _ := e.dialSession()
	const n = 500
	for i := range n {
		if err := s.c.SendText([]byte(strings.Repeat("x", i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if _, p := wsRead(t, ws); len(p) != i+1 {
			t.Fatalf("message %d has %d bytes", i, len(p)-1)
		}
	}
}

func TestWebSocketCloseCases(t *testing.T) {
	tests := []struct {
		name   string
		opts   *Options
		act    func(t *testing.T, ws *websocket.Conn)
		reason string
		err    error
	}{
		{
			name:   "close packet",
			act:    func(t *testing.T, ws *websocket.Conn) { wsWrite(t, ws, "1") },
			reason: ReasonTransportClose,
		},
		{
			name:   "close frame",
			act:    func(t *testing.T, ws *websocket.Conn) { ws.Close(websocket.CloseNormal, "bye") },
			reason: ReasonTransportClose,
		},
		{
			name:   "connection dropped",
			act:    func(t *testing.T, ws *websocket.Conn) { ws.NetConn().Close() },
			reason: ReasonTransportClose,
		},
		{
			name:   "invalid packet",
			act:    func(t *testing.T, ws *websocket.Conn) { wsWrite(t, ws, "x") },
			reason: ReasonParseError,
		},
		{
			name:   "empty packet",
			act:    func(t *testing.T, ws *websocket.Conn) { wsWrite(t, ws, "") },
			reason: ReasonParseError,
		},
		{
			name:   "invalid base64",
			act:    func(t *testing.T, ws *websocket.Conn) { wsWrite(t, ws, "b!!!") },
			reason: ReasonParseError,
		},
		{
			name:   "client ping",
			act:    func(t *testing.T, ws *websocket.Conn) { wsWrite(t, ws, "2") },
			reason: ReasonTransportError,
			err:    ErrHeartbeatDirection,
		},
		{
			name: "message too large",
			opts: &Options{MaxHTTPBufferSize: 100},
			act: func(t *testing.T, ws *websocket.Conn) {
				wsWrite(t, ws, "4"+strings.Repeat("x", 100))
			},
			reason: ReasonTransportError,
			err:    websocket.ErrMessageTooBig,
		},
		{
			name: "binary message too large",
			opts: &Options{MaxHTTPBufferSize: 100},
			act: func(t *testing.T, ws *websocket.Conn) {
				ws.WriteMessage(websocket.OpBinary, make([]byte, 101))
			},
			reason: ReasonTransportError,
			err:    websocket.ErrMessageTooBig,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts)
			ws, s, _ := e.dialSession()
			tt.act(t, ws)
			expectClose(t, s, tt.reason, tt.err)
			if n := e.srv.ClientsCount(); n != 0 {
				t.Errorf("ClientsCount() = %d", n)
			}
			if err := s.c.SendText([]byte("x")); err != ErrClosed {
				t.Errorf("Send after close: %v", err)
			}
			expectNone(t, s.msgs, 0, "message")
		})
	}
}

func TestWebSocketMessageAtLimit(t *testing.T) {
	e := newEnv(t, &Options{MaxHTTPBufferSize: 100})
	ws, s, _ := e.dialSession()
	wsWrite(t, ws, "4"+strings.Repeat("x", 99))
	if m := recv(t, s.msgs, "message"); len(m.data) != 99 {
		t.Errorf("message of %d bytes", len(m.data))
	}
	if err := ws.WriteMessage(websocket.OpBinary, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, s.msgs, "message"); len(m.data) != 100 || !m.binary {
		t.Errorf("binary message of %d bytes", len(m.data))
	}
}

func TestWebSocketPingTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &Options{PingInterval: 50 * time.Millisecond, PingTimeout: 80 * time.Millisecond})
	ws, s, _ := e.dialSession()
	start := time.Now()
	if _, p := wsRead(t, ws); p != "2" {
		t.Fatalf("got %q, want a ping", p)
	}
	expectClose(t, s, ReasonPingTimeout, nil)
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("closed after %v, want interval + timeout (130ms)", d)
	}
	var ce *websocket.CloseError
	if err := wsExpectClosed(t, ws); !errors.As(err, &ce) || ce.Code != websocket.CloseNormal {
		t.Errorf("client read error %v, want a normal close", err)
	}
}

func TestWebSocketPongKeepsAlive(t *testing.T) {
	t.Parallel()
	// A long timeout: the test is about pongs keeping the session, not
	// about how fast a loaded machine answers.
	e := newEnv(t, &Options{PingInterval: 50 * time.Millisecond, PingTimeout: time.Second})
	ws, s, _ := e.dialSession()
	// Four heartbeats answered: the session outlives several intervals
	// (wsRead bounds each wait).
	for range 4 {
		_, p := wsRead(t, ws)
		if p != "2" {
			t.Fatalf("got %q, want a ping", p)
		}
		wsWrite(t, ws, "3")
	}
	select {
	case c := <-s.closes:
		t.Fatalf("closed: %+v", c)
	default:
	}
	// An unsolicited pong changes nothing.
	wsWrite(t, ws, "3")
	wsWrite(t, ws, "4still")
	if m := recv(t, s.msgs, "message"); m.data != "still" {
		t.Errorf("got %+v", m)
	}
}

func TestWebSocketServerBinaryAndText(t *testing.T) {
	e := newEnv(t, nil)
	ws, s, _ := e.dialSession()
	payload := bytes.Repeat([]byte{7}, 70000) // a 64-bit length frame
	if err := s.c.Send(false, NewBinaryMessage(payload), NewTextMessage([]byte("t")),
		NewTextMessageInPlace(append(make([]byte, Headroom), "4inplace"...))); err != nil {
		t.Fatal(err)
	}
	if op, p := wsRead(t, ws); op != websocket.OpBinary || p != string(payload) {
		t.Errorf("binary: %v, %d bytes", op, len(p))
	}
	if op, p := wsRead(t, ws); op != websocket.OpText || p != "4t" {
		t.Errorf("text: %v %q", op, p)
	}
	if op, p := wsRead(t, ws); op != websocket.OpText || p != "4inplace" {
		t.Errorf("in place: %v %q", op, p)
	}
}

func TestWebSocketCloseInOnConnection(t *testing.T) {
	e := newEnvWith(t, nil, envConfig{onConn: func(s *session) { s.c.SendText([]byte("bye")); s.c.Close() }})
	ws, _, err := e.dial("EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, p := wsRead(t, ws)
	parseOpen(t, p)
	if _, p := wsRead(t, ws); p != "4bye" {
		t.Errorf("got %q", p)
	}
	expectWSClosedByServer(t, ws)
	expectClose(t, e.nextSession(), ReasonForcedClose, nil)
}
