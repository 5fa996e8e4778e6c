package engineio

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/websocket"
)

// holdingListener's connections hold the server right after it wrote a
// "101 Switching Protocols" response (with the open packet), until release
// is closed.
type holdingListener struct {
	net.Listener
	release chan struct{}
}

func (l holdingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &holdingConn{Conn: c, release: l.release}, nil
}

type holdingConn struct {
	net.Conn
	release chan struct{}
}

func (c *holdingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if bytes.HasPrefix(p, []byte("HTTP/1.1 101 ")) {
		<-c.release
	}
	return n, err
}

// holdHandshakes returns an env whose WebSocket handshakes stop right
// after their response is written, and the function that lets them go on.
func holdHandshakes(t *testing.T, opts *Options) (*env, func()) {
	release := make(chan struct{})
	e := newEnvWith(t, opts, envConfig{echo: true, listener: func(l net.Listener) net.Listener { return holdingListener{l, release} }})
	var once sync.Once
	let := func() { once.Do(func() { close(release) }) }
	t.Cleanup(let) // before the env's cleanups
	return e, let
}

// A client may use its sid as soon as it has the open packet: the session
// is known by then, and a request on the wrong transport gets the usual
// transport mismatch, not "Session ID unknown".
func TestWebSocketSessionKnownWithOpenPacket(t *testing.T) {
	e, let := holdHandshakes(t, &Options{PingInterval: time.Hour})
	ws, _, err := e.dial("EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, p := wsRead(t, ws)
	sid := parseOpen(t, p).SID
	// The server is still writing the handshake response.
	if e.srv.Conn(sid) == nil {
		t.Error("Conn(sid) is nil once the open packet is out")
	}
	resp, body := e.get("EIO=4&transport=polling&sid=" + sid)
	if resp.StatusCode != http.StatusBadRequest || body != jsonError(BadRequest, "Bad request") {
		t.Errorf("GET with the new sid: %d %s, want a transport mismatch", resp.StatusCode, body)
	}
	let()
	s := e.nextSession()
	if s.c.ID() != sid {
		t.Fatalf("session %q, want %q", s.c.ID(), sid)
	}
	wsWrite(t, ws, "4hi")
	if _, p := wsRead(t, ws); p != "4hi" {
		t.Errorf("echo %q", p)
	}
}

// Server.Close during a WebSocket handshake: the session does not survive
// it, and is never half open (told to OnConnection but never closed).
func TestServerCloseDuringWebSocketHandshake(t *testing.T) {
	e, let := holdHandshakes(t, &Options{PingInterval: time.Hour})
	ws, _, err := e.dial("EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, p := wsRead(t, ws)
	parseOpen(t, p)
	closed := make(chan struct{})
	go func() {
		e.srv.Close()
		close(closed)
	}()
	recv(t, closed, "Server.Close") // does not wait for the handshake
	let()
	wsExpectClosed(t, ws)
	select {
	case s := <-e.conns:
		// Told of the session: then it must be closed, too.
		expectClose(t, s, ReasonForcedClose, nil)
	default:
	}
	waitFor(t, "no session", func() bool { return e.srv.ClientsCount() == 0 })
}

// Server.Close while OnConnection runs (before it has set the callbacks):
// the session's close callback still runs, once OnConnection is done.
func TestServerCloseDuringOnConnection(t *testing.T) {
	for _, transport := range []string{Polling, WebSocket} {
		t.Run(transport, func(t *testing.T) {
			srv := NewServer(&Options{PingInterval: time.Hour})
			entered := make(chan *Conn, 1)
			proceed := make(chan struct{})
			closes := make(chan string, 1)
			srv.OnConnection(func(c *Conn) {
				entered <- c
				<-proceed
				c.OnClose(func(reason string, _ error) { closes <- reason })
			})
			ts := httptest.NewServer(srv)
			hc := &http.Client{Timeout: waitTime}
			t.Cleanup(hc.CloseIdleConnections)
			t.Cleanup(ts.Close)
			t.Cleanup(srv.Close)
			done := make(chan struct{})
			if transport == Polling {
				go func() {
					defer close(done)
					if resp, err := hc.Get(ts.URL + "/engine.io/?EIO=4&transport=polling"); err == nil {
						resp.Body.Close()
					}
				}()
			} else {
				ctx, cancel := context.WithTimeout(context.Background(), waitTime)
				defer cancel()
				ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/engine.io/?EIO=4&transport=websocket", nil)
				if err != nil {
					t.Fatal(err)
				}
				defer ws.Close(websocket.CloseNormal, "")
				close(done)
			}
			recv(t, entered, "OnConnection")
			srv.Close()
			close(proceed)
			if r := recv(t, closes, "close callback"); r != ReasonForcedClose {
				t.Errorf("reason %q", r)
			}
			recv(t, done, "handshake")
			if n := srv.ClientsCount(); n != 0 {
				t.Errorf("%d sessions left", n)
			}
		})
	}
}
