package engineio

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/websocket"
)

// fromOrigin is a dial option that sends the given Origin header.
func fromOrigin(origin string) *websocket.DialOptions {
	if origin == "" {
		return nil
	}
	return &websocket.DialOptions{Header: http.Header{"Origin": {origin}}}
}

// expectStatus checks that a WebSocket dial was refused with status.
func expectStatus(t *testing.T, what string, resp *http.Response, err error, status int) {
	t.Helper()
	var he *websocket.HandshakeError
	if !errors.As(err, &he) || resp == nil || resp.StatusCode != status {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		t.Fatalf("%s: %d (%v), want %d", what, code, err, status)
	}
}

// With CORS limited to some origins, a page of another site cannot open a
// WebSocket (which browsers do not subject to CORS) with its user's
// cookies: cross-site WebSocket hijacking.
func TestWebSocketOriginHandshake(t *testing.T) {
	tests := []struct {
		name   string
		opts   *Options
		origin string
		ok     bool
	}{
		{"listed", &Options{CORS: &CORSOptions{Origins: []string{"https://good.example"}}}, "https://good.example", true},
		{"foreign", &Options{CORS: &CORSOptions{Origins: []string{"https://good.example"}}}, "https://evil.example", false},
		{"null", &Options{CORS: &CORSOptions{Origins: []string{"https://good.example"}}}, "null", false},
		{"no origin (not a browser)", &Options{CORS: &CORSOptions{Origins: []string{"https://good.example"}}}, "", true},
		{"AllowOrigin", &Options{CORS: &CORSOptions{AllowOrigin: func(o string, _ *http.Request) bool { return o == "https://other.example" }}}, "https://other.example", true},
		{"AllowOrigin refuses", &Options{CORS: &CORSOptions{AllowOrigin: func(o string, _ *http.Request) bool { return o == "https://other.example" }}}, "https://evil.example", false},
		{"star", &Options{CORS: &CORSOptions{Origins: []string{"*"}}}, "https://evil.example", true},
		{"no CORS: every origin, as Node", nil, "https://evil.example", true},
		{"CheckOrigin decides", &Options{CORS: &CORSOptions{Origins: []string{"https://good.example"}}, CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "https://hook.example" }}, "https://hook.example", true},
		{"CheckOrigin decides instead of CORS", &Options{CORS: &CORSOptions{Origins: []string{"https://good.example"}}, CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "https://hook.example" }}, "https://good.example", false},
		{"CheckOrigin without origin", &Options{CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") != "" }}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts)
			ws, resp, err := e.dial("EIO=4&transport=websocket", fromOrigin(tt.origin))
			if tt.ok {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				parseOpen(t, func() string { _, p := wsRead(t, ws); return p }())
				e.nextSession()
				return
			}
			expectStatus(t, "dial", resp, err, http.StatusForbidden)
			if n := e.srv.ClientsCount(); n != 0 {
				t.Errorf("%d sessions opened", n)
			}
			re := recv(t, e.errs, "connection error")
			if re.Code != Forbidden || re.Context != "ORIGIN_NOT_ALLOWED" {
				t.Errorf("connection error %+v", re)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", got)
			}
		})
	}
}

// An upgrade is checked like a WebSocket handshake: the session it would
// take over may have been opened by a page of the allowed site, but the
// upgrade request may come from another.
func TestWebSocketOriginUpgrade(t *testing.T) {
	e := newEnv(t, &Options{CORS: &CORSOptions{Origins: []string{"https://good.example"}}})
	sid, _, s := e.handshake()
	_, resp, err := e.dial("EIO=4&transport=websocket&sid="+sid, fromOrigin("https://evil.example"))
	expectStatus(t, "upgrade", resp, err, http.StatusForbidden)
	if re := recv(t, e.errs, "connection error"); re.Code != Forbidden || re.Context != "ORIGIN_NOT_ALLOWED" {
		t.Errorf("connection error %+v", re)
	}
	// The session goes on over long-polling, and can still upgrade.
	e.post(sid, "4still here")
	recv(t, s.msgs, "message")
	ws, _, err := e.dial("EIO=4&transport=websocket&sid="+sid, fromOrigin("https://good.example"))
	if err != nil {
		t.Fatalf("upgrade from the allowed origin: %v", err)
	}
	wsWrite(t, ws, "2probe")
	if _, p := wsRead(t, ws); p != "3probe" {
		t.Fatalf("probe answer %q", p)
	}
	wsWrite(t, ws, "5")
	recv(t, s.upgrades, "upgrade")

	// The hook decides for upgrades too.
	e2 := newEnv(t, &Options{CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "https://hook.example" }})
	sid2, _, _ := e2.handshake()
	_, resp, err = e2.dial("EIO=4&transport=websocket&sid="+sid2, fromOrigin("https://evil.example"))
	expectStatus(t, "upgrade with CheckOrigin", resp, err, http.StatusForbidden)
	if _, _, err := e2.dial("EIO=4&transport=websocket&sid="+sid2, fromOrigin("https://hook.example")); err != nil {
		t.Fatalf("upgrade allowed by CheckOrigin: %v", err)
	}
}

// Long-polling requests are not refused for their origin: browsers apply
// CORS to them, from the headers (unchanged).
func TestPollingOriginUnchanged(t *testing.T) {
	e := newEnv(t, &Options{CORS: &CORSOptions{Origins: []string{"https://good.example"}}})
	resp, _ := e.mustDo(http.MethodGet, "EIO=4&transport=polling", nil, http.Header{"Origin": {"https://evil.example"}})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("handshake: %d, Access-Control-Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

// Over TLS the session cookie is Secure, even when not asked for.
func TestCookieSecureOverTLS(t *testing.T) {
	srv := NewServer(&Options{Cookie: &CookieOptions{}, PingInterval: time.Hour})
	ts := httptest.NewTLSServer(srv)
	hc := ts.Client()
	hc.Timeout = waitTime
	t.Cleanup(hc.CloseIdleConnections)
	t.Cleanup(ts.Close)
	t.Cleanup(srv.Close)
	resp, err := hc.Get(ts.URL + "/engine.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	sid := parseOpen(t, string(body)).SID
	want := "io=" + sid + "; Path=/; HttpOnly; Secure; SameSite=Lax"
	if got := resp.Header.Values("Set-Cookie"); len(got) != 1 || got[0] != want {
		t.Errorf("Set-Cookie %q, want %q", got, want)
	}
}

// Text answers are not to be sniffed as something else by browsers.
func TestNosniff(t *testing.T) {
	e := newEnv(t, &Options{PingInterval: time.Hour, MaxRequestHeaderBytes: 1000, Transports: []string{Polling, WebSocket}})
	check := func(what string, resp *http.Response) {
		t.Helper()
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", what, got)
		}
	}
	resp, body := e.get("EIO=4&transport=polling")
	check("handshake", resp)
	sid := parseOpen(t, body).SID
	e.nextSession()
	resp, _ = e.post(sid, "4x")
	check("POST", resp)
	resp, _ = e.get("EIO=4&transport=polling&sid=unknown")
	check("JSON error", resp)
	resp, _ = e.mustDo(http.MethodGet, "EIO=4&transport=polling", nil, http.Header{"X-Big": {strings.Repeat("a", 2000)}})
	check("431", resp)
	// A refused WebSocket handshake (an unsupported protocol version).
	_, resp, _ = e.dial("EIO=3&transport=websocket", nil)
	if resp == nil {
		t.Fatal("no response to a bad WebSocket handshake")
	}
	check("refused WebSocket handshake", resp)
}

// A page served by the server itself needs no CORS (neither does its
// long-polling): its WebSocket is allowed whatever the list.
func TestWebSocketSameOrigin(t *testing.T) {
	e := newEnv(t, &Options{CORS: &CORSOptions{Origins: []string{"https://good.example"}}})
	if _, _, err := e.dial("EIO=4&transport=websocket", fromOrigin(e.ts.URL)); err != nil {
		t.Fatalf("same-origin dial: %v", err)
	}
	e.nextSession()
	// Another port is another origin.
	_, resp, err := e.dial("EIO=4&transport=websocket", fromOrigin("http://127.0.0.1:1"))
	expectStatus(t, "other port", resp, err, http.StatusForbidden)
}
