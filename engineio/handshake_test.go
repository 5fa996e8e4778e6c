package engineio

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/websocket"
)

func TestHandshakeOpenPacket(t *testing.T) {
	tests := []struct {
		name      string
		opts      *Options
		websocket bool
		want      string // open packet data with %s for the sid
	}{
		{
			name: "polling defaults",
			want: `{"sid":"%s","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`,
		},
		{
			name:      "websocket defaults",
			websocket: true,
			want:      `{"sid":"%s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`,
		},
		{
			name: "polling with DisableUpgrades",
			opts: &Options{DisableUpgrades: true},
			want: `{"sid":"%s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`,
		},
		{
			name: "polling only",
			opts: &Options{Transports: []string{Polling}},
			want: `{"sid":"%s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`,
		},
		{
			name: "custom values",
			opts: &Options{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond, MaxHTTPBufferSize: 5000},
			want: `{"sid":"%s","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":5000}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts)
			var packets []string
			var sid string
			if tt.websocket {
				ws, _, err := e.dial("EIO=4&transport=websocket", nil)
				if err != nil {
					t.Fatal(err)
				}
				_, p := wsRead(t, ws)
				s := e.nextSession()
				if tr := s.c.Transport(); tr != WebSocket {
					t.Errorf("Transport() = %q", tr)
				}
				sid, packets = s.c.ID(), []string{p}
			} else {
				sid, packets, _ = e.handshake()
			}
			if len(sid) != 20 {
				t.Errorf("sid %q: want 20 characters", sid)
			}
			if len(packets) != 1 {
				t.Fatalf("handshake packets %q, want only the open packet", packets)
			}
			if want := "0" + fmt.Sprintf(tt.want, sid); packets[0] != want {
				t.Errorf("open packet\n got %s\nwant %s", packets[0], want)
			}
		})
	}
}

func TestHandshakePollingResponseHeaders(t *testing.T) {
	e := newEnv(t, nil)
	resp, _ := e.get("EIO=4&transport=polling")
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
		t.Errorf("Set-Cookie %q without the Cookie option", sc)
	}
}

func TestHandshakeInitialPacket(t *testing.T) {
	e := newEnv(t, &Options{InitialPacket: []byte("hello")})
	_, packets, _ := e.handshake()
	if len(packets) != 2 || packets[1] != "4hello" {
		t.Fatalf("polling handshake packets %q, want open then 4hello", packets)
	}

	ws, _, _ := e.dialSession()
	if _, p := wsRead(t, ws); p != "4hello" {
		t.Fatalf("websocket: second packet %q, want 4hello", p)
	}
}

func TestHandshakeCookie(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		e := newEnv(t, &Options{Cookie: &CookieOptions{}})
		resp, body := e.get("EIO=4&transport=polling")
		sid := parseOpen(t, body).SID
		want := "io=" + sid + "; Path=/; HttpOnly; SameSite=Lax"
		if got := resp.Header.Values("Set-Cookie"); len(got) != 1 || got[0] != want {
			t.Errorf("Set-Cookie %q, want %q", got, want)
		}
		// Only the handshake sets the cookie.
		e.nextSession().c.SendText([]byte("x"))
		resp, _ = e.get("EIO=4&transport=polling&sid=" + sid)
		if got := resp.Header.Values("Set-Cookie"); len(got) != 0 {
			t.Errorf("Set-Cookie on a later GET: %q", got)
		}
		// The WebSocket handshake sets it too.
		ws, resp, err := e.dial("EIO=4&transport=websocket", nil)
		if err != nil {
			t.Fatal(err)
		}
		_, p := wsRead(t, ws)
		sid = parseOpen(t, p).SID
		want = "io=" + sid + "; Path=/; HttpOnly; SameSite=Lax"
		if got := resp.Header.Values("Set-Cookie"); len(got) != 1 || got[0] != want {
			t.Errorf("websocket Set-Cookie %q, want %q", got, want)
		}
	})
	t.Run("custom", func(t *testing.T) {
		no := false
		e := newEnv(t, &Options{Cookie: &CookieOptions{
			Name: "sess", Path: "/app", HTTPOnly: &no, SameSite: http.SameSiteStrictMode,
			Secure: true, Domain: "example.com", MaxAge: 60,
		}})
		resp, body := e.get("EIO=4&transport=polling")
		sid := parseOpen(t, body).SID
		want := "sess=" + sid + "; Path=/app; Domain=example.com; Max-Age=60; Secure; SameSite=Strict"
		if got := resp.Header.Values("Set-Cookie"); len(got) != 1 || got[0] != want {
			t.Errorf("Set-Cookie %q, want %q", got, want)
		}
	})
}

func TestHeadersHooks(t *testing.T) {
	var initial, every atomic.Int32
	e := newEnv(t, &Options{
		InitialHeaders: func(h http.Header, r *http.Request) {
			initial.Add(1)
			h.Add("X-Initial", r.URL.Query().Get("transport"))
		},
		Headers: func(h http.Header, r *http.Request) {
			every.Add(1)
			h.Add("X-Every", r.Method)
		},
	})
	check := func(what string, h http.Header, wantInitial, wantEvery []string) {
		t.Helper()
		if got := h.Values("X-Initial"); fmt.Sprint(got) != fmt.Sprint(wantInitial) {
			t.Errorf("%s: X-Initial %q, want %q", what, got, wantInitial)
		}
		if got := h.Values("X-Every"); fmt.Sprint(got) != fmt.Sprint(wantEvery) {
			t.Errorf("%s: X-Every %q, want %q", what, got, wantEvery)
		}
	}

	resp, body := e.get("EIO=4&transport=polling")
	check("polling handshake", resp.Header, []string{"polling"}, []string{"GET"})
	sid := parseOpen(t, body).SID
	s := e.nextSession()

	resp, _ = e.post(sid, "4a")
	check("POST", resp.Header, nil, []string{"POST"})

	s.c.SendText([]byte("x"))
	resp, _ = e.get("EIO=4&transport=polling&sid=" + sid)
	check("GET", resp.Header, nil, []string{"GET"})

	_, resp, err := e.dial("EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	check("websocket handshake", resp.Header, []string{"websocket"}, []string{"GET"})
	e.nextSession()

	_, resp, err = e.dial("EIO=4&transport=websocket&sid="+sid, nil)
	if err != nil {
		t.Fatal(err)
	}
	check("websocket upgrade", resp.Header, nil, []string{"GET"})

	if n := initial.Load(); n != 2 {
		t.Errorf("InitialHeaders called %d times, want 2", n)
	}
	if n := every.Load(); n != 5 {
		t.Errorf("Headers called %d times, want 5", n)
	}
}

func TestGenerateID(t *testing.T) {
	var n atomic.Int32
	e := newEnv(t, &Options{GenerateID: func(r *http.Request) (string, error) {
		if r.URL.Query().Get("fail") != "" {
			return "", errors.New("no id")
		}
		return fmt.Sprintf("custom-%d", n.Add(1)), nil
	}})
	sid, _, s := e.handshake()
	if sid != "custom-1" || s.c.ID() != "custom-1" {
		t.Fatalf("sid %q, want custom-1", sid)
	}
	if e.srv.Conn("custom-1") != s.c {
		t.Errorf("Server.Conn(custom-1) is not the session")
	}
	_, _, o := e.dialSession()
	if o.SID != "custom-2" {
		t.Errorf("websocket sid %q, want custom-2", o.SID)
	}
	if n := e.srv.ClientsCount(); n != 2 {
		t.Errorf("ClientsCount() = %d, want 2", n)
	}

	resp, body := e.get("EIO=4&transport=polling&fail=1")
	if resp.StatusCode != http.StatusBadRequest || body != jsonError(BadRequest, "Bad request") {
		t.Errorf("failing GenerateID: %d %s", resp.StatusCode, body)
	}
	re := recv(t, e.errs, "connection error")
	if re.Code != BadRequest || re.Context != "ID_GENERATION_ERROR" {
		t.Errorf("connection error %+v", re)
	}
	if n := e.srv.ClientsCount(); n != 2 {
		t.Errorf("ClientsCount() = %d after a failed handshake, want 2", n)
	}
}

func TestRequestErrors(t *testing.T) {
	e := newEnv(t, &Options{AllowRequest: func(r *http.Request) error {
		if r.Header.Get("X-Deny") != "" {
			return errors.New("go away")
		}
		return nil
	}})
	pollSID, _, _ := e.handshake()
	_, wsSession, _ := e.dialSession()
	wsSID := wsSession.c.ID()

	tests := []struct {
		name    string
		method  string
		query   string
		header  http.Header
		status  int
		code    ErrorCode
		message string
		context string
	}{
		{name: "no transport", query: "EIO=4", code: UnknownTransport, message: "Transport unknown"},
		{name: "unknown transport", query: "EIO=4&transport=flash", code: UnknownTransport, message: "Transport unknown"},
		{name: "unknown sid", query: "EIO=4&transport=polling&sid=nope", code: UnknownSID, message: "Session ID unknown"},
		{name: "unknown sid POST", method: http.MethodPost, query: "EIO=4&transport=polling&sid=nope", code: UnknownSID, message: "Session ID unknown"},
		{name: "POST handshake", method: http.MethodPost, query: "EIO=4&transport=polling", code: BadHandshakeMethod, message: "Bad handshake method"},
		{name: "PUT handshake", method: http.MethodPut, query: "EIO=4&transport=polling", code: BadHandshakeMethod, message: "Bad handshake method"},
		{name: "websocket handshake without upgrade", query: "EIO=4&transport=websocket", code: BadRequest, message: "Bad request", context: "TRANSPORT_HANDSHAKE_ERROR"},
		{name: "websocket transport on polling session", query: "EIO=4&transport=websocket&sid=" + pollSID, code: BadRequest, message: "Bad request", context: "TRANSPORT_MISMATCH"},
		{name: "polling transport on websocket session", query: "EIO=4&transport=polling&sid=" + wsSID, code: BadRequest, message: "Bad request", context: "TRANSPORT_MISMATCH"},
		{name: "polling POST on websocket session", method: http.MethodPost, query: "EIO=4&transport=polling&sid=" + wsSID, code: BadRequest, message: "Bad request", context: "TRANSPORT_MISMATCH"},
		// A plain HTTP request naming the WebSocket transport of a WebSocket
		// session is not a WebSocket: it must not be served as long-polling.
		{name: "plain GET on websocket session", query: "EIO=4&transport=websocket&sid=" + wsSID, code: BadRequest, message: "Bad request", context: "TRANSPORT_MISMATCH"},
		{name: "plain POST on websocket session", method: http.MethodPost, query: "EIO=4&transport=websocket&sid=" + wsSID, code: BadRequest, message: "Bad request", context: "TRANSPORT_MISMATCH"},
		{name: "AllowRequest error", query: "EIO=4&transport=polling", header: http.Header{"X-Deny": {"1"}}, status: http.StatusForbidden, code: Forbidden, message: "go away"},
		{name: "no EIO", query: "transport=polling", code: UnsupportedProtocolVersion, message: "Unsupported protocol version"},
		{name: "EIO=3", query: "EIO=3&transport=polling", code: UnsupportedProtocolVersion, message: "Unsupported protocol version"},
		{name: "EIO=abc", query: "EIO=abc&transport=polling", code: UnsupportedProtocolVersion, message: "Unsupported protocol version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			status := tt.status
			if status == 0 {
				status = http.StatusBadRequest
			}
			resp, body := e.mustDo(method, tt.query, strings.NewReader("4x"), tt.header)
			if resp.StatusCode != status {
				t.Errorf("status %d, want %d", resp.StatusCode, status)
			}
			if want := jsonError(tt.code, tt.message); body != want {
				t.Errorf("body %s, want %s", body, want)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			re := recv(t, e.errs, "connection error")
			if re.Code != tt.code || re.Message != tt.message || re.Context != tt.context || re.Request == nil {
				t.Errorf("OnConnectionError got %+v, want code %d message %q context %q", re, tt.code, tt.message, tt.context)
			}
		})
	}
	// None of this disturbed the sessions.
	if n := e.srv.ClientsCount(); n != 2 {
		t.Errorf("ClientsCount() = %d, want 2", n)
	}
}

// WebSocket handshakes are answered like Node's abortUpgrade: 400, the
// message as text/html, and the connection closed.
func TestUpgradeRequestErrors(t *testing.T) {
	e := newEnv(t, &Options{AllowRequest: func(r *http.Request) error {
		if r.URL.Query().Get("deny") != "" {
			return errors.New("go away")
		}
		return nil
	}})
	pollSID, _, _ := e.handshake()
	tests := []struct {
		name    string
		query   string
		code    ErrorCode
		message string
	}{
		{"unknown transport", "EIO=4&transport=flash", UnknownTransport, "Transport unknown"},
		{"unknown sid", "EIO=4&transport=websocket&sid=nope", UnknownSID, "Session ID unknown"},
		{"transport mismatch", "EIO=4&transport=polling&sid=" + pollSID, BadRequest, "Bad request"},
		{"AllowRequest error", "EIO=4&transport=websocket&deny=1", Forbidden, "go away"},
		{"no EIO", "transport=websocket", UnsupportedProtocolVersion, "Unsupported protocol version"},
		{"EIO=3", "EIO=3&transport=websocket", UnsupportedProtocolVersion, "Unsupported protocol version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, resp, err := e.dial(tt.query, nil)
			if ws != nil {
				t.Fatalf("WebSocket accepted")
			}
			var he *websocket.HandshakeError
			if !errors.As(err, &he) {
				t.Fatalf("dial error %v, want a HandshakeError", err)
			}
			if he.Status != http.StatusBadRequest || he.Message != tt.message {
				t.Errorf("answer %d %q, want 400 %q", he.Status, he.Message, tt.message)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/html" {
				t.Errorf("Content-Type %q, want text/html", ct)
			}
			if !resp.Close && resp.Header.Get("Connection") != "close" {
				t.Errorf("connection not closed: Connection %q", resp.Header.Get("Connection"))
			}
			re := recv(t, e.errs, "connection error")
			if re.Code != tt.code || re.Message != tt.message {
				t.Errorf("OnConnectionError got %+v, want code %d message %q", re, tt.code, tt.message)
			}
		})
	}
	// The polling session was not touched by the failed upgrade.
	if e.srv.Conn(pollSID) == nil {
		t.Errorf("polling session gone")
	}
}

func TestWebSocketTransportDisabled(t *testing.T) {
	e := newEnv(t, &Options{Transports: []string{Polling}})
	_, _, err := e.dial("EIO=4&transport=websocket", nil)
	var he *websocket.HandshakeError
	if !errors.As(err, &he) || he.Status != http.StatusBadRequest || he.Message != "Transport unknown" {
		t.Fatalf("dial error %v, want 400 Transport unknown", err)
	}
	sid, _, _ := e.handshake()
	_, _, err = e.dial("EIO=4&transport=websocket&sid="+sid, nil)
	if !errors.As(err, &he) || he.Status != http.StatusBadRequest || he.Message != "Transport unknown" {
		t.Fatalf("upgrade dial error %v, want 400 Transport unknown", err)
	}
}

func TestPollingTransportDisabled(t *testing.T) {
	e := newEnv(t, &Options{Transports: []string{WebSocket}})
	resp, body := e.get("EIO=4&transport=polling")
	if resp.StatusCode != http.StatusBadRequest || body != jsonError(UnknownTransport, "Transport unknown") {
		t.Errorf("polling handshake: %d %s", resp.StatusCode, body)
	}
	_, _, o := e.dialSession()
	if len(o.Upgrades) != 0 {
		t.Errorf("upgrades %q", o.Upgrades)
	}
}
