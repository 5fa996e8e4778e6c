package websocket

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/netpoll"
)

// Tests of permessage-deflate (RFC 7692): negotiation on both sides, the
// Autobahn 12.x (compressed messages) and 13.x (negotiated parameters)
// equivalents, and what a hostile peer may send.

// repetitive is text that compresses well.
func repetitive(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = "socket.io permessage-deflate "[i%29]
	}
	return b
}

// randomBytes does not compress.
func randomBytes(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// jsonish is like a Socket.IO event: compressible, with repeats far apart.
func jsonish(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`42["update",[`)
	for i := 0; b.Len() < n-2; i++ {
		fmt.Fprintf(&b, `{"id":%d,"name":"user%d","room":"lobby-%d","online":%v},`, i, i*7919%100000, i%13, i%3 == 0)
	}
	out := b.Bytes()[:n-2]
	return append(out, "]]"...)
}

// testDeflate compresses p as a peer would, with compress/flate directly:
// a sync flush whose marker is removed.
func testDeflate(t testing.TB, p []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	fw, _ := flate.NewWriter(&b, flate.DefaultCompression)
	fw.Write(p)
	fw.Flush()
	out := b.Bytes()
	if !bytes.HasSuffix(out, syncMarker) {
		t.Fatal("no sync marker")
	}
	return out[:len(out)-4]
}

// testInflate decompresses a message body the way RFC 7692 says.
func testInflate(body []byte) ([]byte, error) {
	return io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(body), bytes.NewReader(inflateTail))))
}

// ccf is a compressed masked client frame of op (FIN set).
func ccf(t testing.TB, op Opcode, payload []byte) []byte {
	return rawFrame(0xC0|byte(op), testDeflate(t, payload), true)
}

// fragments splits a message body into frames of at most size bytes
// (0: one frame), RSV1 on the first one only when compressed.
func fragments(op Opcode, body []byte, size int, compressed bool) [][]byte {
	if size <= 0 || size >= len(body) {
		size = max(len(body), 1)
	}
	var out [][]byte
	for i := 0; i == 0 || i < len(body); i += size {
		b0 := byte(OpContinuation)
		if i == 0 {
			b0 = byte(op)
			if compressed {
				b0 |= rsv1Bit
			}
		}
		end := min(i+size, len(body))
		if end == len(body) {
			b0 |= finBit
		}
		out = append(out, rawFrame(b0, body[i:end], true))
	}
	return out
}

// newDeflateServer is newTestServer whose Accept negotiates with o.
func newDeflateServer(t *testing.T, o *DeflateOptions, fn func(c *Conn) error) *testServer {
	t.Helper()
	ts := &testServer{errs: make(chan error, 16)}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := AcceptWith(w, r, &AcceptOptions{Deflate: o})
		if err != nil {
			http.Error(w, err.Error(), 400)
			ts.errs <- err
			return
		}
		c.NetConn().SetDeadline(time.Now().Add(testTimeout))
		ts.errs <- fn(c)
	}))
	t.Cleanup(ts.Close)
	return ts
}

// rawDeflateClient handshakes by hand offering ext (none when empty) and
// returns the server's Sec-WebSocket-Extensions.
func rawDeflateClient(t *testing.T, ts *testServer, ext string) (net.Conn, *bufio.Reader, string) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", ts.Listener.Addr().String(), testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(testTimeout))
	req := "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + rawKey + "\r\nSec-WebSocket-Version: 13\r\n"
	if ext != "" {
		req += "Sec-WebSocket-Extensions: " + ext + "\r\n"
	}
	if _, err := nc.Write([]byte(req + "\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	return nc, br, resp.Header.Get("Sec-WebSocket-Extensions")
}

// readData reads the next data message from a raw client, skipping control
// frames, and inflates it when RSV1 is set; fragmented messages are
// reassembled.
func readData(t *testing.T, br *bufio.Reader) (op Opcode, payload []byte, compressed bool) {
	t.Helper()
	var body []byte
	started := false
	for {
		b0, masked, p, err := rawRead(br)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if masked {
			t.Fatal("masked frame from the server")
		}
		fop := Opcode(b0 & 0xf)
		if fop.isControl() {
			if b0&rsvBits != 0 {
				t.Fatal("control frame with RSV bits")
			}
			if fop == OpClose {
				t.Fatalf("close frame %x", p)
			}
			continue
		}
		if !started {
			op, compressed, started = fop, b0&rsv1Bit != 0, true
		} else if b0&rsvBits != 0 {
			t.Fatal("RSV bits on a continuation frame")
		}
		body = append(body, p...)
		if b0&finBit != 0 {
			break
		}
	}
	if !compressed {
		return op, body, false
	}
	out, err := testInflate(body)
	if err != nil {
		t.Fatalf("server sent invalid compressed data: %v", err)
	}
	return op, out, true
}

func TestDeflateNegotiation(t *testing.T) {
	const (
		bare = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
		w10  = "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_no_context_takeover"
	)
	var (
		plain    = &DeflateOptions{}
		takeover = &DeflateOptions{ContextTakeover: true}
		small    = &DeflateOptions{ContextTakeover: true, MaxWindowBits: 10}
	)
	tests := []struct {
		name     string
		opts     *DeflateOptions
		offer    []string
		want     string // "" declined
		write    uint8  // our window when accepted
		takeover bool   // the client may keep context
		readBits uint8
	}{
		{"no offer", plain, nil, "", 0, false, 0},
		{"bare offer", plain, []string{"permessage-deflate"}, bare, 15, false, 15},
		{"chromium's offer", plain, []string{"permessage-deflate; client_max_window_bits"}, bare, 15, false, 15},
		{"ws offer with both no_context", plain, []string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover"}, bare, 15, false, 15},
		{"case-insensitive", plain, []string{"PerMessage-Deflate;Client_Max_Window_Bits"}, bare, 15, false, 15},
		{"server_max_window_bits", plain, []string{"permessage-deflate; server_max_window_bits=10"}, w10, 10, false, 15},
		{"server_max_window_bits=8", plain, []string{"permessage-deflate; server_max_window_bits=8"}, strings.Replace(w10, "=10", "=8", 1), 8, false, 15},
		{"quoted value", plain, []string{`permessage-deflate; server_max_window_bits="10"`}, w10, 10, false, 15},
		{"other extension first", plain, []string{"x-webkit-deflate-frame, permessage-deflate"}, bare, 15, false, 15},
		{"two header fields", plain, []string{"foo; bar=1", "permessage-deflate"}, bare, 15, false, 15},
		{"empty list elements", plain, []string{" , permessage-deflate ,"}, bare, 15, false, 15},
		{"RFC 7692 7.1.3: first offer taken", plain, []string{"permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate; client_max_window_bits"}, w10, 10, false, 15},
		{"invalid first offer, second taken", plain, []string{"permessage-deflate; server_max_window_bits=7, permessage-deflate; client_max_window_bits"}, bare, 15, false, 15},
		{"server_max_window_bits without value", plain, []string{"permessage-deflate; server_max_window_bits"}, "", 0, false, 0},
		{"server_max_window_bits=16", plain, []string{"permessage-deflate; server_max_window_bits=16"}, "", 0, false, 0},
		{"server_max_window_bits=010", plain, []string{"permessage-deflate; server_max_window_bits=010"}, "", 0, false, 0},
		{"server_max_window_bits=9.5", plain, []string{"permessage-deflate; server_max_window_bits=9.5"}, "", 0, false, 0},
		{"client_max_window_bits=7", plain, []string{"permessage-deflate; client_max_window_bits=7"}, "", 0, false, 0},
		{"client_max_window_bits=16", plain, []string{"permessage-deflate; client_max_window_bits=16"}, "", 0, false, 0},
		{"no_context_takeover with a value", plain, []string{"permessage-deflate; server_no_context_takeover=1"}, "", 0, false, 0},
		{"duplicate parameter", plain, []string{"permessage-deflate; client_no_context_takeover; client_no_context_takeover"}, "", 0, false, 0},
		{"duplicate window bits", plain, []string{"permessage-deflate; client_max_window_bits; client_max_window_bits=10"}, "", 0, false, 0},
		{"unknown parameter", plain, []string{"permessage-deflate; foo"}, "", 0, false, 0},
		{"syntax: empty parameter", plain, []string{"permessage-deflate;"}, "", 0, false, 0},
		{"syntax: unterminated quote", plain, []string{`permessage-deflate; server_max_window_bits="10`}, "", 0, false, 0},
		{"syntax: two values", plain, []string{"permessage-deflate; a=b=c"}, "", 0, false, 0},
		{"syntax error declines every offer", plain, []string{"permessage-deflate, permessage-deflate; ;"}, "", 0, false, 0},
		{"other extension only", plain, []string{"x-webkit-deflate-frame"}, "", 0, false, 0},

		{"takeover: client keeps context", takeover, []string{"permessage-deflate; client_max_window_bits"}, "permessage-deflate; server_no_context_takeover", 15, true, 15},
		{"takeover: client gives it up", takeover, []string{"permessage-deflate; client_no_context_takeover"}, bare, 15, false, 15},
		{"takeover: client's own window", takeover, []string{"permessage-deflate; client_max_window_bits=12"}, "permessage-deflate; server_no_context_takeover", 15, true, 12},
		{"bounded: client asked for 10 bits", small, []string{"permessage-deflate; client_max_window_bits"}, "permessage-deflate; server_no_context_takeover; client_max_window_bits=10", 15, true, 10},
		{"bounded: client uses 9 bits", small, []string{"permessage-deflate; client_max_window_bits=9"}, "permessage-deflate; server_no_context_takeover", 15, true, 9},
		{"bounded: client cannot be bounded", small, []string{"permessage-deflate"}, bare, 15, false, 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, st := negotiateDeflate(tt.offer, tt.opts)
			if got != tt.want {
				t.Fatalf("answer %q, want %q", got, tt.want)
			}
			if (st != nil) != (tt.want != "") {
				t.Fatalf("state %v for answer %q", st, got)
			}
			if st == nil {
				return
			}
			if st.z.windowBits != tt.write || st.readTakeover != tt.takeover || st.readBits != tt.readBits || st.z.level != flate.BestSpeed {
				t.Fatalf("state %+v", *st)
			}
			// The answer is what a client accepts: our own client, with
			// the options matching the offer where it can make it.
		})
	}

	// On the wire: the answer header, and none without Deflate.
	ts := newDeflateServer(t, plain, func(c *Conn) error { return nil })
	if _, _, ext := rawDeflateClient(t, ts, "permessage-deflate; client_max_window_bits"); ext != bare {
		t.Fatalf("answer on the wire %q", ext)
	}
	ts2 := newTestServer(t, func(c *Conn) error { return nil })
	if _, _, ext := rawDeflateClient(t, ts2, "permessage-deflate"); ext != "" {
		t.Fatalf("Accept without Deflate answered %q", ext)
	}
}

func TestDialDeflate(t *testing.T) {
	const offer = "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover"
	const offer10 = "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_max_window_bits=10"
	plain := &DeflateOptions{}
	small := &DeflateOptions{ContextTakeover: true, MaxWindowBits: 10}
	tests := []struct {
		name     string
		opts     *DeflateOptions
		answer   string
		ok       bool
		on       bool
		write    uint8
		takeover bool
		readBits uint8
	}{
		{"declined", plain, "", true, false, 0, false, 0},
		{"accepted", plain, "permessage-deflate; server_no_context_takeover", true, true, 15, false, 15},
		{"with client_no_context_takeover", plain, "permessage-deflate; server_no_context_takeover; client_no_context_takeover", true, true, 15, false, 15},
		{"client window set by the server", plain, "permessage-deflate; server_no_context_takeover; client_max_window_bits=9", true, true, 9, false, 15},
		{"server tells its window", plain, "permessage-deflate; server_no_context_takeover; server_max_window_bits=12", true, true, 15, false, 12},
		{"server_no_context_takeover missing", plain, "permessage-deflate", false, false, 0, false, 0},
		{"client_max_window_bits without value", plain, "permessage-deflate; server_no_context_takeover; client_max_window_bits", false, false, 0, false, 0},
		{"client_max_window_bits=16", plain, "permessage-deflate; server_no_context_takeover; client_max_window_bits=16", false, false, 0, false, 0},
		{"unknown parameter", plain, "permessage-deflate; server_no_context_takeover; foo", false, false, 0, false, 0},
		{"duplicate parameter", plain, "permessage-deflate; server_no_context_takeover; server_no_context_takeover", false, false, 0, false, 0},
		{"extension not offered", plain, "x-webkit-deflate-frame", false, false, 0, false, 0},
		{"two extensions", plain, "permessage-deflate; server_no_context_takeover, permessage-deflate; server_no_context_takeover", false, false, 0, false, 0},
		{"malformed", plain, "permessage-deflate; =", false, false, 0, false, 0},

		{"takeover within the window", small, "permessage-deflate; server_max_window_bits=10", true, true, 15, true, 10},
		{"takeover, smaller window", small, "permessage-deflate; server_max_window_bits=9", true, true, 15, true, 9},
		{"window larger than offered", small, "permessage-deflate; server_max_window_bits=12", false, false, 0, false, 0},
		{"window not answered", small, "permessage-deflate", false, false, 0, false, 0},
		{"no context although allowed", small, "permessage-deflate; server_no_context_takeover; server_max_window_bits=10", true, true, 15, false, 10},
		{"not offered at all", nil, "permessage-deflate", false, false, 0, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := rawServer(t, func(nc net.Conn, br *bufio.Reader, key string) {
				resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + computeAcceptKey(key) + "\r\n"
				if tt.answer != "" {
					resp += "Sec-WebSocket-Extensions: " + tt.answer + "\r\n"
				}
				nc.Write([]byte(resp + "\r\n"))
				io.Copy(io.Discard, br)
			})
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			c, _, err := Dial(ctx, url, &DialOptions{Deflate: tt.opts})
			if !tt.ok {
				var he *HandshakeError
				if !errors.As(err, &he) || he.Status != 101 {
					t.Fatalf("Dial: %v, want a handshake error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(CloseNormal, "")
			z, on := c.Compressor()
			if on != tt.on {
				t.Fatalf("negotiated %v", on)
			}
			if !on {
				return
			}
			st := c.dfl
			if z.windowBits != tt.write || st.readTakeover != tt.takeover || st.readBits != tt.readBits {
				t.Fatalf("state %+v", *st)
			}
		})
	}

	// The offers on the wire.
	for _, tc := range []struct {
		opts *DeflateOptions
		want string
	}{{plain, offer}, {small, offer10}, {&DeflateOptions{ContextTakeover: true}, "permessage-deflate; client_no_context_takeover; client_max_window_bits"}} {
		got := make(chan string, 1)
		srv := newPlainServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got <- r.Header.Get("Sec-WebSocket-Extensions")
			http.Error(w, "no", 400)
		}))
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &DialOptions{Deflate: tc.opts})
		cancel()
		if g := <-got; g != tc.want {
			t.Fatalf("offer %q, want %q", g, tc.want)
		}
	}
}

// TestDeflateMessages is the equivalent of Autobahn's 12.x cases:
// compressed messages of many sizes and kinds, whole or fragmented (with
// control frames between fragments), echoed by the server, which
// compresses its answers; read by the blocking and the polled reader.
func TestDeflateMessages(t *testing.T) {
	sizes := []int{0, 1, 16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072}
	kinds := []struct {
		name string
		op   Opcode
		make func(n int) []byte
	}{
		{"text", OpText, repetitive},
		{"json", OpText, jsonish2},
		{"random binary", OpBinary, func(n int) []byte { return randomBytes(n, uint64(n)) }},
	}
	readers := []struct {
		name string
		fn   func(c *Conn) error
	}{{"blocking", echo}}
	if netpoll.Supported() {
		readers = append(readers, struct {
			name string
			fn   func(c *Conn) error
		}{"polled", pollEcho})
	}
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			ts := newDeflateServer(t, &DeflateOptions{Threshold: 64}, func(c *Conn) error {
				c.SetReadLimit(1 << 20)
				return rd.fn(c)
			})
			nc, br, ext := rawDeflateClient(t, ts, "permessage-deflate; client_max_window_bits")
			if ext == "" {
				t.Fatal("not negotiated")
			}
			for _, k := range kinds {
				for _, n := range sizes {
					p := k.make(n)
					body := testDeflate(t, p)
					for _, frag := range []int{0, 1, 100, 4096} {
						if frag == 1 && n > 256 || frag == 100 && n > 16384 {
							continue
						}
						nc.SetDeadline(time.Now().Add(testTimeout))
						var w []byte
						for i, f := range fragments(k.op, body, frag, true) {
							if i == 1 {
								w = append(w, cf(OpPing, []byte("between"))...)
							}
							w = append(w, f...)
						}
						// An uncompressed message after each compressed one.
						w = append(w, cf(k.op, p[:min(n, 30)])...)
						if _, err := nc.Write(w); err != nil {
							t.Fatal(err)
						}
						for i, want := range [][]byte{p, p[:min(n, 30)]} {
							op, got, compressed := readData(t, br)
							if op != k.op || !bytes.Equal(got, want) {
								t.Fatalf("%s %d frag %d msg %d: got %v %d bytes", k.name, n, frag, i, op, len(got))
							}
							// The threshold, and no compression when it
							// would not help.
							if (len(want) < 64 || k.name == "random binary") && compressed || len(want) >= 256 && k.name != "random binary" && !compressed {
								t.Fatalf("%s %d frag %d msg %d: compressed %v", k.name, n, frag, i, compressed)
							}
						}
					}
				}
			}
		})
	}
}

func jsonish2(n int) []byte {
	if n < 8 {
		return repetitive(n)
	}
	return jsonish(n)
}

// TestDeflateParameters is the equivalent of Autobahn's 13.x cases: the
// server under each combination of offered parameters (13.1 to 13.7),
// checked with the test decoder for the window it must keep to.
func TestDeflateParameters(t *testing.T) {
	cases := []struct {
		name   string
		offer  string
		window int // the farthest back-reference allowed
	}{
		{"13.1 defaults", "permessage-deflate", 1 << 15},
		{"13.2 client_no_context_takeover", "permessage-deflate; client_no_context_takeover; client_max_window_bits", 1 << 15},
		{"13.3 server_max_window_bits=8", "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_max_window_bits=8", 1 << 8},
		{"13.4 server_max_window_bits=15", "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_max_window_bits=15", 1 << 15},
		{"13.5 server_no_context_takeover, 8", "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=8", 1 << 8},
		{"13.6 server_no_context_takeover, 15", "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=15", 1 << 15},
		{"13.7 three offers", "permessage-deflate; server_no_context_takeover; server_max_window_bits=9, permessage-deflate; server_no_context_takeover, permessage-deflate", 1 << 9},
		{"server_max_window_bits=11", "permessage-deflate; server_max_window_bits=11", 1 << 11},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newDeflateServer(t, &DeflateOptions{}, func(c *Conn) error {
				c.SetReadLimit(1 << 20)
				return echo(c)
			})
			nc, br, ext := rawDeflateClient(t, ts, tc.offer)
			if !strings.Contains(ext, "server_no_context_takeover") {
				t.Fatalf("answer %q", ext)
			}
			for _, n := range []int{64, 300, 1000, 5000, 40000, 100000} {
				for _, p := range [][]byte{repetitive(n), jsonish2(n)} {
					if _, err := nc.Write(ccf(t, OpText, p)); err != nil {
						t.Fatal(err)
					}
					b0, _, body, err := rawRead(br)
					if err == nil && b0 == 0x81 && n < 1000 && bytes.Equal(body, p) {
						continue // small enough not to shrink with a small window
					}
					if err != nil || b0 != 0xC1 {
						t.Fatalf("%d: frame %x %v", n, b0, err)
					}
					got, dist, err := inflateCheck(append(body, inflateTail...))
					if err != nil || !bytes.Equal(got, p) {
						t.Fatalf("%d: %v", n, err)
					}
					if dist > tc.window {
						t.Fatalf("%d bytes: a back-reference of %d bytes, window %d", n, dist, tc.window)
					}
				}
			}
		})
	}
}

// TestDeflateContextTakeover: a peer that compresses with context (as
// Chromium and ws do when allowed) is understood, on both sides, and what
// is kept between messages is bounded by the window.
func TestDeflateContextTakeover(t *testing.T) {
	msgs := [][]byte{[]byte("hello hello hello"), []byte("hello world, hello world"), repetitive(3000), []byte("socket.io permessage-deflate socket.io"), jsonish(20000), []byte("x")}

	// A compressor that keeps its context: each message is a flush.
	contextFrames := func(t *testing.T, masked bool) []byte {
		var out, b bytes.Buffer
		fw, _ := flate.NewWriter(&b, flate.BestCompression)
		for _, m := range msgs {
			b.Reset()
			fw.Write(m)
			fw.Flush()
			body := bytes.TrimSuffix(b.Bytes(), syncMarker)
			out.Write(rawFrame(0xC1, body, masked))
		}
		return out.Bytes()
	}

	t.Run("server reads", func(t *testing.T) {
		kept := make(chan int, 1)
		ts := newDeflateServer(t, &DeflateOptions{ContextTakeover: true}, func(c *Conn) error {
			for _, want := range msgs {
				_, got, err := c.ReadMessage()
				if err != nil || !bytes.Equal(got, want) {
					return fmt.Errorf("got %q, %v", got, err)
				}
			}
			kept <- len(c.dfl.dict)
			return nil
		})
		nc, _, ext := rawDeflateClient(t, ts, "permessage-deflate; client_max_window_bits")
		if strings.Contains(ext, "client_no_context_takeover") {
			t.Fatalf("answer %q", ext)
		}
		nc.Write(contextFrames(t, true))
		if err := ts.nextErr(t); err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, m := range msgs {
			total += len(m)
		}
		if k := <-kept; k != min(total, 1<<15) {
			t.Fatalf("kept %d bytes", k)
		}
	})

	t.Run("server refuses it by default", func(t *testing.T) {
		ts := newDeflateServer(t, &DeflateOptions{}, func(c *Conn) error {
			for range 5 {
				if _, _, err := c.ReadMessage(); err != nil {
					return err
				}
			}
			if c.dfl.dict != nil {
				return errors.New("a window kept without context takeover")
			}
			return nil
		})
		nc, _, ext := rawDeflateClient(t, ts, "permessage-deflate; client_max_window_bits")
		if !strings.Contains(ext, "client_no_context_takeover") {
			t.Fatalf("answer %q", ext)
		}
		for range 5 {
			nc.Write(ccf(t, OpText, repetitive(2000)))
		}
		if err := ts.nextErr(t); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("client reads", func(t *testing.T) {
		url := rawServer(t, func(nc net.Conn, br *bufio.Reader, key string) {
			nc.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
				computeAcceptKey(key) + "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"))
			nc.Write(contextFrames(t, false))
			io.Copy(io.Discard, br)
		})
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		c, _, err := Dial(ctx, url, &DialOptions{Deflate: &DeflateOptions{ContextTakeover: true}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(CloseNormal, "")
		c.NetConn().SetDeadline(time.Now().Add(testTimeout))
		for _, want := range msgs {
			_, got, err := c.ReadMessage()
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("got %q, %v", got, err)
			}
		}
	})

	t.Run("window kept is bounded", func(t *testing.T) {
		d := &deflateState{readTakeover: true, readBits: 9}
		d.remember(repetitive(700))
		if !bytes.Equal(d.dict, repetitive(700)[188:]) {
			t.Fatalf("dict %d bytes", len(d.dict))
		}
		d.remember([]byte("tail"))
		want := append(repetitive(700)[192:], "tail"...)
		if !bytes.Equal(d.dict, want) || cap(d.dict) > 1024 {
			t.Fatalf("dict %d bytes, cap %d", len(d.dict), cap(d.dict))
		}
		// A client asked for a small window: 9 bits is what is kept.
		ts := newDeflateServer(t, &DeflateOptions{ContextTakeover: true, MaxWindowBits: 9}, func(c *Conn) error {
			for _, want := range [][]byte{[]byte("abcabcabc"), []byte("abcabc!")} {
				if _, got, err := c.ReadMessage(); err != nil || !bytes.Equal(got, want) {
					return fmt.Errorf("got %q, %v", got, err)
				}
			}
			if cap(c.dfl.dict) > 512 {
				return fmt.Errorf("dict cap %d", cap(c.dfl.dict))
			}
			return nil
		})
		nc, _, ext := rawDeflateClient(t, ts, "permessage-deflate; client_max_window_bits")
		if !strings.HasSuffix(ext, "client_max_window_bits=9") {
			t.Fatalf("answer %q", ext)
		}
		var b bytes.Buffer
		fw, _ := flate.NewWriter(&b, flate.BestCompression)
		for _, m := range []string{"abcabcabc", "abcabc!"} {
			b.Reset()
			fw.Write([]byte(m))
			fw.Flush()
			nc.Write(rawFrame(0xC1, bytes.TrimSuffix(b.Bytes(), syncMarker), true))
		}
		if err := ts.nextErr(t); err != nil {
			t.Fatal(err)
		}
	})
}

// TestDeflateClient: the Go client and server with compression, both
// directions, the client keeping to the window the server set.
func TestDeflateClient(t *testing.T) {
	ts := newDeflateServer(t, &DeflateOptions{ContextTakeover: true, MaxWindowBits: 10}, func(c *Conn) error {
		c.SetReadLimit(1 << 20)
		return echo(c)
	})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, resp, err := Dial(ctx, ts.wsURL(), &DialOptions{Deflate: &DeflateOptions{Threshold: 10}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(CloseNormal, "")
	if got := resp.Header.Get("Sec-WebSocket-Extensions"); got != "permessage-deflate; server_no_context_takeover; client_no_context_takeover" {
		t.Fatalf("answer %q", got)
	}
	c.SetReadLimit(1 << 20)
	c.NetConn().SetDeadline(time.Now().Add(testTimeout))
	for _, p := range [][]byte{[]byte("short"), repetitive(100), jsonish(70000), randomBytes(5000, 3)} {
		if err := c.WriteMessage(OpBinary, p); err != nil {
			t.Fatal(err)
		}
		if _, got, err := c.ReadMessage(); err != nil || !bytes.Equal(got, p) {
			t.Fatalf("%d bytes: %v", len(p), err)
		}
	}
}

// TestDeflateClientWindow: a server that asks the client for a small
// window gets compressed data that keeps to it.
func TestDeflateClientWindow(t *testing.T) {
	got := make(chan error, 1)
	url := rawServer(t, func(nc net.Conn, br *bufio.Reader, key string) {
		nc.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
			computeAcceptKey(key) + "\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits=9\r\n\r\n"))
		b0, masked, body, err := rawRead(br)
		if err == nil && (b0 != 0xC1 || !masked) {
			err = fmt.Errorf("frame %x masked %v", b0, masked)
		}
		if err == nil {
			var p []byte
			var dist int
			p, dist, err = inflateCheck(append(body, inflateTail...))
			if err == nil && (dist > 512 || !bytes.Equal(p, jsonish(30000))) {
				err = fmt.Errorf("distance %d, %d bytes", dist, len(p))
			}
		}
		got <- err
	})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, _, err := Dial(ctx, url, &DialOptions{Deflate: &DeflateOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(CloseNormal, "")
	if err := c.WriteMessage(OpText, jsonish(30000)); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

// TestDeflateViolations: what RFC 7692 and RFC 6455 forbid, with
// permessage-deflate negotiated, ends the connection with the right code,
// on the blocking and on the polled reader.
func TestDeflateViolations(t *testing.T) {
	bad := func(b ...byte) []byte { return b }
	half := testDeflate(t, jsonish(1000))
	half = half[:len(half)/2]
	// Back-references into a dictionary the receiver does not have.
	var withDict bytes.Buffer
	fw, _ := flate.NewWriterDict(&withDict, flate.BestCompression, repetitive(200))
	fw.Write(repetitive(200))
	fw.Flush()
	farBack := bytes.TrimSuffix(withDict.Bytes(), syncMarker)
	bomb := testDeflate(t, make([]byte, 3000))
	tests := []struct {
		name   string
		frames [][]byte
		code   int
	}{
		{"rsv1 on ping", [][]byte{rawFrame(0xC0|byte(OpPing), nil, true)}, CloseProtocolError},
		{"rsv1 on pong", [][]byte{rawFrame(0xC0|byte(OpPong), nil, true)}, CloseProtocolError},
		{"rsv1 on close", [][]byte{rawFrame(0xC0|byte(OpClose), closeBody(1000, ""), true)}, CloseProtocolError},
		{"rsv1 on a continuation", [][]byte{rawFrame(0x40|byte(OpText), testDeflate(t, []byte("ab")), true), rawFrame(0xC0, nil, true)}, CloseProtocolError},
		{"rsv1 on an uncompressed message's continuation", [][]byte{rawFrame(byte(OpText), []byte("a"), true), rawFrame(0xC0, []byte("b"), true)}, CloseProtocolError},
		{"rsv2", [][]byte{rawFrame(0xA1, []byte("hi"), true)}, CloseProtocolError},
		{"rsv3", [][]byte{rawFrame(0x91, []byte("hi"), true)}, CloseProtocolError},
		{"rsv1 and rsv2", [][]byte{rawFrame(0xE1, testDeflate(t, []byte("hi")), true)}, CloseProtocolError},
		{"reserved block type", [][]byte{rawFrame(0xC2, bad(0x07, 0x00), true)}, CloseInvalidPayload},
		{"garbage", [][]byte{rawFrame(0xC2, bytes.Repeat([]byte{0xff}, 40), true)}, CloseInvalidPayload},
		{"stored block length mismatch", [][]byte{rawFrame(0xC2, bad(0x00, 0x05, 0x00, 0x00, 0x00, 'a'), true)}, CloseInvalidPayload},
		{"truncated data", [][]byte{rawFrame(0xC1, half, true)}, CloseInvalidPayload},
		{"distance before the start", [][]byte{rawFrame(0xC2, farBack, true)}, CloseInvalidPayload},
		{"invalid UTF-8 once inflated", [][]byte{ccf(t, OpText, []byte{'a', 0xff, 'b'})}, CloseInvalidPayload},
		{"invalid UTF-8 across fragments", fragments(OpText, testDeflate(t, []byte("héllo\xc0\xaf")), 2, true), CloseInvalidPayload},
		{"inflates past the limit", [][]byte{rawFrame(0xC2, bomb, true)}, CloseMessageTooBig},
		{"compressed size past the limit", [][]byte{rawFrame(0xC2, randomBytes(2200, 9), true)}, CloseMessageTooBig},
	}
	readers := map[string]func(c *Conn) error{"blocking": echo}
	if netpoll.Supported() {
		readers["polled"] = pollEcho
	}
	for rname, fn := range readers {
		for _, tt := range tests {
			t.Run(rname+"/"+tt.name, func(t *testing.T) {
				ts := newDeflateServer(t, &DeflateOptions{}, func(c *Conn) error {
					c.SetReadLimit(1024)
					return fn(c)
				})
				nc, br, _ := rawDeflateClient(t, ts, "permessage-deflate")
				for _, f := range tt.frames {
					if _, err := nc.Write(f); err != nil {
						t.Fatal(err)
					}
				}
				expectClose(t, br, tt.code)
				err := ts.nextErr(t)
				var ce *CloseError
				if !errors.As(err, &ce) || ce.Code != tt.code {
					t.Fatalf("server err %v, want code %d", err, tt.code)
				}
				if tt.code == CloseMessageTooBig && (!errors.Is(err, ErrMessageTooBig) || ce.Reason != "Max payload size exceeded") {
					t.Fatalf("server err %v", err)
				}
				if _, err := br.ReadByte(); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
					t.Fatalf("connection not closed: %v", err)
				}
			})
		}
	}
}

// TestDeflateBomb: a message that inflates to 256 MiB is stopped at the
// read limit without inflating much past it, on both readers.
func TestDeflateBomb(t *testing.T) {
	// Once the window is all zeros, a compressor turns every MiB of zeros
	// into the same bytes: the bomb repeats them rather than compressing
	// 256 MiB (slow under the race detector).
	var b bytes.Buffer
	fw, _ := flate.NewWriter(&b, flate.BestSpeed)
	zeros := make([]byte, 1<<20)
	var parts [][]byte
	for range 3 {
		b.Reset()
		fw.Write(zeros)
		fw.Flush()
		parts = append(parts, bytes.Clone(b.Bytes()))
	}
	if !bytes.Equal(parts[1], parts[2]) {
		t.Fatal("compressed MiBs differ")
	}
	body := append(parts[0], bytes.Repeat(parts[1], 255)...)
	body = bytes.TrimSuffix(body, syncMarker)
	frame := rawFrame(0xC2, body, true)

	readers := map[string]func(c *Conn) error{"blocking": echo}
	if netpoll.Supported() {
		readers["polled"] = pollEcho
	}
	for name, fn := range readers {
		t.Run(name, func(t *testing.T) {
			ts := newDeflateServer(t, &DeflateOptions{}, func(c *Conn) error {
				c.SetReadLimit(1 << 20)
				return fn(c)
			})
			nc, br, _ := rawDeflateClient(t, ts, "permessage-deflate")
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			if _, err := nc.Write(frame); err != nil {
				t.Fatal(err)
			}
			expectClose(t, br, CloseMessageTooBig)
			if err := ts.nextErr(t); !errors.Is(err, ErrMessageTooBig) {
				t.Fatalf("server: %v", err)
			}
			runtime.ReadMemStats(&after)
			// The compressed frame (about 250 KB) is read whole; the
			// output stops at the 1 MiB limit (a buffer of 1 MiB + 1).
			if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
				t.Fatalf("allocated %d MiB to refuse the message", n>>20)
			}
		})
	}
}

// TestDeflateRSV1WithoutNegotiation: RSV1 means nothing unless
// permessage-deflate was negotiated.
func TestDeflateRSV1WithoutNegotiation(t *testing.T) {
	ts := newDeflateServer(t, &DeflateOptions{}, echo)
	nc, br, ext := rawDeflateClient(t, ts, "")
	if ext != "" {
		t.Fatalf("answer %q without an offer", ext)
	}
	nc.Write(ccf(t, OpText, []byte("hello")))
	expectClose(t, br, CloseProtocolError)
}

func TestCompressorFrame(t *testing.T) {
	z := Compressor{level: flate.BestSpeed, windowBits: 15}
	if z != (Compressor{level: flate.BestSpeed, windowBits: 15}) {
		t.Fatal("Compressor not comparable")
	}
	p := jsonish(5000)
	f, ok := z.AppendFrame([]byte("prefix"), OpText, p)
	if !ok || string(f[:6]) != "prefix" || f[6] != 0xC1 {
		t.Fatalf("frame %x... %v", f[:min(len(f), 10)], ok)
	}
	br := bufio.NewReader(bytes.NewReader(f[6:]))
	_, _, body, err := rawRead(br)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := testInflate(body); err != nil || !bytes.Equal(got, p) {
		t.Fatalf("%v", err)
	}
	for _, p := range [][]byte{nil, []byte("ab"), randomBytes(1000, 5)} {
		if f, ok := z.AppendFrame([]byte("x"), OpBinary, p); ok || string(f) != "x" {
			t.Fatalf("%d bytes compressed: %v %q", len(p), ok, f)
		}
	}
}

// TestDeflateWriteThreshold: WriteMessage compresses from the threshold
// on, and not what does not shrink.
func TestDeflateWriteThreshold(t *testing.T) {
	ts := newDeflateServer(t, &DeflateOptions{Threshold: 100}, func(c *Conn) error {
		for _, p := range [][]byte{repetitive(99), repetitive(100), randomBytes(500, 1), repetitive(1000)} {
			if err := c.WriteMessage(OpBinary, p); err != nil {
				return err
			}
		}
		return nil
	})
	_, br, _ := rawDeflateClient(t, ts, "permessage-deflate")
	for i, want := range []bool{false, true, false, true} {
		if _, _, z := readData(t, br); z != want {
			t.Fatalf("message %d compressed %v", i, z)
		}
	}
}

// TestDeflateIdleHoldsNothing: between messages a Conn keeps no
// compressor, decompressor or window (without context takeover).
func TestDeflateIdleHoldsNothing(t *testing.T) {
	c := fakeServer(bytes.NewReader(append(ccf(t, OpText, repetitive(5000)), ccf(t, OpBinary, jsonish(9000))...)), nil)
	c.dfl = &deflateState{z: Compressor{level: 1, windowBits: 15}, readBits: 15}
	for range 2 {
		if _, _, err := c.ReadMessage(); err != nil {
			t.Fatal(err)
		}
		if c.dfl.dict != nil || c.rkind == rbufPooled {
			t.Fatalf("kept dict %d, read buffer kind %d", len(c.dfl.dict), c.rkind)
		}
		if err := c.WriteMessage(OpText, repetitive(5000)); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzInflate: whatever the input, inflate never returns more than the
// limit, and never panics.
func FuzzInflate(f *testing.F) {
	for _, s := range [][]byte{nil, {0x00}, testDeflate(f, repetitive(3000)), testDeflate(f, make([]byte, 100000)), {0xff, 0xff}, {0x00, 0x05, 0x00, 0x00, 0x00}} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, takeover bool) {
		d := &deflateState{readTakeover: takeover, readBits: 10}
		for range 2 {
			out, err := inflate(data, 4096, d)
			if err == nil && len(out) > 4096 {
				t.Fatalf("%d bytes over the limit", len(out))
			}
			if len(d.dict) > 1024 {
				t.Fatalf("dict %d", len(d.dict))
			}
		}
	})
}
