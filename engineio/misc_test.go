package engineio

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestOptionsDefaults(t *testing.T) {
	o := NewServer(nil).Options()
	if o.PingInterval != 25*time.Second || o.PingTimeout != 20*time.Second || o.UpgradeTimeout != 10*time.Second ||
		o.MaxHTTPBufferSize != 1e6 || o.MaxBufferedBytes != 4<<20 || o.WriteTimeout != 45*time.Second ||
		o.HTTPCompression == nil || o.HTTPCompression.Threshold != 1024 || o.HTTPCompression.Disable ||
		strings.Join(o.Transports, ",") != "polling,websocket" || o.Logger == nil || o.Cookie != nil {
		t.Errorf("defaults: %+v", o)
	}
	// The caller's options are not modified.
	in := &Options{HTTPCompression: &CompressionOptions{}, Cookie: &CookieOptions{}}
	NewServer(in)
	if in.HTTPCompression.Threshold != 0 || in.Cookie.Name != "" {
		t.Errorf("NewServer modified its options: %+v %+v", in.HTTPCompression, in.Cookie)
	}
}

func TestConnAccessors(t *testing.T) {
	e := newEnv(t, nil)
	resp, body := e.mustDo(http.MethodGet, "EIO=4&transport=polling&foo=bar", nil, http.Header{"X-Token": {"t"}})
	if resp.StatusCode != 200 {
		t.Fatal(body)
	}
	s := e.nextSession()
	c := s.c
	if c.Protocol() != 4 {
		t.Errorf("Protocol() = %d", c.Protocol())
	}
	if c.RemoteAddr() != "127.0.0.1" {
		t.Errorf("RemoteAddr() = %q", c.RemoteAddr())
	}
	r := c.Request()
	if r.URL.Query().Get("foo") != "bar" || r.Header.Get("X-Token") != "t" {
		t.Errorf("Request() = %v %v", r.URL, r.Header)
	}
	// The handshake request outlives its HTTP exchange.
	if r.Context().Err() != nil {
		t.Errorf("Request().Context() is done: %v", r.Context().Err())
	}
}

func TestMessageAccessors(t *testing.T) {
	m := NewTextMessage([]byte("hi"))
	if m.Binary() || string(m.Data()) != "4hi" {
		t.Errorf("text: %v %q", m.Binary(), m.Data())
	}
	b := NewBinaryMessage([]byte{1, 2})
	if !b.Binary() || string(b.Data()) != "\x01\x02" {
		t.Errorf("binary: %v %q", b.Binary(), b.Data())
	}
	p := NewTextMessageInPlace(append(make([]byte, Headroom), `42["x"]`...))
	if p.Binary() || string(p.Data()) != `42["x"]` {
		t.Errorf("in place: %v %q", p.Binary(), p.Data())
	}
	big := make([]byte, 70000)
	big[0], big[len(big)-1] = 1, 2
	for _, data := range [][]byte{{}, {1, 2}, big} {
		bp := NewBinaryMessageInPlace(append(make([]byte, Headroom), data...))
		want := NewBinaryMessage(data)
		if !bp.Binary() || string(bp.Data()) != string(data) || string(bp.frame) != string(want.frame) {
			t.Errorf("binary in place (%d bytes): %v, frame %x, want %x", len(data), bp.Binary(), bp.frame[:min(len(bp.frame), 12)], want.frame[:min(len(want.frame), 12)])
		}
	}
}

func TestRequestErrorText(t *testing.T) {
	if got := ErrorCode(9).Message(); got != "Unknown error" {
		t.Errorf("ErrorCode(9).Message() = %q", got)
	}
	e := &RequestError{Code: BadRequest, Message: "Bad request", Context: "TRANSPORT_MISMATCH"}
	if got := e.Error(); got != "engineio: Bad request (TRANSPORT_MISMATCH)" {
		t.Errorf("Error() = %q", got)
	}
	e.Context = ""
	if got := e.Error(); got != "engineio: Bad request" {
		t.Errorf("Error() = %q", got)
	}
}

// net/http refuses control characters in header values before the handler
// runs, so Node's Origin check is exercised with a direct call.
func TestInvalidOriginHeader(t *testing.T) {
	srv := NewServer(nil)
	var got *RequestError
	srv.OnConnectionError(func(e *RequestError) { got = e })
	r := httptest.NewRequest(http.MethodGet, "/engine.io/?EIO=4&transport=polling", nil)
	r.Header.Set("Origin", "https://a.example\x01")
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest || w.Body.String() != jsonError(BadRequest, "Bad request") {
		t.Errorf("%d %s", w.Code, w.Body)
	}
	if got == nil || got.Context != "INVALID_ORIGIN" {
		t.Errorf("connection error %+v", got)
	}
	if srv.ClientsCount() != 0 {
		t.Errorf("session opened")
	}
}

func TestPollingIEHeader(t *testing.T) {
	e := newEnv(t, nil)
	for _, ua := range []string{"Mozilla/4.0 (compatible;MSIE 9.0)", "Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0)"} {
		resp, _ := e.mustDo(http.MethodGet, "EIO=4&transport=polling", nil, http.Header{"User-Agent": {ua}})
		if got := resp.Header.Get("X-XSS-Protection"); got != "0" {
			t.Errorf("%s: X-XSS-Protection %q", ua, got)
		}
	}
	resp, _ := e.get("EIO=4&transport=polling")
	if got := resp.Header.Values("X-XSS-Protection"); len(got) != 0 {
		t.Errorf("X-XSS-Protection %q", got)
	}
}

// A request that arrives after the pong deadline finds the session closed,
// even when the heartbeat timer has not run yet (a busy server).
func TestExpiredSessionOnRequest(t *testing.T) {
	e := newEnv(t, &Options{PingInterval: time.Hour})
	sid, _, s := e.handshake()
	// A ping whose timer is late has not left: the client is not late.
	s.c.mu.Lock()
	s.c.hbDue = time.Now().Add(-time.Hour).UnixNano()
	s.c.mu.Unlock()
	if resp, body := e.post(sid, "4x"); resp.StatusCode != http.StatusOK {
		t.Fatalf("POST while the ping timer is late: %d %s", resp.StatusCode, body)
	}
	recv(t, s.msgs, "message")
	// A pong awaited past its deadline is late.
	s.c.mu.Lock()
	s.c.awaitPong = true
	s.c.hbDue = time.Now().Add(-time.Millisecond).UnixNano() // as if the timer were late
	s.c.mu.Unlock()
	resp, body := e.get("EIO=4&transport=polling&sid=" + sid)
	if resp.StatusCode != http.StatusBadRequest || body != jsonError(UnknownSID, "Session ID unknown") {
		t.Errorf("GET: %d %s", resp.StatusCode, body)
	}
	expectClose(t, s, ReasonPingTimeout, nil)
}

// The upgrade packet does not need a probe first (neither in Node); a GET
// waiting from before then ends with a noop.
func TestUpgradeWithoutProbe(t *testing.T) {
	e := newEnv(t, &Options{PingInterval: 10 * time.Second})
	sid, _, s := e.handshake()
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	pending := e.pollAsync(ctx, sid)
	waitPolling(t, s.c)
	ws, _, err := e.dial("EIO=4&transport=websocket&sid="+sid, nil)
	if err != nil {
		t.Fatal(err)
	}
	wsWrite(t, ws, "5")
	recv(t, s.upgrades, "upgrade")
	if r := recv(t, pending, "pending GET"); r.status != 200 || r.body != "6" {
		t.Errorf("pending GET %+v, want a noop", r)
	}
	s.c.SendText([]byte("x"))
	if _, p := wsRead(t, ws); p != "4x" {
		t.Errorf("got %q", p)
	}
}

// A GET sent after the probe (which a JavaScript client never does: it
// pauses long-polling) is held for a short grace period and then answered
// with a noop; if the upgrade completes meanwhile it is refused as a
// request on a transport the session no longer uses.
func TestGetDuringUpgrade(t *testing.T) {
	e := newEnv(t, &Options{PingInterval: 10 * time.Second})
	sid, _, s := e.handshake()
	ws := e.probe(sid)

	start := time.Now()
	if got := e.poll(sid); len(got) != 1 || got[0] != "6" {
		t.Errorf("GET during the upgrade: %q, want a noop", got)
	}
	if d := time.Since(start); d < upgradeGrace-5*time.Millisecond {
		t.Errorf("answered after %v, want the grace period", d)
	}
	// Messages are answered at once, grace or not.
	s.c.SendText([]byte("m"))
	if got := e.poll(sid); len(got) != 1 || got[0] != "4m" {
		t.Errorf("GET %q", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	pending := e.pollAsync(ctx, sid)
	waitPolling(t, s.c)
	wsWrite(t, ws, "5")
	recv(t, s.upgrades, "upgrade")
	r := recv(t, pending, "GET")
	if r.status != http.StatusBadRequest || r.body != jsonError(BadRequest, "Bad request") {
		// The grace period may have run out first on a slow machine.
		if r.status != 200 || r.body != "6" {
			t.Errorf("GET at the upgrade: %+v", r)
		}
	}
	if e.srv.Conn(sid) == nil {
		t.Errorf("session closed")
	}
}
