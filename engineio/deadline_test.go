package engineio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
	"unsafe"
)

// handlerExits wraps the server's handler to report each return of a
// request of the given method for an existing session.
func handlerExits(method string, ch chan<- struct{}) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r)
			if r.Method == method && r.URL.Query().Get("sid") != "" {
				ch <- struct{}{}
			}
		})
	}
}

// isPosting reports whether a POST of c is being read.
func isPosting(c *Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.post != nil
}

// tricklePost starts a POST for sid whose body comes one byte every 20 ms,
// from a raw TCP connection, and returns that connection.
func tricklePost(t *testing.T, e *env, sid string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", e.ts.Listener.Addr().String(), waitTime)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /engine.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n4", sid)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := conn.Write([]byte("x")); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		conn.Close()
		<-done
	})
	return conn
}

// expectConnClosed reads conn until the server closes it, failing the test
// if that takes more than d.
func expectConnClosed(t *testing.T, conn net.Conn, d time.Duration) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("connection still open %v after the session ended", d)
	}
}

// A POST whose body trickles in ends with its session, however the session
// ends, instead of holding a handler (and its connection) for as long as
// the client likes.
func TestPollingSlowPostEndsWithSession(t *testing.T) {
	tests := []struct {
		name   string
		opts   *Options
		end    func(e *env, s *session)
		reason string
	}{
		{"abort", &Options{PingInterval: time.Hour}, func(_ *env, s *session) { s.c.Abort(ReasonForcedClose, nil) }, ReasonForcedClose},
		{"server close", &Options{PingInterval: time.Hour}, func(e *env, _ *session) { e.srv.Close() }, ReasonForcedClose},
		// The client sends no pong while its POST is read. The ping
		// timeout (550 ms) comes well before the POST's own read
		// deadline (interval + 2 x timeout, 1050 ms), even when a loaded
		// machine runs the timers late.
		{"ping timeout", &Options{PingInterval: 50 * time.Millisecond, PingTimeout: 500 * time.Millisecond}, nil, ReasonPingTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			exits := make(chan struct{}, 8)
			e := newEnvWith(t, tt.opts, envConfig{wrap: handlerExits(http.MethodPost, exits)})
			sid, _, s := e.handshake()
			conn := tricklePost(t, e, sid)
			waitFor(t, "POST being read", func() bool { return isPosting(s.c) })
			if tt.end != nil {
				tt.end(e, s)
			}
			expectClose(t, s, tt.reason, nil)
			ended := time.Now()
			select {
			case <-exits:
				t.Logf("the POST handler returned %v after the session ended", time.Since(ended).Round(time.Millisecond))
			case <-time.After(time.Second):
				t.Fatal("the POST handler still reads 1s after the session ended")
			}
			expectConnClosed(t, conn, time.Second)
			if isPosting(s.c) {
				t.Error("the session still counts a POST")
			}
		})
	}
}

// A long-polling response to a client that does not read is bounded by
// WriteTimeout; the packets it held are lost, so the session ends.
func TestPollingWriteTimeout(t *testing.T) {
	t.Parallel()
	exits := make(chan struct{}, 8)
	e := newEnvWith(t, &Options{WriteTimeout: 300 * time.Millisecond, PingInterval: time.Hour, MaxBufferedBytes: 64 << 20},
		envConfig{wrap: handlerExits(http.MethodGet, exits), listener: func(l net.Listener) net.Listener { return smallBuffers{l} }})
	sid, _, s := e.handshake()
	big := bytes.Repeat([]byte("x"), 1<<20)
	for range 8 { // far more than the sockets hold
		if err := s.c.SendText(big); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := net.DialTimeout("tcp", e.ts.Listener.Addr().String(), waitTime)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096)
	}
	fmt.Fprintf(conn, "GET /engine.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\n\r\n", sid)
	// The client reads nothing.
	start := time.Now()
	select {
	case <-exits:
		t.Logf("the GET handler returned after %v", time.Since(start).Round(time.Millisecond))
	case <-time.After(3 * time.Second):
		t.Fatal("the GET handler still writes 3s later (WriteTimeout 300ms)")
	}
	expectClose(t, s, ReasonTransportError, nil)
}

// A ResponseWriter without deadlines (a middleware that hides them) still
// serves long-polling.
func TestPollingWithoutDeadlines(t *testing.T) {
	hide := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(struct{ http.ResponseWriter }{w}, r)
		})
	}
	e := newEnvWith(t, nil, envConfig{echo: true, wrap: hide})
	sid, _, s := e.handshake()
	if resp, body := e.post(sid, "4hello"); resp.StatusCode != http.StatusOK || body != "ok" {
		t.Fatalf("POST: %d %q", resp.StatusCode, body)
	}
	if got := e.poll(sid); len(got) != 1 || got[0] != "4hello" {
		t.Errorf("GET %q", got)
	}
	s.c.Abort(ReasonForcedClose, nil)
	expectClose(t, s, ReasonForcedClose, nil)
}

// Sessions are many: Conn stays in the 256-byte size class (the state of
// a pending POST is one pointer, set only while its body is read).
func TestConnSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 256 {
		t.Errorf("Conn is %d bytes, over the 256-byte size class", n)
	}
}
