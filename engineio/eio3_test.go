package engineio

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/socketio-go/socketio/eioparser"
	"github.com/socketio-go/socketio/internal/websocket"
)

// v3Handshake opens a v3 long-polling session with the extra query and
// returns its id, the response body and the server side.
func (e *env) v3Handshake(extra string) (string, string, *session) {
	e.t.Helper()
	resp, body := e.get("EIO=3&transport=polling" + extra)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("v3 handshake: %d %s", resp.StatusCode, body)
	}
	s := e.nextSession()
	return s.c.ID(), body, s
}

// v3Packets splits a v3 text payload, checking every length.
func v3Packets(t testing.TB, body string) []string {
	t.Helper()
	packets, err := eioparser.DecodePayloadV3([]byte(body), 0)
	if err != nil {
		t.Fatalf("payload %q: %v", body, err)
	}
	out := make([]string, len(packets))
	for i, p := range packets {
		if p.Binary {
			out[i] = fmt.Sprintf("binary %d %x", p.Type, p.Data)
		} else {
			out[i] = string(p.Type.Char()) + string(p.Data)
		}
	}
	return out
}

func (e *env) v3Poll(sid string) (*http.Response, string) {
	e.t.Helper()
	return e.get("EIO=3&transport=polling&sid=" + sid)
}

func (e *env) v3Post(sid, contentType, body string) (*http.Response, string) {
	e.t.Helper()
	return e.mustDo(http.MethodPost, "EIO=3&transport=polling&sid="+sid, strings.NewReader(body), http.Header{"Content-Type": {contentType}})
}

func TestEIO3RefusedByDefault(t *testing.T) {
	e := newEnv(t, nil)
	for _, q := range []string{"EIO=3&transport=polling", "transport=polling", "EIO=5&transport=polling"} {
		resp, body := e.get(q)
		if resp.StatusCode != http.StatusBadRequest || body != jsonError(UnsupportedProtocolVersion, "Unsupported protocol version") {
			t.Errorf("%s: %d %s", q, resp.StatusCode, body)
		}
	}
}

func TestEIO3PollingHandshake(t *testing.T) {
	e := newEnv(t, &Options{AllowEIO3: true, PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond})
	for _, q := range []string{"EIO=3&transport=polling", "transport=polling", "EIO=2&transport=polling"} {
		resp, body := e.get(q)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", q, resp.StatusCode, body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
			t.Errorf("%s: Content-Type %q", q, ct)
		}
		s := e.nextSession()
		if s.c.Protocol() != 3 {
			t.Errorf("%s: Protocol() = %d", q, s.c.Protocol())
		}
		want := fmt.Sprintf(`0{"sid":"%s","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`, s.c.ID())
		if body != strconv.Itoa(len(want))+":"+want {
			t.Errorf("%s: open payload %q, want %q", q, body, want)
		}
	}
	// v4 sessions are still v4.
	_, _, s := e.handshake()
	if s.c.Protocol() != 4 {
		t.Errorf("v4 session: Protocol() = %d", s.c.Protocol())
	}
}

// The handshake answers with the open packet alone, as Node does: the
// initial packet and what OnConnection sent come with the next poll.
func TestEIO3HandshakeOpenAlone(t *testing.T) {
	e := newEnvWith(t, &Options{AllowEIO3: true, InitialPacket: []byte("init")}, envConfig{onConn: func(s *session) {
		_ = s.c.SendText([]byte("hello"))
	}})
	sid, body, s := e.v3Handshake("")
	if p := v3Packets(t, body); len(p) != 1 || p[0][0] != '0' {
		t.Errorf("handshake answer %q, want the open packet alone", body)
	}
	if _, body := e.v3Poll(sid); body != "5:4init6:4hello" {
		t.Errorf("next poll %q", body)
	}
	_ = s
}

func TestEIO3PollingMessages(t *testing.T) {
	e := newEnvWith(t, &Options{AllowEIO3: true}, envConfig{echo: true})
	sid, _, s := e.v3Handshake("")
	// Lengths count UTF-16 code units: "é" is one, "😀" two.
	resp, body := e.v3Post(sid, "text/plain;charset=UTF-8", "6:4hello4:4é😀2:4x")
	if resp.StatusCode != http.StatusOK || body != "ok" {
		t.Fatalf("post: %d %q", resp.StatusCode, body)
	}
	for _, want := range []string{"hello", "é😀", "x"} {
		if m := recv(t, s.msgs, "message"); m.data != want || m.binary {
			t.Errorf("message %+v, want %q", m, want)
		}
	}
	resp, body = e.v3Poll(sid)
	if resp.StatusCode != http.StatusOK || body != "6:4hello4:4é😀2:4x" {
		t.Errorf("poll: %d %q", resp.StatusCode, body)
	}
}

func TestEIO3PollingBinary(t *testing.T) {
	e := newEnvWith(t, &Options{AllowEIO3: true}, envConfig{echo: true})

	// XHR2 client: binary payloads both ways.
	sid, _, s := e.v3Handshake("")
	resp, body := e.v3Post(sid, "application/octet-stream", "\x01\x04\xff\x04\x01\x02\x03\x00\x03\xff4hi")
	if resp.StatusCode != http.StatusOK || body != "ok" {
		t.Fatalf("binary post: %d %q", resp.StatusCode, body)
	}
	if m := recv(t, s.msgs, "message"); m.data != "\x01\x02\x03" || !m.binary {
		t.Errorf("binary message %+v", m)
	}
	if m := recv(t, s.msgs, "message"); m.data != "hi" || m.binary {
		t.Errorf("text message %+v", m)
	}
	resp, body = e.v3Poll(sid)
	if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	if want := "\x01\x04\xff\x04\x01\x02\x03\x00\x03\xff4hi"; body != want {
		t.Errorf("binary payload %q, want %q", body, want)
	}
	// Text only: a text payload, even for an XHR2 client.
	_ = s.c.SendText([]byte("t"))
	if _, body = e.v3Poll(sid); body != "2:4t" {
		t.Errorf("text payload %q", body)
	}

	// A client that asked for base64: "b4" + base64, both ways.
	sid, _, s = e.v3Handshake("&b64=1")
	resp, body = e.v3Post(sid, "text/plain;charset=UTF-8", "6:b4AQID")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("base64 post: %d %q", resp.StatusCode, body)
	}
	if m := recv(t, s.msgs, "message"); m.data != "\x01\x02\x03" || !m.binary {
		t.Errorf("base64 message %+v", m)
	}
	resp, body = e.v3Poll(sid)
	if ct := resp.Header.Get("Content-Type"); body != "6:b4AQID" || ct != "text/plain; charset=UTF-8" {
		t.Errorf("base64 payload %q (%s)", body, ct)
	}
}

func TestEIO3Heartbeat(t *testing.T) {
	// The client pings; the server answers and never pings itself.
	e := newEnv(t, &Options{AllowEIO3: true, PingInterval: time.Second, PingTimeout: time.Second})
	sid, _, s := e.v3Handshake("")
	resp, body := e.v3Post(sid, "text/plain;charset=UTF-8", "1:2")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ping: %d %s", resp.StatusCode, body)
	}
	if _, body = e.v3Poll(sid); body != "1:3" {
		t.Errorf("pong %q, want 1:3", body)
	}
	// Pings every 100 ms keep the session past PingInterval + PingTimeout
	// (2 s) without a single server ping.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	polls := make(chan string, 100)
	go func() {
		for ctx.Err() == nil {
			_, b, err := e.do(ctx, http.MethodGet, "EIO=3&transport=polling&sid="+sid, nil, nil)
			if err != nil {
				return
			}
			polls <- b
		}
	}()
	for start := time.Now(); time.Since(start) < 2500*time.Millisecond; {
		e.v3Post(sid, "text/plain;charset=UTF-8", "1:2")
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case c := <-s.closes:
		t.Fatalf("session closed while the client pinged: %+v", c)
	default:
	}
	cancel()
	close(polls)
	for b := range polls {
		for _, p := range v3Packets(t, b) {
			if p != "3" {
				t.Errorf("server sent %q, want only pongs", p)
			}
		}
	}
}

func TestEIO3PingTimeout(t *testing.T) {
	e := newEnv(t, &Options{AllowEIO3: true, PingInterval: 50 * time.Millisecond, PingTimeout: 50 * time.Millisecond})
	_, _, s := e.v3Handshake("")
	expectClose(t, s, ReasonPingTimeout, nil)
}

func TestEIO3PongRefused(t *testing.T) {
	e := newEnv(t, &Options{AllowEIO3: true})
	sid, _, s := e.v3Handshake("")
	e.v3Post(sid, "text/plain;charset=UTF-8", "1:3")
	expectClose(t, s, ReasonTransportError, ErrHeartbeatDirection)
}

func TestEIO3ProtocolMismatch(t *testing.T) {
	e := newEnv(t, &Options{AllowEIO3: true})
	sid, _, _ := e.v3Handshake("")
	resp, body := e.get("EIO=4&transport=polling&sid=" + sid)
	if resp.StatusCode != http.StatusBadRequest || body != jsonError(BadRequest, "Bad request") {
		t.Errorf("v4 request on a v3 session: %d %s", resp.StatusCode, body)
	}
	if re := recv(t, e.errs, "request error"); re.Context != "PROTOCOL_MISMATCH" {
		t.Errorf("context %q", re.Context)
	}
	sid4, _, _ := e.handshake()
	resp, body = e.get("EIO=3&transport=polling&sid=" + sid4)
	if resp.StatusCode != http.StatusBadRequest || body != jsonError(BadRequest, "Bad request") {
		t.Errorf("v3 request on a v4 session: %d %s", resp.StatusCode, body)
	}
}

func TestEIO3BadPayloads(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		messages                []string // delivered before the end
		parseError              bool
	}{
		{name: "wrong length", body: "7:4hello", parseError: true},
		{name: "short length", body: "5:4hello", messages: []string{"hell"}, parseError: true},
		{name: "length not a number", body: "x:4hi", parseError: true},
		{name: "no colon", body: "3:4hi4", messages: []string{"hi"}, parseError: true},
		{name: "unknown packet type", body: "2:4a1:9", messages: []string{"a"}, parseError: true},
		{name: "empty body", body: "", parseError: true},
		{name: "lenient length", body: " 0x3:4hi", messages: []string{"hi"}},
		{name: "empty packet", body: "0:3:4hi", messages: []string{"hi"}},
		{name: "bad base64 decodes leniently", body: "6:b4A!QI", messages: []string{"\x01\x02"}},
		{name: "unknown base64 type ignored", body: "6:b9AQID3:4ok", messages: []string{"ok"}},
		{name: "close ends the reading", body: "1:1garbage", parseError: false},
		{name: "binary length overrun", contentType: "application/octet-stream", body: "\x00" + strings.Repeat("\x09", 400) + "\xff4", parseError: true},
		{name: "binary invalid utf-8", contentType: "application/octet-stream", body: "\x00\x02\xff4\xe9", parseError: true},
		{name: "binary length past the end", contentType: "application/octet-stream", body: "\x01\x09\xff\x04\x01", messages: []string{"\x01"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, &Options{AllowEIO3: true})
			sid, _, s := e.v3Handshake("")
			ct := tt.contentType
			if ct == "" {
				ct = "text/plain;charset=UTF-8"
			}
			resp, body := e.v3Post(sid, ct, tt.body)
			for _, want := range tt.messages {
				if m := recv(t, s.msgs, "message"); m.data != want {
					t.Errorf("message %q, want %q", m.data, want)
				}
			}
			// Node answers "ok" whatever the payload.
			if resp.StatusCode != http.StatusOK || body != "ok" {
				t.Errorf("answer %d %q, want ok", resp.StatusCode, body)
			}
			if tt.parseError {
				expectClose(t, s, ReasonParseError, nil)
				return
			}
			if tt.name == "close ends the reading" {
				expectClose(t, s, ReasonTransportClose, nil)
			}
		})
	}
}

func TestEIO3Oversize(t *testing.T) {
	e := newEnv(t, &Options{AllowEIO3: true, MaxHTTPBufferSize: 100})
	sid, _, _ := e.v3Handshake("")
	for _, ct := range []string{"text/plain;charset=UTF-8", "application/octet-stream"} {
		resp, _ := e.v3Post(sid, ct, "101:4"+strings.Repeat("a", 100))
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: %d, want 413", ct, resp.StatusCode)
		}
	}
}

func TestEIO3WebSocket(t *testing.T) {
	e := newEnvWith(t, &Options{AllowEIO3: true}, envConfig{echo: true})
	ws, _, err := e.dial("EIO=3&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, p := wsRead(t, ws)
	o := parseOpen(t, p)
	s := e.nextSession()
	if s.c.Protocol() != 3 || len(o.Upgrades) != 0 {
		t.Fatalf("protocol %d, open %+v", s.c.Protocol(), o)
	}
	// Binary frames start with the type byte 4, both ways.
	if err := ws.WriteMessage(websocket.OpBinary, []byte{4, 1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, s.msgs, "message"); m.data != "\x01\x02\x03" || !m.binary {
		t.Errorf("message %+v", m)
	}
	if op, p := wsRead(t, ws); op != websocket.OpBinary || p != "\x04\x01\x02\x03" {
		t.Errorf("echo: %v %q", op, p)
	}
	wsWrite(t, ws, "4text")
	if m := recv(t, s.msgs, "message"); m.data != "text" || m.binary {
		t.Errorf("message %+v", m)
	}
	if op, p := wsRead(t, ws); op != websocket.OpText || p != "4text" {
		t.Errorf("text echo: %v %q", op, p)
	}
	wsWrite(t, ws, "2")
	if _, p := wsRead(t, ws); p != "3" {
		t.Errorf("pong %q", p)
	}
	// A base64 packet is binary data too.
	wsWrite(t, ws, "b4AQID")
	if m := recv(t, s.msgs, "message"); m.data != "\x01\x02\x03" || !m.binary {
		t.Errorf("base64 message %+v", m)
	}
	_, _ = wsRead(t, ws)

	// A client that asked for base64 gets "b4" + base64 text frames.
	ws2, _, err := e.dial("EIO=3&transport=websocket&b64=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	wsRead(t, ws2)
	s2 := e.nextSession()
	_ = s2.c.SendBinary([]byte{1, 2, 3})
	if op, p := wsRead(t, ws2); op != websocket.OpText || p != "b4AQID" {
		t.Errorf("base64 frame: %v %q", op, p)
	}
}

func TestEIO3Upgrade(t *testing.T) {
	e := newEnv(t, &Options{AllowEIO3: true})
	sid, _, s := e.v3Handshake("&b64=1")
	ws, _, err := e.dial("EIO=3&transport=websocket&sid="+sid, nil)
	if err != nil {
		t.Fatal(err)
	}
	wsWrite(t, ws, "2probe")
	if _, p := wsRead(t, ws); p != "3probe" {
		t.Fatalf("probe answer %q", p)
	}
	if _, body := e.v3Poll(sid); body != "1:6" {
		t.Errorf("poll during the upgrade: %q, want the noop 1:6", body)
	}
	wsWrite(t, ws, "5")
	if tr := recv(t, s.upgrades, "upgrade"); tr != WebSocket {
		t.Fatalf("upgraded to %q", tr)
	}
	// Polling asked for base64, the WebSocket did not: binary frames.
	_ = s.c.SendBinary([]byte{7})
	if op, p := wsRead(t, ws); op != websocket.OpBinary || p != "\x04\x07" {
		t.Errorf("after the upgrade: %v %q", op, p)
	}
	wsWrite(t, ws, "2")
	if _, p := wsRead(t, ws); p != "3" {
		t.Errorf("pong %q", p)
	}
}

func TestEIO3JSONP(t *testing.T) {
	e := newEnvWith(t, &Options{AllowEIO3: true}, envConfig{echo: true})
	resp, body := e.get("EIO=3&transport=polling&j=4")
	s := e.nextSession()
	open := fmt.Sprintf(`0{"sid":"%s","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`, s.c.ID())
	payload := strconv.Itoa(len(open)) + ":" + open
	if want := "___eio[4](" + strconv.Quote(payload) + ");"; body != want {
		t.Errorf("JSONP handshake %q, want %q", body, want)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		t.Errorf("Content-Type %q", ct)
	}
	sid := s.c.ID()
	form := url.Values{"d": {`7:4a\nb\\nc`}}.Encode()
	resp, body = e.mustDo(http.MethodPost, "EIO=3&transport=polling&j=4&sid="+sid, strings.NewReader(form), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	if resp.StatusCode != http.StatusOK || body != "ok" {
		t.Fatalf("post: %d %q", resp.StatusCode, body)
	}
	if m := recv(t, s.msgs, "message"); m.data != "a\nb\\nc" {
		t.Errorf("message %q", m.data)
	}
	_ = s.c.SendBinary([]byte{1, 2, 3})
	_, body = e.get("EIO=3&transport=polling&j=4&sid=" + sid)
	if want := `___eio[4]("7:4a\nb\\nc6:b4AQID");`; body != want {
		t.Errorf("JSONP poll %q, want %q", body, want)
	}
	// A form without d is ignored.
	resp, body = e.mustDo(http.MethodPost, "EIO=3&transport=polling&j=4&sid="+sid, strings.NewReader("x=1"), nil)
	if resp.StatusCode != http.StatusOK || body != "ok" {
		t.Errorf("post without d: %d %q", resp.StatusCode, body)
	}
	expectNone(t, s.msgs, 50*time.Millisecond, "message")
}

// A binary message broadcast to v3 WebSockets is framed for v3 once.
func TestEIO3FrameSharedAndSizes(t *testing.T) {
	e := newEnv(t, &Options{AllowEIO3: true})
	var wss []*websocket.Conn
	var sessions []*session
	for range 3 {
		ws, _, err := e.dial("EIO=3&transport=websocket", nil)
		if err != nil {
			t.Fatal(err)
		}
		wsRead(t, ws)
		wss = append(wss, ws)
		sessions = append(sessions, e.nextSession())
	}
	m := NewBinaryMessage([]byte("data"))
	for _, s := range sessions {
		if err := s.c.Send(false, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, ws := range wss {
		if op, p := wsRead(t, ws); op != websocket.OpBinary || p != "\x04data" {
			t.Errorf("frame %v %q", op, p)
		}
	}
	v := m.v3.Load()
	if v == nil || m.v3Binary() != v || !bytes.Equal(v.payload(), []byte("\x04data")) {
		t.Errorf("v3 frame not made once: %v", v)
	}
	if n := unsafe.Sizeof(Message{}); n > 64 {
		t.Errorf("Message is %d bytes, over 64", n)
	}
}
