package engineio

import (
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/websocket"
)

// A session keeps its handshake's headers for Conn.Request: abandoned
// handshakes with huge headers must not pile up in memory. Over the limit a
// handshake gets a 431 and no session.
func TestHandshakeHeaderLimitMemory(t *testing.T) {
	e := newEnv(t, &Options{PingInterval: time.Hour})
	big := http.Header{"X-Big": {strings.Repeat("a", 500<<10)}}
	const n = 50
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	statuses := make(map[int]int)
	contexts := make(map[string]int)
	for range n {
		resp, _ := e.mustDo(http.MethodGet, "EIO=4&transport=polling", nil, big)
		statuses[resp.StatusCode]++
		select {
		case re := <-e.errs: // (which holds the request)
			contexts[re.Context]++
		default:
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap growth after %d handshakes with 500 KB of headers: %d KB (%d sessions)", n, growth>>10, e.srv.ClientsCount())
	// 50 sessions holding their headers would take 25 MB.
	if growth > 5<<20 {
		t.Errorf("heap grew by %d KB", growth>>10)
	}
	if statuses[http.StatusRequestHeaderFieldsTooLarge] != n {
		t.Errorf("statuses %v, want %d times 431", statuses, n)
	}
	if c := e.srv.ClientsCount(); c != 0 {
		t.Errorf("%d sessions opened", c)
	}
	if contexts["REQUEST_HEADER_TOO_LARGE"] != n {
		t.Errorf("connection errors %v", contexts)
	}

	// A normal handshake, and one with headers just under the limit, work.
	e.handshake()
	resp, _ := e.mustDo(http.MethodGet, "EIO=4&transport=polling", nil, http.Header{"Cookie": {strings.Repeat("c", 15<<10)}})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("handshake with 15 KB of headers: %d", resp.StatusCode)
	}
}

func TestHeaderLimitWebSocket(t *testing.T) {
	e := newEnv(t, &Options{MaxRequestHeaderBytes: 4096, PingInterval: time.Hour})
	big := &websocket.DialOptions{Header: http.Header{"X-Big": {strings.Repeat("a", 5000)}}}

	// A WebSocket handshake.
	_, resp, err := e.dial("EIO=4&transport=websocket", big)
	var he *websocket.HandshakeError
	if !errors.As(err, &he) || resp == nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("dial: %v, want a 431", err)
	}
	if c := e.srv.ClientsCount(); c != 0 {
		t.Errorf("%d sessions opened", c)
	}

	// An upgrade: refused, the session goes on over long-polling.
	sid, _, s := e.handshake()
	_, resp, err = e.dial("EIO=4&transport=websocket&sid="+sid, big)
	if !errors.As(err, &he) || resp == nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("upgrade: %v, want a 431", err)
	}
	e.post(sid, "4still polling")
	if m := recv(t, s.msgs, "message"); m.data != "still polling" {
		t.Errorf("message %q", m.data)
	}

	// Under the limit.
	ok := &websocket.DialOptions{Header: http.Header{"X-Big": {strings.Repeat("a", 3000)}}}
	ws, _, err := e.dial("EIO=4&transport=websocket", ok)
	if err != nil {
		t.Fatal(err)
	}
	parseOpen(t, func() string { _, p := wsRead(t, ws); return p }())
	e.nextSession()

	// Long-polling requests of a session are not kept: they are not limited.
	hdr := http.Header{"X-Big": {strings.Repeat("a", 5000)}, "Content-Type": {"text/plain"}}
	resp, _ = e.mustDo(http.MethodPost, "EIO=4&transport=polling&sid="+sid, strings.NewReader("4big"), hdr)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("POST with large headers: %d", resp.StatusCode)
	}
	recv(t, s.msgs, "message")
}
