package websocket

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// testTimeout bounds every blocking step of the tests.
const testTimeout = 10 * time.Second

var testKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// rawFrame builds a frame independently of the package's encoder.
// b0 is the complete first byte (FIN, RSV, opcode).
func rawFrame(b0 byte, payload []byte, masked bool) []byte {
	var f []byte
	var mb byte
	if masked {
		mb = 0x80
	}
	n := len(payload)
	switch {
	case n < 126:
		f = append(f, b0, mb|byte(n))
	case n < 65536:
		f = append(f, b0, mb|126, byte(n>>8), byte(n))
	default:
		f = append(f, b0, mb|127)
		for i := 7; i >= 0; i-- {
			f = append(f, byte(uint64(n)>>(8*i)))
		}
	}
	if masked {
		f = append(f, testKey[:]...)
		for i, b := range payload {
			f = append(f, b^testKey[i%4])
		}
	} else {
		f = append(f, payload...)
	}
	return f
}

// cf builds a masked client frame with FIN set.
func cf(op Opcode, payload []byte) []byte { return rawFrame(0x80|byte(op), payload, true) }

// closeBody builds a close frame payload.
func closeBody(code int, reason string) []byte {
	p := binary.BigEndian.AppendUint16(nil, uint16(code))
	return append(p, reason...)
}

// rawRead reads one frame from br, returning its first byte and payload
// (unmasked if it was masked).
func rawRead(br *bufio.Reader) (b0 byte, masked bool, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(br, h[:]); err != nil {
		return
	}
	b0 = h[0]
	masked = h[1]&0x80 != 0
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var e [2]byte
		if _, err = io.ReadFull(br, e[:]); err != nil {
			return
		}
		n = uint64(binary.BigEndian.Uint16(e[:]))
	case 127:
		var e [8]byte
		if _, err = io.ReadFull(br, e[:]); err != nil {
			return
		}
		n = binary.BigEndian.Uint64(e[:])
	}
	var key [4]byte
	if masked {
		if _, err = io.ReadFull(br, key[:]); err != nil {
			return
		}
	}
	payload = make([]byte, n)
	if _, err = io.ReadFull(br, payload); err != nil {
		return
	}
	if masked {
		for i := range payload {
			payload[i] ^= key[i%4]
		}
	}
	return
}

// testServer is an httptest server whose handler accepts a WebSocket and
// runs fn; the error of the handler's last ReadMessage (if fn returns one)
// is sent on errs.
type testServer struct {
	*httptest.Server
	errs chan error
}

func (s *testServer) wsURL() string { return "ws://" + strings.TrimPrefix(s.URL, "http://") }

// nextErr waits for the server handler's result.
func (s *testServer) nextErr(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.errs:
		return err
	case <-time.After(testTimeout):
		t.Fatal("timeout waiting for server handler")
		return nil
	}
}

func newTestServer(t *testing.T, fn func(c *Conn) error) *testServer {
	t.Helper()
	ts := &testServer{errs: make(chan error, 16)}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, http.Header{"X-Test": {"yes"}})
		if err != nil {
			var he *HandshakeError
			if errors.As(err, &he) {
				if he.Status == http.StatusUpgradeRequired {
					w.Header().Set("Sec-WebSocket-Version", "13")
				}
				http.Error(w, he.Message, he.Status)
			}
			ts.errs <- err
			return
		}
		c.NetConn().SetDeadline(time.Now().Add(testTimeout))
		ts.errs <- fn(c)
	}))
	t.Cleanup(ts.Close)
	return ts
}

// echo is a server loop that echoes every message until ReadMessage fails.
func echo(c *Conn) error {
	for {
		op, msg, err := c.ReadMessage()
		if err != nil {
			return err
		}
		if err := c.WriteMessage(op, msg); err != nil {
			return err
		}
	}
}

// rawHandshake is the RFC 6455 example key and its accept value.
const (
	rawKey    = "dGhlIHNhbXBsZSBub25jZQ=="
	rawAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

func handshakeRequest(host string) string {
	return "GET /ws HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" +
		"Sec-WebSocket-Key: " + rawKey + "\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
		"Sec-WebSocket-Protocol: chat, superchat\r\n\r\n"
}

// rawClient opens a TCP connection to the test server and performs the
// handshake by hand; extra is written in the same write as the request.
func rawClient(t *testing.T, ts *testServer, extra []byte) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", ts.Listener.Addr().String(), testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(testTimeout))
	req := append([]byte(handshakeRequest(ts.Listener.Addr().String())), extra...)
	if _, err := nc.Write(req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != rawAccept {
		t.Fatalf("accept %q", got)
	}
	if resp.Header.Get("X-Test") != "yes" {
		t.Fatalf("extra response header missing: %v", resp.Header)
	}
	if resp.Header.Get("Sec-WebSocket-Extensions") != "" || resp.Header.Get("Sec-WebSocket-Protocol") != "" {
		t.Fatalf("unexpected negotiation: %v", resp.Header)
	}
	return nc, br
}

// expectClose reads frames from br until a close frame and checks its code.
func expectClose(t *testing.T, br *bufio.Reader, wantCode int) {
	t.Helper()
	for {
		b0, masked, p, err := rawRead(br)
		if err != nil {
			t.Fatalf("reading close frame: %v", err)
		}
		if masked {
			t.Fatal("server sent a masked frame")
		}
		if Opcode(b0&0xf) != OpClose {
			continue
		}
		if wantCode == CloseNoStatus {
			if len(p) != 0 {
				t.Fatalf("close payload %x, want empty", p)
			}
			return
		}
		if len(p) < 2 {
			t.Fatalf("close payload %x, want code %d", p, wantCode)
		}
		if got := int(binary.BigEndian.Uint16(p)); got != wantCode {
			t.Fatalf("close code %d (%q), want %d", got, p[2:], wantCode)
		}
		return
	}
}

// rawServer is a TCP listener that performs a hand-written server
// handshake and then runs fn on the raw connection.
func rawServer(t *testing.T, fn func(nc net.Conn, br *bufio.Reader, key string)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(testTimeout))
		br := bufio.NewReader(nc)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		fn(nc, br, req.Header.Get("Sec-WebSocket-Key"))
	}()
	return "ws://" + ln.Addr().String() + "/"
}

func switchingResponse(key string) []byte {
	return []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		computeAcceptKey(key) + "\r\n\r\n")
}

// fakeConn is a net.Conn reading from r and writing to w (io.Discard if
// nil), for tests that need no network.
type fakeConn struct {
	r      io.Reader
	w      io.Writer
	mu     sync.Mutex
	closed bool
}

func (f *fakeConn) Read(p []byte) (int, error) { return f.r.Read(p) }
func (f *fakeConn) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, net.ErrClosed
	}
	if f.w == nil {
		return len(p), nil
	}
	return f.w.Write(p)
}
func (f *fakeConn) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	return nil
}
func (f *fakeConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (f *fakeConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (f *fakeConn) SetDeadline(time.Time) error      { return nil }
func (f *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (f *fakeConn) SetWriteDeadline(time.Time) error { return nil }

// fakeServer returns a server Conn reading stream and recording its
// writes into out.
func fakeServer(stream io.Reader, out *bytes.Buffer) *Conn {
	var w io.Writer
	if out != nil {
		w = out
	}
	return newConn(&fakeConn{r: stream, w: w}, false, nil)
}

// newTLSTestServer is an HTTPS test server echoing WebSocket messages.
func newTLSTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, nil)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		c.NetConn().SetDeadline(time.Now().Add(testTimeout))
		echo(c)
		c.Close(CloseNormal, "")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// newPlainServer is an HTTP test server with handler h.
func newPlainServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
