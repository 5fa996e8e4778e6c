package engineio

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestCORSPreflight(t *testing.T) {
	e := newEnv(t, &Options{CORS: &CORSOptions{
		Origins:     []string{"https://a.example"},
		Credentials: true,
		MaxAge:      90 * time.Second,
	}})
	hdr := http.Header{
		"Origin":                         {"https://a.example"},
		"Access-Control-Request-Method":  {"POST"},
		"Access-Control-Request-Headers": {"content-type,x-custom"},
	}
	resp, body := e.mustDo(http.MethodOptions, "EIO=4&transport=polling", nil, hdr)
	if resp.StatusCode != http.StatusNoContent || body != "" {
		t.Fatalf("preflight: %d %q, want 204 and no body", resp.StatusCode, body)
	}
	want := map[string]string{
		"Access-Control-Allow-Origin":      "https://a.example",
		"Access-Control-Allow-Methods":     "GET,HEAD,PUT,PATCH,POST,DELETE",
		"Access-Control-Allow-Headers":     "content-type,x-custom",
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Max-Age":           "90",
	}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if vary := strings.Join(resp.Header.Values("Vary"), ","); !strings.Contains(vary, "Origin") || !strings.Contains(vary, "Access-Control-Request-Headers") {
		t.Errorf("Vary %q", vary)
	}
	if n := e.srv.ClientsCount(); n != 0 {
		t.Errorf("a preflight opened a session")
	}

	// Configured methods and headers win over the request's.
	e2 := newEnv(t, &Options{CORS: &CORSOptions{
		Origins:        []string{"*"},
		Methods:        []string{"GET", "POST"},
		AllowedHeaders: []string{"X-A", "X-B"},
	}})
	resp, _ = e2.mustDo(http.MethodOptions, "EIO=4&transport=polling", nil, hdr)
	for k, v := range map[string]string{
		"Access-Control-Allow-Origin":  "*",
		"Access-Control-Allow-Methods": "GET,POST",
		"Access-Control-Allow-Headers": "X-A,X-B",
	} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	for _, k := range []string{"Access-Control-Allow-Credentials", "Access-Control-Max-Age"} {
		if got := resp.Header.Get(k); got != "" {
			t.Errorf("%s: %q, want none", k, got)
		}
	}
}

func TestCORSOrigins(t *testing.T) {
	tests := []struct {
		name      string
		cors      *CORSOptions
		origin    string
		want      string // Access-Control-Allow-Origin, "" for none
		wantVary  bool
		exposed   string
		wantCreds bool
	}{
		{name: "star", cors: &CORSOptions{Origins: []string{"*"}}, origin: "https://x.example", want: "*"},
		{name: "star without origin", cors: &CORSOptions{Origins: []string{"*"}}, want: "*"},
		{name: "listed", cors: &CORSOptions{Origins: []string{"https://a.example", "https://b.example"}}, origin: "https://b.example", want: "https://b.example", wantVary: true},
		{name: "unlisted", cors: &CORSOptions{Origins: []string{"https://a.example"}}, origin: "https://evil.example", wantVary: true},
		{name: "no origin", cors: &CORSOptions{Origins: []string{"https://a.example"}}, wantVary: true},
		{name: "func allows", cors: &CORSOptions{AllowOrigin: func(o string, r *http.Request) bool { return strings.HasSuffix(o, ".trusted.example") }}, origin: "https://x.trusted.example", want: "https://x.trusted.example", wantVary: true},
		{name: "func refuses", cors: &CORSOptions{AllowOrigin: func(o string, r *http.Request) bool { return strings.HasSuffix(o, ".trusted.example") }}, origin: "https://x.example", wantVary: true},
		{name: "exposed and credentials", cors: &CORSOptions{Origins: []string{"https://a.example"}, ExposedHeaders: []string{"X-One", "X-Two"}, Credentials: true}, origin: "https://a.example", want: "https://a.example", wantVary: true, exposed: "X-One,X-Two", wantCreds: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, &Options{CORS: tt.cors})
			var hdr http.Header
			if tt.origin != "" {
				hdr = http.Header{"Origin": {tt.origin}}
			}
			resp, body := e.mustDo(http.MethodGet, "EIO=4&transport=polling", nil, hdr)
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "0{") {
				t.Fatalf("handshake: %d %q", resp.StatusCode, body)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tt.want {
				t.Errorf("Allow-Origin %q, want %q", got, tt.want)
			}
			if got := resp.Header.Get("Vary") == "Origin"; got != tt.wantVary {
				t.Errorf("Vary %q, want Origin: %v", resp.Header.Values("Vary"), tt.wantVary)
			}
			if got := resp.Header.Get("Access-Control-Expose-Headers"); got != tt.exposed {
				t.Errorf("Expose-Headers %q, want %q", got, tt.exposed)
			}
			if got := resp.Header.Get("Access-Control-Allow-Credentials") == "true"; got != tt.wantCreds {
				t.Errorf("Allow-Credentials %q", resp.Header.Get("Access-Control-Allow-Credentials"))
			}
			if got := resp.Header.Get("Access-Control-Allow-Methods"); got != "" {
				t.Errorf("Allow-Methods %q on a non-preflight request", got)
			}
		})
	}
}

// CORS headers also go on error answers, so that browsers can read them.
func TestCORSOnErrors(t *testing.T) {
	e := newEnv(t, &Options{CORS: &CORSOptions{Origins: []string{"https://a.example"}}})
	resp, body := e.mustDo(http.MethodGet, "EIO=4&transport=polling&sid=nope", nil, http.Header{"Origin": {"https://a.example"}})
	if resp.StatusCode != http.StatusBadRequest || body != jsonError(UnknownSID, "Session ID unknown") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://a.example" {
		t.Errorf("Allow-Origin %q", got)
	}
}

// Without the CORS option, no CORS header is sent, and OPTIONS is not a
// preflight.
func TestNoCORS(t *testing.T) {
	e := newEnv(t, nil)
	resp, _ := e.mustDo(http.MethodGet, "EIO=4&transport=polling", nil, http.Header{"Origin": {"https://a.example"}})
	for k := range resp.Header {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Errorf("header %s without CORS", k)
		}
	}
	resp, body := e.mustDo(http.MethodOptions, "EIO=4&transport=polling", nil, http.Header{"Origin": {"https://a.example"}})
	if resp.StatusCode != http.StatusBadRequest || body != jsonError(BadHandshakeMethod, "Bad handshake method") {
		t.Errorf("OPTIONS: %d %s", resp.StatusCode, body)
	}
}
