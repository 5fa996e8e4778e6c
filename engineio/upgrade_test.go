package engineio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/websocket"
)

// probe opens a WebSocket for sid and runs the probe exchange.
func (e *env) probe(sid string) *websocket.Conn {
	e.t.Helper()
	ws, _, err := e.dial("EIO=4&transport=websocket&sid="+sid, nil)
	if err != nil {
		e.t.Fatalf("upgrade dial: %v", err)
	}
	wsWrite(e.t, ws, "2probe")
	if _, p := wsRead(e.t, ws); p != "3probe" {
		e.t.Fatalf("probe answer %q", p)
	}
	return ws
}

// expectWSClosedByServer checks that the server closes ws normally,
// without sending any message.
func expectWSClosedByServer(t *testing.T, ws *websocket.Conn) {
	t.Helper()
	err := wsExpectClosed(t, ws)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseNormal {
		t.Errorf("read error %v, want a normal close frame", err)
	}
}

func TestUpgradeProbeFlow(t *testing.T) {
	e := newEnv(t, nil)
	sid, _, s := e.handshake()
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	pending := e.pollAsync(ctx, sid)
	waitPolling(t, s.c)

	ws := e.probe(sid)
	// The probe answer ends the waiting GET with a noop, so that the
	// client can pause long-polling.
	if r := recv(t, pending, "pending GET"); r.err != nil || r.status != 200 || r.body != "6" {
		t.Fatalf("pending GET: %+v, want noop", r)
	}
	if tr := s.c.Transport(); tr != Polling {
		t.Errorf("Transport() = %q before the upgrade packet", tr)
	}
	wsWrite(t, ws, "5")
	if tr := recv(t, s.upgrades, "upgrade"); tr != WebSocket {
		t.Errorf("OnUpgrade(%q)", tr)
	}
	if tr := s.c.Transport(); tr != WebSocket {
		t.Errorf("Transport() = %q after the upgrade", tr)
	}

	s.c.SendText([]byte("over ws"))
	if _, p := wsRead(t, ws); p != "4over ws" {
		t.Errorf("got %q", p)
	}
	wsWrite(t, ws, "4from client")
	if m := recv(t, s.msgs, "message"); m.data != "from client" {
		t.Errorf("got %+v", m)
	}

	// Long-polling is over for this session.
	resp, body := e.get("EIO=4&transport=polling&sid=" + sid)
	if resp.StatusCode != http.StatusBadRequest || body != jsonError(BadRequest, "Bad request") {
		t.Errorf("GET after upgrade: %d %s", resp.StatusCode, body)
	}
	resp, body = e.post(sid, "4x")
	if resp.StatusCode != http.StatusBadRequest || body != jsonError(BadRequest, "Bad request") {
		t.Errorf("POST after upgrade: %d %s", resp.StatusCode, body)
	}
	expectNone(t, s.msgs, 20*time.Millisecond, "message")
	if e.srv.Conn(sid) == nil {
		t.Errorf("session closed by a stray polling request")
	}

	// A second WebSocket for the upgraded session is closed at once.
	ws2, _, err := e.dial("EIO=4&transport=websocket&sid="+sid, nil)
	if err != nil {
		t.Fatal(err)
	}
	expectWSClosedByServer(t, ws2)

	// The session still works, and closing the WebSocket ends it.
	s.c.SendText([]byte("still"))
	if _, p := wsRead(t, ws); p != "4still" {
		t.Errorf("got %q", p)
	}
	ws.Close(websocket.CloseNormal, "")
	expectClose(t, s, ReasonTransportClose, nil)
}

// Messages sent while the transport changes reach the client exactly once
// and in order, some in long-polling responses and the rest over the
// WebSocket. The client behaves like the JavaScript one: it polls until
// the probe is answered, waits for the poll in flight, then sends the
// upgrade packet.
func TestUpgradeDeliversEveryMessageOnceInOrder(t *testing.T) {
	const n = 200
	type start int
	const (
		beforeDial start = iota
		afterProbe
		beforeUpgradePacket
	)
	tests := []struct {
		name  string
		start start
		every int // sleep after every this many messages (0: never)
		sleep time.Duration
	}{
		{"paced from before the upgrade", beforeDial, 10, time.Millisecond},
		{"trickle from before the upgrade", beforeDial, 1, 100 * time.Microsecond},
		{"burst after the probe", afterProbe, 0, 0},
		{"paced after the probe", afterProbe, 20, 500 * time.Microsecond},
		{"burst before the upgrade packet", beforeUpgradePacket, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, &Options{PingInterval: 10 * time.Second})
			sid, _, s := e.handshake()
			ctx, cancel := context.WithTimeout(context.Background(), waitTime)
			defer cancel()

			sent := make(chan error, 1)
			startSending := func() {
				go func() {
					for i := range n {
						if err := s.c.SendText([]byte(strconv.Itoa(i))); err != nil {
							sent <- fmt.Errorf("Send %d: %w", i, err)
							return
						}
						if tt.every > 0 && i%tt.every == tt.every-1 {
							time.Sleep(tt.sleep)
						}
					}
					sent <- nil
				}()
			}

			type polled struct {
				got []string
				err error
			}
			var pause atomic.Bool
			pollDone := make(chan polled, 1)
			go func() {
				var got []string
				for !pause.Load() {
					resp, body, err := e.do(ctx, http.MethodGet, "EIO=4&transport=polling&sid="+sid, nil, nil)
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("GET: %d %s", resp.StatusCode, body)
					}
					if err != nil {
						pollDone <- polled{got, err}
						return
					}
					for _, p := range strings.Split(body, "\x1e") {
						switch {
						case p == "6":
						case strings.HasPrefix(p, "4"):
							got = append(got, p[1:])
						default:
							pollDone <- polled{got, fmt.Errorf("unexpected packet %q", p)}
							return
						}
					}
				}
				pollDone <- polled{got, nil}
			}()

			if tt.start == beforeDial {
				startSending()
			}
			ws := e.probe(sid)
			if tt.start == afterProbe {
				startSending()
			}
			pause.Store(true)
			p := recv(t, pollDone, "end of long-polling")
			if p.err != nil {
				t.Fatal(p.err)
			}
			if tt.start == beforeUpgradePacket {
				startSending()
			}
			wsWrite(t, ws, "5")
			got := p.got
			for len(got) < n {
				_, m := wsRead(t, ws)
				if !strings.HasPrefix(m, "4") {
					t.Fatalf("unexpected packet %q over WebSocket", m)
				}
				got = append(got, m[1:])
			}
			if err := recv(t, sent, "end of sending"); err != nil {
				t.Fatal(err)
			}
			for i, m := range got {
				if m != strconv.Itoa(i) {
					t.Fatalf("message %d is %q (polling delivered %d): %q", i, m, len(p.got), got)
				}
			}
			if _, m, err := wsReadErr(ws, 20*time.Millisecond); err == nil {
				t.Errorf("extra message %q", m)
			}
			if tr := recv(t, s.upgrades, "upgrade"); tr != WebSocket {
				t.Errorf("OnUpgrade(%q)", tr)
			}
			t.Logf("%d messages over long-polling, %d over WebSocket", len(p.got), n-len(p.got))
		})
	}
}

func TestUpgradeTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &Options{UpgradeTimeout: 100 * time.Millisecond, PingInterval: 10 * time.Second})
	sid, _, s := e.handshake()
	start := time.Now()
	ws := e.probe(sid)
	expectWSClosedByServer(t, ws)
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Errorf("probe WebSocket closed after %v, want the upgrade timeout", d)
	}
	expectNone(t, s.upgrades, 0, "upgrade")

	// The session goes on over long-polling, and a GET waits again (the
	// probe no longer ends it with a noop).
	if tr := s.c.Transport(); tr != Polling {
		t.Fatalf("Transport() = %q", tr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	pending := e.pollAsync(ctx, sid)
	waitPolling(t, s.c)
	expectNone(t, pending, 80*time.Millisecond, "GET answer")
	s.c.SendText([]byte("after"))
	if r := recv(t, pending, "GET"); r.body != "4after" {
		t.Errorf("GET %+v", r)
	}
	e.post(sid, "4hi")
	if m := recv(t, s.msgs, "message"); m.data != "hi" {
		t.Errorf("got %+v", m)
	}

	// A later upgrade succeeds.
	ws = e.probe(sid)
	wsWrite(t, ws, "5")
	if tr := recv(t, s.upgrades, "upgrade"); tr != WebSocket {
		t.Errorf("OnUpgrade(%q)", tr)
	}
	s.c.SendText([]byte("ws"))
	if _, p := wsRead(t, ws); p != "4ws" {
		t.Errorf("got %q", p)
	}
}

// Anything but the probe and upgrade packets, or the probe WebSocket going
// away, aborts the upgrade; the session stays on long-polling.
func TestUpgradeAborted(t *testing.T) {
	tests := []struct {
		name     string
		act      func(t *testing.T, ws *websocket.Conn)
		probeFst bool
	}{
		{"message before probe", func(t *testing.T, ws *websocket.Conn) { wsWrite(t, ws, "4x") }, false},
		{"message after probe", func(t *testing.T, ws *websocket.Conn) { wsWrite(t, ws, "4x") }, true},
		{"invalid packet", func(t *testing.T, ws *websocket.Conn) { wsWrite(t, ws, "zz") }, true},
		{"closed by client", func(t *testing.T, ws *websocket.Conn) { ws.Close(websocket.CloseNormal, "") }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, &Options{PingInterval: 10 * time.Second})
			sid, _, s := e.handshake()
			var ws *websocket.Conn
			if tt.probeFst {
				ws = e.probe(sid)
			} else {
				var err error
				if ws, _, err = e.dial("EIO=4&transport=websocket&sid="+sid, nil); err != nil {
					t.Fatal(err)
				}
			}
			tt.act(t, ws)
			waitFor(t, "upgrade aborted", func() bool {
				s.c.mu.Lock()
				defer s.c.mu.Unlock()
				return !s.c.upgrading
			})
			expectNone(t, s.msgs, 0, "message")
			if tr := s.c.Transport(); tr != Polling {
				t.Fatalf("Transport() = %q", tr)
			}
			s.c.SendText([]byte("still"))
			if got := e.poll(sid); len(got) != 1 || got[0] != "4still" {
				t.Errorf("GET %q", got)
			}
			if e.srv.Conn(sid) == nil {
				t.Errorf("session closed")
			}
		})
	}
}

func TestUpgradeSecondWebSocketWhileUpgrading(t *testing.T) {
	e := newEnv(t, &Options{PingInterval: 10 * time.Second})
	sid, _, s := e.handshake()
	ws := e.probe(sid)
	ws2, _, err := e.dial("EIO=4&transport=websocket&sid="+sid, nil)
	if err != nil {
		t.Fatal(err)
	}
	expectWSClosedByServer(t, ws2)
	// The first one completes the upgrade.
	wsWrite(t, ws, "5")
	recv(t, s.upgrades, "upgrade")
	s.c.SendText([]byte("x"))
	if _, p := wsRead(t, ws); p != "4x" {
		t.Errorf("got %q", p)
	}
}

func TestUpgradeDisabled(t *testing.T) {
	e := newEnv(t, &Options{DisableUpgrades: true, PingInterval: 10 * time.Second})
	sid, _, s := e.handshake()
	ws, _, err := e.dial("EIO=4&transport=websocket&sid="+sid, nil)
	if err != nil {
		t.Fatal(err)
	}
	expectWSClosedByServer(t, ws)
	s.c.SendText([]byte("x"))
	if got := e.poll(sid); len(got) != 1 || got[0] != "4x" {
		t.Errorf("GET %q", got)
	}
}

// A WebSocket-only session cannot be "upgraded" to a second WebSocket.
func TestUpgradeOfWebSocketSession(t *testing.T) {
	e := newEnv(t, nil)
	ws, s, _ := e.dialSession()
	ws2, _, err := e.dial("EIO=4&transport=websocket&sid="+s.c.ID(), nil)
	if err != nil {
		t.Fatal(err)
	}
	expectWSClosedByServer(t, ws2)
	s.c.SendText([]byte("x"))
	if _, p := wsRead(t, ws); p != "4x" {
		t.Errorf("got %q", p)
	}
}

// Pings sent while an upgrade is probed go over long-polling; once
// upgraded, they go over the WebSocket and pongs on it keep the session.
func TestUpgradeHeartbeat(t *testing.T) {
	t.Parallel()
	// The timeout leaves room for a loaded machine between a ping and its
	// pong over long-polling; the pings after the upgrade go on for longer
	// than it, so that pongs the WebSocket did not count would end the
	// session.
	const pingTimeout = 500 * time.Millisecond
	e := newEnv(t, &Options{PingInterval: 60 * time.Millisecond, PingTimeout: pingTimeout})
	sid, _, s := e.handshake()
	ws := e.probe(sid)
	// The probe answer makes GETs end with a noop; the first ping comes
	// after it.
	var packets []string
	for len(packets) == 0 || packets[len(packets)-1] != "2" {
		packets = append(packets, e.poll(sid)...)
	}
	e.post(sid, "3")
	wsWrite(t, ws, "5")
	recv(t, s.upgrades, "upgrade")
	for start := time.Now(); time.Since(start) < pingTimeout*3/2; {
		if _, p := wsRead(t, ws); p != "2" {
			t.Fatalf("got %q, want a ping", p)
		}
		wsWrite(t, ws, "3")
	}
	if e.srv.Conn(sid) == nil {
		t.Fatal("session closed")
	}
}

// An upgrade request that fails WebSocket validation is answered with the
// WebSocket library's error and leaves the session able to upgrade later.
func TestUpgradeInvalidHandshake(t *testing.T) {
	e := newEnv(t, &Options{PingInterval: 10 * time.Second})
	sid, _, s := e.handshake()
	hdr := http.Header{
		"Connection":            {"Upgrade"},
		"Upgrade":               {"websocket"},
		"Sec-Websocket-Version": {"8"},
		"Sec-Websocket-Key":     {"dGhlIHNhbXBsZSBub25jZQ=="},
	}
	resp, _ := e.mustDo(http.MethodGet, "EIO=4&transport=websocket&sid="+sid, nil, hdr)
	if resp.StatusCode != http.StatusUpgradeRequired || resp.Header.Get("Sec-Websocket-Version") != "13" {
		t.Errorf("bad version: %d, Sec-WebSocket-Version %q", resp.StatusCode, resp.Header.Get("Sec-Websocket-Version"))
	}
	hdr.Set("Sec-Websocket-Version", "13")
	hdr.Set("Sec-Websocket-Key", "short")
	resp, _ = e.mustDo(http.MethodGet, "EIO=4&transport=websocket&sid="+sid, nil, hdr)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad key: %d", resp.StatusCode)
	}
	s.c.mu.Lock()
	upgrading := s.c.upgrading
	s.c.mu.Unlock()
	if upgrading {
		t.Fatal("session left upgrading")
	}
	ws := e.probe(sid)
	wsWrite(t, ws, "5")
	if tr := recv(t, s.upgrades, "upgrade"); tr != WebSocket {
		t.Errorf("OnUpgrade(%q)", tr)
	}
}
