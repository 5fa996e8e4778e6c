package engineio

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestPollingPostDeliversInOrder(t *testing.T) {
	e := newEnv(t, nil)
	sid, _, s := e.handshake()
	resp, body := e.post(sid, "4a\x1e4b\x1e4c\x1e3\x1e6\x1e4d")
	if resp.StatusCode != http.StatusOK || body != "ok" {
		t.Fatalf("POST: %d %q", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html" {
		t.Errorf("Content-Type %q, want text/html", ct)
	}
	if cl := resp.Header.Get("Content-Length"); cl != "2" {
		t.Errorf("Content-Length %q, want 2", cl)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	for _, want := range []string{"a", "b", "c", "d"} {
		if m := recv(t, s.msgs, "message"); m.data != want || m.binary {
			t.Fatalf("got %+v, want text %q", m, want)
		}
	}
	// An empty message is a message too.
	e.post(sid, "4")
	if m := recv(t, s.msgs, "message"); m.data != "" || m.binary {
		t.Fatalf("got %+v, want empty text", m)
	}
}

func TestPollingBinaryRoundTrip(t *testing.T) {
	e := newEnvWith(t, nil, envConfig{echo: true})
	sid, _, s := e.handshake()
	// Padded and unpadded base64 are both accepted.
	e.post(sid, "bAQID\x1ebAAECAw==\x1e4text")
	for _, want := range []received{{"\x01\x02\x03", true}, {"\x00\x01\x02\x03", true}, {"text", false}} {
		if m := recv(t, s.msgs, "message"); m != want {
			t.Fatalf("got %+v, want %+v", m, want)
		}
	}
	if got, want := e.poll(sid), []string{"bAQID", "bAAECAw==", "4text"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("echo %q, want %q", got, want)
	}
}

func TestPollingFlushesQueueInOneResponse(t *testing.T) {
	e := newEnv(t, nil)
	sid, _, s := e.handshake()
	for _, m := range []string{"one", "two", "three"} {
		if err := s.c.SendText([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	s.c.SendBinary([]byte{0xff})
	resp, body := e.get("EIO=4&transport=polling&sid=" + sid)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %d", resp.StatusCode)
	}
	if want := "4one\x1e4two\x1e4three\x1eb/w=="; body != want {
		t.Errorf("body %q, want %q", body, want)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		t.Errorf("Content-Type %q", ct)
	}

	// A waiting GET is answered by the next Send.
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	ch := e.pollAsync(ctx, sid)
	waitPolling(t, s.c)
	s.c.SendText([]byte("later"))
	if r := recv(t, ch, "GET"); r.err != nil || r.status != 200 || r.body != "4later" {
		t.Errorf("waiting GET: %+v", r)
	}
}

func TestPollingInvalidPostContent(t *testing.T) {
	e := newEnv(t, nil)
	sid, _, s := e.handshake()
	hdr := http.Header{"Content-Type": {"application/octet-stream"}}
	resp, _ := e.mustDo(http.MethodPost, "EIO=4&transport=polling&sid="+sid, strings.NewReader("\x01\x02"), hdr)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
	expectClose(t, s, ReasonTransportError, ErrInvalidContent)
	if e.srv.Conn(sid) != nil {
		t.Errorf("session still registered")
	}
}

func TestPollingInvalidPacketClosesWithParseError(t *testing.T) {
	e := newEnv(t, nil)
	sid, _, s := e.handshake()
	resp, body := e.post(sid, "4first\x1ex")
	if resp.StatusCode != http.StatusBadRequest || body != jsonError(BadRequest, "Bad request") {
		t.Errorf("POST: %d %s", resp.StatusCode, body)
	}
	// Packets before the bad one are delivered, as Node does.
	if m := recv(t, s.msgs, "message"); m.data != "first" {
		t.Errorf("got %+v", m)
	}
	expectClose(t, s, ReasonParseError, nil)
}

func TestPollingPostTooLarge(t *testing.T) {
	const max = 100
	for _, chunked := range []bool{false, true} {
		name := "content-length"
		if chunked {
			name = "chunked"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, &Options{MaxHTTPBufferSize: max})
			sid, _, s := e.handshake()
			payload := "4" + strings.Repeat("x", max) // one byte over
			var body io.Reader = strings.NewReader(payload)
			if chunked {
				body = io.MultiReader(body) // unknown length
			}
			req, _ := http.NewRequest(http.MethodPost, e.url("EIO=4&transport=polling&sid="+sid), body)
			resp, err := e.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if chunked != (req.ContentLength <= 0) {
				t.Fatalf("request ContentLength %d", req.ContentLength)
			}
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("status %d, want 413", resp.StatusCode)
			}
			expectNone(t, s.msgs, 20*time.Millisecond, "message")
			// Like Node, the session survives and a payload at the limit
			// is accepted.
			resp, _ = e.post(sid, "4"+strings.Repeat("y", max-1))
			if resp.StatusCode != http.StatusOK {
				t.Errorf("POST at the limit: %d", resp.StatusCode)
			}
			if m := recv(t, s.msgs, "message"); len(m.data) != max-1 {
				t.Errorf("message of %d bytes, want %d", len(m.data), max-1)
			}
		})
	}
}

func TestPollingConcurrentPosts(t *testing.T) {
	e := newEnv(t, nil)
	sid, _, s := e.handshake()

	pr, pw := io.Pipe()
	first := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, e.url("EIO=4&transport=polling&sid="+sid), pr)
		resp, err := e.hc.Do(req)
		if err != nil {
			first <- 0
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	if _, err := pw.Write([]byte("4a")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first POST being read", func() bool {
		s.c.mu.Lock()
		defer s.c.mu.Unlock()
		return s.c.post != nil
	})
	resp, _ := e.post(sid, "4b")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("second POST: %d, want 400", resp.StatusCode)
	}
	expectClose(t, s, ReasonTransportError, ErrDataOverlap)
	pw.Close()
	recv(t, first, "first POST")
	// Nothing is delivered once the session is closed.
	expectNone(t, s.msgs, 20*time.Millisecond, "message")
}

func TestPollingOverlappingGets(t *testing.T) {
	e := newEnv(t, nil)
	sid, _, s := e.handshake()
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	first := e.pollAsync(ctx, sid)
	waitPolling(t, s.c)
	resp, _ := e.get("EIO=4&transport=polling&sid=" + sid)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("second GET: %d, want 400", resp.StatusCode)
	}
	expectClose(t, s, ReasonTransportError, ErrPollOverlap)
	if r := recv(t, first, "first GET"); r.err != nil || r.status != 200 || r.body != "1" {
		t.Errorf("first GET: %+v, want close packet", r)
	}
}

func TestPollingClientClose(t *testing.T) {
	e := newEnv(t, nil)
	sid, _, s := e.handshake()
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	pending := e.pollAsync(ctx, sid)
	waitPolling(t, s.c)
	resp, body := e.post(sid, "1")
	if resp.StatusCode != http.StatusOK || body != "ok" {
		t.Errorf("POST close: %d %q", resp.StatusCode, body)
	}
	if r := recv(t, pending, "pending GET"); r.err != nil || r.status != 200 || r.body != "6" {
		t.Errorf("pending GET: %+v, want noop", r)
	}
	expectClose(t, s, ReasonTransportClose, nil)
	if n := e.srv.ClientsCount(); n != 0 {
		t.Errorf("ClientsCount() = %d", n)
	}
	if err := s.c.SendText([]byte("x")); err != ErrClosed {
		t.Errorf("Send after close: %v, want ErrClosed", err)
	}
	select {
	case <-s.c.Done():
	default:
		t.Errorf("Done not closed")
	}
	resp, body = e.get("EIO=4&transport=polling&sid=" + sid)
	if resp.StatusCode != http.StatusBadRequest || body != jsonError(UnknownSID, "Session ID unknown") {
		t.Errorf("GET after close: %d %s", resp.StatusCode, body)
	}
	resp, body = e.post(sid, "4x")
	if resp.StatusCode != http.StatusBadRequest || body != jsonError(UnknownSID, "Session ID unknown") {
		t.Errorf("POST after close: %d %s", resp.StatusCode, body)
	}
}

// A close packet that arrives with no GET waiting still ends the session.
func TestPollingClientCloseWithoutGet(t *testing.T) {
	e := newEnv(t, nil)
	sid, _, s := e.handshake()
	e.post(sid, "4a\x1e1\x1e4b")
	if m := recv(t, s.msgs, "message"); m.data != "a" {
		t.Errorf("got %+v", m)
	}
	expectClose(t, s, ReasonTransportClose, nil)
	expectNone(t, s.msgs, 20*time.Millisecond, "message after the close packet")
}

func TestPollingClientAbortsGet(t *testing.T) {
	e := newEnv(t, nil)
	sid, _, s := e.handshake()
	ctx, cancel := context.WithCancel(context.Background())
	pending := e.pollAsync(ctx, sid)
	waitPolling(t, s.c)
	cancel()
	if r := recv(t, pending, "aborted GET"); r.err == nil {
		t.Errorf("GET completed: %+v", r)
	}
	expectClose(t, s, ReasonTransportError, ErrPollClosed)
}

func TestPollingOtherMethod(t *testing.T) {
	e := newEnv(t, nil)
	sid, _, _ := e.handshake()
	resp, _ := e.mustDo(http.MethodPut, "EIO=4&transport=polling&sid="+sid, nil, nil)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("PUT: %d, want 500 like Node", resp.StatusCode)
	}
}

func TestPollingHeartbeat(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &Options{PingInterval: 50 * time.Millisecond, PingTimeout: 200 * time.Millisecond})
	sid, _, s := e.handshake()
	start := time.Now()
	for range 3 {
		if got := e.poll(sid); len(got) != 1 || got[0] != "2" {
			t.Fatalf("GET %q, want a ping", got)
		}
		e.post(sid, "3")
	}
	// A ping may leave up to one heartbeat slot early.
	if d := time.Since(start); d < 3*(50*time.Millisecond-hbGranularity) {
		t.Errorf("three pings in %v, want one per 50ms", d)
	}
	if e.srv.Conn(sid) == nil {
		t.Fatal("session closed although every ping was answered")
	}
	// Now stop answering.
	if got := e.poll(sid); len(got) != 1 || got[0] != "2" {
		t.Fatalf("GET %q, want a ping", got)
	}
	expectClose(t, s, ReasonPingTimeout, nil)
}

func TestCompression(t *testing.T) {
	big := strings.Repeat("abcdefgh", 200) // 1600 bytes
	tests := []struct {
		name     string
		opts     *Options
		accept   string
		text     string
		encoding string
	}{
		{name: "gzip", accept: "gzip, deflate, br", text: big, encoding: "gzip"},
		{name: "deflate", accept: "deflate", text: big, encoding: "deflate"},
		{name: "wildcard", accept: "*", text: big, encoding: "gzip"},
		{name: "gzip refused", accept: "gzip;q=0, deflate", text: big, encoding: "deflate"},
		{name: "all refused", accept: "gzip;q=0, deflate;q=0.0", text: big},
		{name: "identity", accept: "identity", text: big},
		{name: "no header", text: big},
		{name: "under threshold", accept: "gzip", text: strings.Repeat("x", 1000)},
		{name: "at threshold", accept: "gzip", text: strings.Repeat("x", 1023), encoding: "gzip"},
		{name: "disabled", opts: &Options{HTTPCompression: &CompressionOptions{Disable: true}}, accept: "gzip", text: big},
		{name: "custom threshold", opts: &Options{HTTPCompression: &CompressionOptions{Threshold: 50}}, accept: "gzip", text: strings.Repeat("x", 49), encoding: "gzip"},
		{name: "under custom threshold", opts: &Options{HTTPCompression: &CompressionOptions{Threshold: 50}}, accept: "gzip", text: strings.Repeat("x", 48)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts)
			sid, _, s := e.handshake()
			s.c.SendText([]byte(tt.text))
			var hdr http.Header
			if tt.accept != "" {
				hdr = http.Header{"Accept-Encoding": {tt.accept}}
			}
			resp, body := e.mustDo(http.MethodGet, "EIO=4&transport=polling&sid="+sid, nil, hdr)
			if ce := resp.Header.Get("Content-Encoding"); ce != tt.encoding {
				t.Fatalf("Content-Encoding %q, want %q", ce, tt.encoding)
			}
			plain := []byte(body)
			switch tt.encoding {
			case "gzip":
				zr, err := gzip.NewReader(strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if plain, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			case "deflate":
				// Node's deflate is the zlib format.
				zr, err := zlib.NewReader(strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if plain, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if tt.encoding != "" && len(body) >= len(plain) {
				t.Errorf("compressed %d bytes into %d", len(plain), len(body))
			}
			if !bytes.Equal(plain, []byte("4"+tt.text)) {
				t.Errorf("body %.40q..., want 4%.40q...", plain, tt.text)
			}
		})
	}
}

func TestVolatilePolling(t *testing.T) {
	e := newEnv(t, &Options{MaxBufferedBytes: 4096})
	sid, _, s := e.handshake()
	// No GET waiting: volatile messages are dropped, without error, and do
	// not count against the queue bound.
	m := NewTextMessage(bytes.Repeat([]byte("v"), 1000))
	for range 100 {
		if err := s.c.Send(true, m); err != nil {
			t.Fatalf("volatile Send: %v", err)
		}
	}
	s.c.SendText([]byte("kept"))
	if err := s.c.Send(true, m); err != nil {
		t.Fatalf("volatile Send: %v", err)
	}
	if got := e.poll(sid); len(got) != 1 || got[0] != "4kept" {
		t.Fatalf("GET %q, want only the non-volatile message", got)
	}
	// A waiting GET makes the transport writable.
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	pending := e.pollAsync(ctx, sid)
	waitPolling(t, s.c)
	if err := s.c.Send(true, NewTextMessage([]byte("v"))); err != nil {
		t.Fatal(err)
	}
	if r := recv(t, pending, "GET"); r.body != "4v" {
		t.Errorf("GET %+v, want the volatile message", r)
	}
	if e.srv.Conn(sid) == nil {
		t.Errorf("session closed")
	}
}

// A POST whose client goes away in the middle of the body ends the session.
func TestPollingPostAborted(t *testing.T) {
	e := newEnv(t, nil)
	sid, _, s := e.handshake()
	conn, err := net.DialTimeout("tcp", e.ts.Listener.Addr().String(), waitTime)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /engine.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n4partial", sid)
	waitFor(t, "POST being read", func() bool {
		s.c.mu.Lock()
		defer s.c.mu.Unlock()
		return s.c.post != nil
	})
	conn.Close()
	expectClose(t, s, ReasonTransportError, nil)
	expectNone(t, s.msgs, 0, "message")
}

// A session closed by its OnConnection callback sends the open packet and
// what was queued in the handshake response, and the close packet next.
func TestPollingCloseInOnConnection(t *testing.T) {
	e := newEnvWith(t, nil, envConfig{onConn: func(s *session) { s.c.SendText([]byte("bye")); s.c.Close() }})
	resp, body := e.get("EIO=4&transport=polling")
	packets := strings.Split(body, "\x1e")
	if resp.StatusCode != http.StatusOK || len(packets) != 2 || packets[1] != "4bye" {
		t.Fatalf("handshake: %d %q", resp.StatusCode, packets)
	}
	sid := parseOpen(t, packets[0]).SID
	if got := e.poll(sid); len(got) != 1 || got[0] != "1" {
		t.Errorf("GET %q, want a close packet", got)
	}
	expectClose(t, e.nextSession(), ReasonForcedClose, nil)
	if n := e.srv.ClientsCount(); n != 0 {
		t.Errorf("ClientsCount() = %d", n)
	}
}
