package engineio

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/websocket"
)

func TestConnCloseWebSocketFlushes(t *testing.T) {
	e := newEnv(t, nil)
	ws, s, _ := e.dialSession()
	const n = 300
	for i := range n {
		if err := s.c.SendText([]byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	s.c.Close()
	s.c.Close() // idempotent
	if err := s.c.SendText([]byte("late")); err != ErrClosed {
		t.Errorf("Send after Close: %v, want ErrClosed", err)
	}
	for i := range n {
		if _, p := wsRead(t, ws); p != "4"+strconv.Itoa(i) {
			t.Fatalf("message %d: %q", i, p)
		}
	}
	expectWSClosedByServer(t, ws)
	expectClose(t, s, ReasonForcedClose, nil)
	if n := e.srv.ClientsCount(); n != 0 {
		t.Errorf("ClientsCount() = %d", n)
	}
}

func TestConnClosePolling(t *testing.T) {
	t.Run("next GET", func(t *testing.T) {
		e := newEnv(t, nil)
		sid, _, s := e.handshake()
		s.c.SendText([]byte("a"))
		s.c.SendText([]byte("b"))
		s.c.Close()
		if err := s.c.SendText([]byte("late")); err != ErrClosed {
			t.Errorf("Send after Close: %v, want ErrClosed", err)
		}
		// Still registered until the client has been told.
		if e.srv.Conn(sid) == nil {
			t.Errorf("session gone before the close packet was sent")
		}
		// Like Node, the queue goes out first and the close packet in the
		// next answer: a client acts on a close packet before the packets
		// that came with it.
		if got := e.poll(sid); strings.Join(got, "|") != "4a|4b" {
			t.Errorf("first GET %q, want the queue", got)
		}
		expectNone(t, s.closes, 0, "close")
		if got := e.poll(sid); len(got) != 1 || got[0] != "1" {
			t.Errorf("second GET %q, want a close packet", got)
		}
		expectClose(t, s, ReasonForcedClose, nil)
		resp, body := e.get("EIO=4&transport=polling&sid=" + sid)
		if resp.StatusCode != http.StatusBadRequest || body != jsonError(UnknownSID, "Session ID unknown") {
			t.Errorf("GET after close: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("pending GET", func(t *testing.T) {
		e := newEnv(t, nil)
		sid, _, s := e.handshake()
		ctx, cancel := context.WithTimeout(context.Background(), waitTime)
		defer cancel()
		pending := e.pollAsync(ctx, sid)
		waitPolling(t, s.c)
		s.c.Close()
		if r := recv(t, pending, "GET"); r.status != 200 || r.body != "1" {
			t.Errorf("pending GET %+v, want a close packet", r)
		}
		expectClose(t, s, ReasonForcedClose, nil)
	})
	t.Run("messages are not delivered while closing", func(t *testing.T) {
		e := newEnv(t, nil)
		sid, _, s := e.handshake()
		s.c.Close()
		e.post(sid, "4ignored")
		expectNone(t, s.msgs, 20*time.Millisecond, "message")
		e.poll(sid)
		expectClose(t, s, ReasonForcedClose, nil)
	})
}

// Closing while an upgrade is probed drops the probe WebSocket and ends
// the session over long-polling.
func TestConnCloseDuringUpgrade(t *testing.T) {
	e := newEnv(t, &Options{PingInterval: 10 * time.Second})
	sid, _, s := e.handshake()
	ws := e.probe(sid)
	s.c.SendText([]byte("last"))
	s.c.Close()
	expectWSClosedByServer(t, ws)
	if got := e.poll(sid); len(got) != 1 || got[0] != "4last" {
		t.Errorf("GET %q, want the message", got)
	}
	if got := e.poll(sid); len(got) != 1 || got[0] != "1" {
		t.Errorf("GET %q, want a close packet", got)
	}
	expectClose(t, s, ReasonForcedClose, nil)
}

// Closing after the upgrade, with messages queued, flushes them over the
// WebSocket.
func TestConnCloseAfterUpgrade(t *testing.T) {
	e := newEnv(t, &Options{PingInterval: 10 * time.Second})
	sid, _, s := e.handshake()
	ws := e.probe(sid)
	wsWrite(t, ws, "5")
	recv(t, s.upgrades, "upgrade")
	s.c.SendText([]byte("a"))
	s.c.SendText([]byte("b"))
	s.c.Close()
	for _, want := range []string{"4a", "4b"} {
		if _, p := wsRead(t, ws); p != want {
			t.Errorf("got %q, want %q", p, want)
		}
	}
	expectWSClosedByServer(t, ws)
	expectClose(t, s, ReasonForcedClose, nil)
}

func TestConnAbort(t *testing.T) {
	e := newEnv(t, nil)
	ws, s, _ := e.dialSession()
	cause := errors.New("mine")
	s.c.Abort(ReasonTransportError, cause)
	s.c.Abort(ReasonForcedClose, nil) // only the first counts
	c := recv(t, s.closes, "close")
	if c.reason != ReasonTransportError || c.err != cause {
		t.Errorf("close %+v", c)
	}
	expectNone(t, s.closes, 20*time.Millisecond, "second close")
	err := wsExpectClosed(t, ws)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseProtocolError {
		t.Errorf("read error %v, want close 1002", err)
	}
}

func TestServerClose(t *testing.T) {
	e := newEnv(t, nil)
	sid1, _, s1 := e.handshake()
	_, _, s2 := e.handshake()
	ws, s3, _ := e.dialSession()
	if n := e.srv.ClientsCount(); n != 3 {
		t.Fatalf("ClientsCount() = %d, want 3", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	pending := e.pollAsync(ctx, sid1)
	waitPolling(t, s1.c)

	e.srv.Close()
	for _, s := range []*session{s1, s2, s3} {
		expectClose(t, s, ReasonForcedClose, nil)
	}
	if n := e.srv.ClientsCount(); n != 0 {
		t.Errorf("ClientsCount() = %d after Close", n)
	}
	if r := recv(t, pending, "pending GET"); r.status != 200 || r.body != "1" {
		t.Errorf("pending GET %+v, want a close packet", r)
	}
	if _, _, err := wsReadErr(ws, waitTime); err == nil {
		t.Errorf("WebSocket still open")
	}
	// New sessions are refused.
	resp, body := e.get("EIO=4&transport=polling")
	if resp.StatusCode != http.StatusBadRequest || body != jsonError(BadRequest, "Server closed") {
		t.Errorf("handshake after Close: %d %s", resp.StatusCode, body)
	}
	ws2, _, err := e.dial("EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, p, err := wsReadErr(ws2, waitTime); err == nil {
		t.Errorf("WebSocket handshake after Close got %q", p)
	}
	if n := e.srv.ClientsCount(); n != 0 {
		t.Errorf("ClientsCount() = %d", n)
	}
}

func TestClientsCount(t *testing.T) {
	e := newEnv(t, nil)
	var sids []string
	var sessions []*session
	for i := range 4 {
		if i%2 == 0 {
			sid, _, s := e.handshake()
			sids, sessions = append(sids, sid), append(sessions, s)
		} else {
			_, s, _ := e.dialSession()
			sids, sessions = append(sids, s.c.ID()), append(sessions, s)
		}
		if n := e.srv.ClientsCount(); n != i+1 {
			t.Fatalf("ClientsCount() = %d, want %d", n, i+1)
		}
	}
	for i, s := range sessions {
		if e.srv.Conn(sids[i]) != s.c {
			t.Errorf("Conn(%q) is not the session", sids[i])
		}
		s.c.Abort(ReasonForcedClose, nil)
		recv(t, s.closes, "close")
		if n := e.srv.ClientsCount(); n != len(sessions)-i-1 {
			t.Errorf("ClientsCount() = %d, want %d", n, len(sessions)-i-1)
		}
		if e.srv.Conn(sids[i]) != nil {
			t.Errorf("Conn(%q) after close", sids[i])
		}
	}
}
