package websocket

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func dialTest(t *testing.T, url string) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, resp, err := Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if !c.IsClient() {
		t.Fatal("IsClient false")
	}
	c.NetConn().SetDeadline(time.Now().Add(testTimeout))
	t.Cleanup(func() { c.Close(CloseNormal, "") })
	return c
}

func TestRoundTrip(t *testing.T) {
	ts := newTestServer(t, func(c *Conn) error {
		if c.IsClient() {
			return errors.New("server conn reports client")
		}
		c.SetReadLimit(2 << 20)
		return echo(c)
	})
	c := dialTest(t, ts.wsURL())
	c.SetReadLimit(2 << 20)
	sizes := []int{0, 1, 125, 126, 127, 4086, 4087, 65535, 65536, 1 << 20}
	for _, op := range []Opcode{OpText, OpBinary} {
		for _, n := range sizes {
			p := make([]byte, n)
			for i := range p {
				p[i] = 'a' + byte(i%26)
			}
			if err := c.WriteMessage(op, p); err != nil {
				t.Fatalf("%v %d: write: %v", op, n, err)
			}
			gop, got, err := c.ReadMessage()
			if err != nil {
				t.Fatalf("%v %d: read: %v", op, n, err)
			}
			if gop != op || !bytes.Equal(got, p) {
				t.Fatalf("%v %d: got %v len %d", op, n, gop, len(got))
			}
			if got == nil {
				t.Fatal("nil payload for empty message")
			}
		}
	}
	if err := c.Close(CloseNormal, "done"); err != nil {
		t.Fatal(err)
	}
	var ce *CloseError
	if err := ts.nextErr(t); !errors.As(err, &ce) || ce.Code != CloseNormal || ce.Reason != "done" {
		t.Fatalf("server: %v", err)
	}
	if err := c.Close(CloseNormal, ""); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := c.WriteMessage(OpText, []byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	if _, _, err := c.ReadMessage(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
}

func TestWSS(t *testing.T) {
	srv := newTLSTestServer(t)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	u := "wss://" + strings.TrimPrefix(srv.URL, "https://")
	c, _, err := Dial(ctx, u, &DialOptions{TLSConfig: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(CloseNormal, "")
	c.NetConn().SetDeadline(time.Now().Add(testTimeout))
	for _, n := range []int{5, 70000} {
		p := bytes.Repeat([]byte("z"), n)
		if err := c.WriteMessage(OpBinary, p); err != nil {
			t.Fatal(err)
		}
		if _, got, err := c.ReadMessage(); err != nil || !bytes.Equal(got, p) {
			t.Fatalf("n=%d: %v", n, err)
		}
	}
}

func TestFragmentedMessage(t *testing.T) {
	ts := newTestServer(t, echo)
	nc, br := rawClient(t, ts, nil)
	// "héllo" split in the middle of the 2-byte "é", with a ping between
	// the fragments.
	msg := []byte("héllo wörld")
	var w []byte
	w = append(w, rawFrame(byte(OpText), msg[:2], true)...)
	w = append(w, cf(OpPing, []byte("p1"))...)
	w = append(w, rawFrame(byte(OpContinuation), msg[2:7], true)...)
	w = append(w, cf(OpPong, []byte("unsolicited"))...)
	w = append(w, rawFrame(byte(OpContinuation), nil, true)...)
	w = append(w, rawFrame(0x80|byte(OpContinuation), msg[7:], true)...)
	if _, err := nc.Write(w); err != nil {
		t.Fatal(err)
	}
	b0, _, p, err := rawRead(br)
	if err != nil || b0 != 0x80|byte(OpPong) || string(p) != "p1" {
		t.Fatalf("pong: %x %q %v", b0, p, err)
	}
	b0, _, p, err = rawRead(br)
	if err != nil || b0 != 0x80|byte(OpText) || !bytes.Equal(p, msg) {
		t.Fatalf("echo: %x %q %v", b0, p, err)
	}
	// Binary fragmented into many pieces, written one frame per write.
	var want []byte
	for i := range 20 {
		piece := bytes.Repeat([]byte{byte(i)}, 100+i)
		want = append(want, piece...)
		b0 := byte(OpContinuation)
		if i == 0 {
			b0 = byte(OpBinary)
		}
		if i == 19 {
			b0 |= 0x80
		}
		if _, err := nc.Write(rawFrame(b0, piece, true)); err != nil {
			t.Fatal(err)
		}
	}
	b0, _, p, err = rawRead(br)
	if err != nil || b0 != 0x80|byte(OpBinary) || !bytes.Equal(p, want) {
		t.Fatalf("echo binary: %x len %d %v", b0, len(p), err)
	}
}

func TestPingPong(t *testing.T) {
	ts := newTestServer(t, echo)
	nc, br := rawClient(t, ts, nil)
	for _, p := range [][]byte{nil, []byte("hi"), bytes.Repeat([]byte("x"), 125)} {
		if _, err := nc.Write(cf(OpPing, p)); err != nil {
			t.Fatal(err)
		}
		b0, masked, got, err := rawRead(br)
		if err != nil || masked || b0 != 0x80|byte(OpPong) || !bytes.Equal(got, p) {
			t.Fatalf("pong: %x %v %q %v", b0, masked, got, err)
		}
	}
}

func TestClientAnswersPing(t *testing.T) {
	done := make(chan error, 1)
	url := rawServer(t, func(nc net.Conn, br *bufio.Reader, key string) {
		// 101, a ping and a text message in one write: the client gets
		// frames left over in its handshake reader.
		w := switchingResponse(key)
		w = append(w, rawFrame(0x80|byte(OpPing), []byte("are you there"), false)...)
		w = append(w, rawFrame(0x80|byte(OpText), []byte("hello"), false)...)
		nc.Write(w)
		b0, masked, p, err := rawRead(br)
		if err == nil && (b0 != 0x80|byte(OpPong) || !masked || string(p) != "are you there") {
			err = fmt.Errorf("bad pong %x %v %q", b0, masked, p)
		}
		if err == nil {
			nc.Write(rawFrame(0x80|byte(OpClose), closeBody(CloseGoingAway, "bye"), false))
			b0, _, p, err = rawRead(br)
			if err == nil && (b0 != 0x80|byte(OpClose) || binary.BigEndian.Uint16(p) != CloseGoingAway) {
				err = fmt.Errorf("bad close echo %x %x", b0, p)
			}
		}
		done <- err
	})
	c := dialTest(t, url)
	op, p, err := c.ReadMessage()
	if err != nil || op != OpText || string(p) != "hello" {
		t.Fatalf("%v %q %v", op, p, err)
	}
	_, _, err = c.ReadMessage()
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != CloseGoingAway || ce.Reason != "bye" {
		t.Fatalf("close: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestCloseHandshake(t *testing.T) {
	tests := []struct {
		name     string
		payload  []byte
		wantCode int
		wantEcho int
		reason   string
	}{
		{"normal", closeBody(CloseNormal, "done"), CloseNormal, CloseNormal, "done"},
		{"empty", nil, CloseNoStatus, CloseNoStatus, ""},
		{"app code", closeBody(4999, ""), 4999, 4999, ""},
		{"3000", closeBody(3000, "x"), 3000, 3000, "x"},
		{"going away", closeBody(CloseGoingAway, "ünïcode"), CloseGoingAway, CloseGoingAway, "ünïcode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, echo)
			nc, br := rawClient(t, ts, nil)
			nc.Write(cf(OpClose, tt.payload))
			expectClose(t, br, tt.wantEcho)
			var ce *CloseError
			if err := ts.nextErr(t); !errors.As(err, &ce) || ce.Code != tt.wantCode || ce.Reason != tt.reason {
				t.Fatalf("server err %v", err)
			}
			// The server closed the TCP connection.
			if _, err := br.ReadByte(); err != io.EOF {
				t.Fatalf("after close: %v", err)
			}
		})
	}
}

func TestServerInitiatedClose(t *testing.T) {
	ts := newTestServer(t, func(c *Conn) error {
		if _, _, err := c.ReadMessage(); err != nil {
			return err
		}
		if err := c.Close(CloseGoingAway, "shutting down"); err != nil {
			return err
		}
		if err := c.WriteMessage(OpText, []byte("late")); !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("write after Close: %v", err)
		}
		if err := c.WriteFrames(net.Buffers{AppendFrameHeader(nil, OpText, 0)}); !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("WriteFrames after Close: %v", err)
		}
		return nil
	})
	c := dialTest(t, ts.wsURL())
	c.WriteMessage(OpText, []byte("go"))
	_, _, err := c.ReadMessage()
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != CloseGoingAway || ce.Reason != "shutting down" {
		t.Fatalf("client: %v", err)
	}
	if err := ts.nextErr(t); err != nil {
		t.Fatal(err)
	}
	if _, _, err2 := c.ReadMessage(); err2 != err {
		t.Fatalf("error not sticky: %v", err2)
	}
	if err := c.WriteMessage(OpText, nil); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after receiving close: %v", err)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	ts := newTestServer(t, echo)
	c := dialTest(t, ts.wsURL())
	errc := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage()
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); c.Close(CloseNormal, "bye") }()
	}
	wg.Wait()
	select {
	case err := <-errc:
		// Usually the read sees the local close; it may also see the
		// server's close frame answering ours first.
		var ce *CloseError
		if !errors.Is(err, net.ErrClosed) && !errors.As(err, &ce) {
			t.Fatalf("read returned %v", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("ReadMessage not unblocked by Close")
	}
	var ce *CloseError
	if err := ts.nextErr(t); !errors.As(err, &ce) || ce.Code != CloseNormal {
		t.Fatalf("server: %v", err)
	}
}

func TestProtocolViolations(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 126)
	tests := []struct {
		name   string
		frames [][]byte
		code   int
	}{
		{"unmasked client frame", [][]byte{rawFrame(0x81, []byte("hi"), false)}, CloseProtocolError},
		{"rsv1", [][]byte{rawFrame(0xC1, []byte("hi"), true)}, CloseProtocolError},
		{"rsv2", [][]byte{rawFrame(0xA1, []byte("hi"), true)}, CloseProtocolError},
		{"rsv3", [][]byte{rawFrame(0x91, []byte("hi"), true)}, CloseProtocolError},
		{"opcode 3", [][]byte{rawFrame(0x83, nil, true)}, CloseProtocolError},
		{"opcode 7", [][]byte{rawFrame(0x87, nil, true)}, CloseProtocolError},
		{"opcode B", [][]byte{rawFrame(0x8B, nil, true)}, CloseProtocolError},
		{"opcode F", [][]byte{rawFrame(0x8F, nil, true)}, CloseProtocolError},
		{"fragmented ping", [][]byte{rawFrame(byte(OpPing), []byte("p"), true)}, CloseProtocolError},
		{"fragmented close", [][]byte{rawFrame(byte(OpClose), closeBody(1000, ""), true)}, CloseProtocolError},
		{"ping too long", [][]byte{cf(OpPing, long)}, CloseProtocolError},
		{"pong too long", [][]byte{cf(OpPong, long)}, CloseProtocolError},
		{"close too long", [][]byte{cf(OpClose, append(closeBody(1000, ""), long...))}, CloseProtocolError},
		{"continuation without start", [][]byte{cf(OpContinuation, []byte("x"))}, CloseProtocolError},
		{"text inside fragmented", [][]byte{rawFrame(byte(OpText), []byte("a"), true), cf(OpText, []byte("b"))}, CloseProtocolError},
		{"binary inside fragmented", [][]byte{rawFrame(byte(OpBinary), []byte("a"), true), rawFrame(byte(OpBinary), []byte("b"), true)}, CloseProtocolError},
		{"64-bit length msb", [][]byte{{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}}, CloseProtocolError},
		{"invalid utf8 text", [][]byte{cf(OpText, []byte{'a', 0xff, 'b'})}, CloseInvalidPayload},
		{"truncated utf8 at end", [][]byte{cf(OpText, []byte("é")[:1])}, CloseInvalidPayload},
		{"invalid utf8 fragmented", [][]byte{rawFrame(byte(OpText), []byte("ok"), true), cf(OpContinuation, []byte{0xc0, 0xaf})}, CloseInvalidPayload},
		{"close 1 byte", [][]byte{cf(OpClose, []byte{3})}, CloseProtocolError},
		{"close invalid utf8 reason", [][]byte{cf(OpClose, append(closeBody(1000, ""), 0xff))}, CloseInvalidPayload},
	}
	for _, code := range []int{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		tests = append(tests, struct {
			name   string
			frames [][]byte
			code   int
		}{fmt.Sprintf("close code %d", code), [][]byte{cf(OpClose, closeBody(code, ""))}, CloseProtocolError})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, echo)
			nc, br := rawClient(t, ts, nil)
			for _, f := range tt.frames {
				if _, err := nc.Write(f); err != nil {
					t.Fatal(err)
				}
			}
			expectClose(t, br, tt.code)
			var ce *CloseError
			if err := ts.nextErr(t); !errors.As(err, &ce) || ce.Code != tt.code {
				t.Fatalf("server err %v, want code %d", err, tt.code)
			}
			// EOF, or a reset when unread bytes were left in the
			// server's receive buffer.
			if _, err := br.ReadByte(); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("connection not closed: %v", err)
			}
		})
	}
}

func TestClientRejectsMaskedFrame(t *testing.T) {
	done := make(chan error, 1)
	url := rawServer(t, func(nc net.Conn, br *bufio.Reader, key string) {
		nc.Write(switchingResponse(key))
		nc.Write(rawFrame(0x81, []byte("masked"), true))
		b0, _, p, err := rawRead(br)
		if err == nil && (b0 != 0x88 || binary.BigEndian.Uint16(p) != CloseProtocolError) {
			err = fmt.Errorf("bad close %x %x", b0, p)
		}
		done <- err
	})
	c := dialTest(t, url)
	_, _, err := c.ReadMessage()
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != CloseProtocolError {
		t.Fatalf("client: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestReadLimit(t *testing.T) {
	cases := []struct {
		name   string
		frames [][]byte
	}{
		{"declared 2^40", [][]byte{{0x82, 0xff, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4}}},
		{"single frame", [][]byte{cf(OpBinary, make([]byte, 1025))}},
		{"fragments", [][]byte{rawFrame(byte(OpText), make([]byte, 600), true), cf(OpContinuation, make([]byte, 600))}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, func(c *Conn) error {
				c.SetReadLimit(1024)
				// A message at the limit is fine.
				if _, m, err := c.ReadMessage(); err != nil || len(m) != 1024 {
					return fmt.Errorf("at limit: %d %v", len(m), err)
				}
				_, _, err := c.ReadMessage()
				return err
			})
			nc, br := rawClient(t, ts, cf(OpBinary, make([]byte, 1024)))
			for _, f := range tt.frames {
				nc.Write(f)
			}
			expectClose(t, br, CloseMessageTooBig)
			err := ts.nextErr(t)
			var ce *CloseError
			if !errors.Is(err, ErrMessageTooBig) || !errors.As(err, &ce) || ce.Code != CloseMessageTooBig || ce.Reason != "Max payload size exceeded" {
				t.Fatalf("server err %v", err)
			}
		})
	}
}

func TestBackToBackFrames(t *testing.T) {
	ts := newTestServer(t, echo)
	const n = 500
	var w []byte
	for i := range n {
		w = append(w, cf(OpText, []byte(fmt.Sprintf("message %d", i)))...)
		if i%50 == 0 {
			w = append(w, cf(OpPing, []byte("p"))...)
		}
	}
	// The first frames travel in the same write as the handshake request.
	nc, br := rawClient(t, ts, w[:100])
	if _, err := nc.Write(w[100:]); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; {
		b0, _, p, err := rawRead(br)
		if err != nil {
			t.Fatalf("msg %d: %v", i, err)
		}
		if Opcode(b0&0xf) == OpPong {
			continue
		}
		if want := fmt.Sprintf("message %d", i); string(p) != want {
			t.Fatalf("got %q want %q", p, want)
		}
		i++
	}
}

func TestHeaderSplitAcrossWrites(t *testing.T) {
	ts := newTestServer(t, echo)
	nc, br := rawClient(t, ts, nil)
	for _, n := range []int{5, 200, 70000} {
		f := cf(OpBinary, bytes.Repeat([]byte{byte(n)}, n))
		// Header byte by byte, then the payload.
		hl := 6
		if n > 125 {
			hl = 8
		}
		if n > 65535 {
			hl = 14
		}
		for i := range hl {
			if _, err := nc.Write(f[i : i+1]); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
		nc.Write(f[hl:])
		_, _, p, err := rawRead(br)
		if err != nil || len(p) != n || p[0] != byte(n) {
			t.Fatalf("n=%d: len %d %v", n, len(p), err)
		}
	}
}

func TestConcurrentWrites(t *testing.T) {
	const writers, perWriter = 4, 200
	ts := newTestServer(t, func(c *Conn) error {
		var wg sync.WaitGroup
		errs := make(chan error, 2*writers)
		for g := range writers {
			wg.Add(2)
			go func() {
				defer wg.Done()
				for i := range perWriter {
					if err := c.WriteMessage(OpText, []byte(fmt.Sprintf("m %d %d", g, i))); err != nil {
						errs <- err
						return
					}
				}
			}()
			go func() {
				defer wg.Done()
				for i := 0; i < perWriter; i += 10 {
					var bufs net.Buffers
					for j := i; j < i+10; j++ {
						p := fmt.Appendf(nil, "f %d %d", g, j)
						bufs = append(bufs, AppendFrameHeader(nil, OpText, len(p)), p)
					}
					if err := c.WriteFrames(bufs); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		// Concurrently read what the client writes.
		for range writers * perWriter {
			if _, _, err := c.ReadMessage(); err != nil {
				return err
			}
		}
		wg.Wait()
		close(errs)
		return <-errs
	})
	c := dialTest(t, ts.wsURL())
	if err := c.WriteFrames(nil); err == nil {
		t.Fatal("WriteFrames on client must fail")
	}
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				if err := c.WriteMessage(OpBinary, bytes.Repeat([]byte{byte(g)}, 10+i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	seen := map[string]bool{}
	for range 2 * writers * perWriter {
		_, p, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if seen[string(p)] {
			t.Fatalf("duplicate %q", p)
		}
		seen[string(p)] = true
	}
	wg.Wait()
	if err := ts.nextErr(t); err != nil {
		t.Fatal(err)
	}
	for g := range writers {
		for i := range perWriter {
			for _, k := range []string{"m", "f"} {
				if s := fmt.Sprintf("%s %d %d", k, g, i); !seen[s] {
					t.Fatalf("missing %q", s)
				}
			}
		}
	}
}

func TestFrameInPlaceOverWire(t *testing.T) {
	ts := newTestServer(t, func(c *Conn) error {
		var bufs net.Buffers
		for _, s := range []string{"one", strings.Repeat("two", 100), strings.Repeat("3", 70000)} {
			buf := make([]byte, MaxFrameHeaderLen+len(s))
			copy(buf[MaxFrameHeaderLen:], s)
			bufs = append(bufs, FrameInPlace(buf, MaxFrameHeaderLen, OpText))
		}
		if err := c.WriteFrames(bufs); err != nil {
			return err
		}
		_, _, err := c.ReadMessage()
		return err
	})
	c := dialTest(t, ts.wsURL())
	for _, want := range []string{"one", strings.Repeat("two", 100), strings.Repeat("3", 70000)} {
		op, p, err := c.ReadMessage()
		if err != nil || op != OpText || string(p) != want {
			t.Fatalf("%v len %d %v", op, len(p), err)
		}
	}
}

func TestWriteMessageValidation(t *testing.T) {
	c := fakeServer(bytes.NewReader(nil), nil)
	if err := c.WriteMessage(OpContinuation, nil); err == nil {
		t.Fatal("continuation accepted")
	}
	if err := c.WriteMessage(Opcode(3), nil); err == nil {
		t.Fatal("opcode 3 accepted")
	}
	if err := c.WriteMessage(OpPing, make([]byte, 126)); err == nil {
		t.Fatal("long ping accepted")
	}
	var out bytes.Buffer
	c = fakeServer(bytes.NewReader(nil), &out)
	if err := c.WriteMessage(OpClose, closeBody(CloseNormal, "")); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage(OpText, nil); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after close frame: %v", err)
	}
	c.Close(CloseNormal, "")
	if !bytes.Equal(out.Bytes(), []byte{0x88, 2, 0x03, 0xe8}) {
		t.Fatalf("wrote %x", out.Bytes())
	}
}

func TestIsUpgradeRequest(t *testing.T) {
	tests := []struct {
		method, conn, upgrade string
		want                  bool
	}{
		{"GET", "Upgrade", "websocket", true},
		{"GET", "keep-alive, UPGRADE", "WebSocket", true},
		{"GET", "keep-alive,upgrade", "h2c, websocket", true},
		{"POST", "Upgrade", "websocket", false},
		{"GET", "keep-alive", "websocket", false},
		{"GET", "Upgrade", "h2c", false},
		{"GET", "", "", false},
		{"GET", "upgrades", "websocket", false},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest(tt.method, "http://x/", nil)
		if tt.conn != "" {
			r.Header.Set("Connection", tt.conn)
		}
		if tt.upgrade != "" {
			r.Header.Set("Upgrade", tt.upgrade)
		}
		if got := IsUpgradeRequest(r); got != tt.want {
			t.Errorf("%+v: got %v", tt, got)
		}
	}
}

func TestInvalidHandshakes(t *testing.T) {
	ts := newTestServer(t, echo)
	base := func() http.Header {
		return http.Header{
			"Upgrade":               {"websocket"},
			"Connection":            {"Upgrade"},
			"Sec-Websocket-Key":     {rawKey},
			"Sec-Websocket-Version": {"13"},
		}
	}
	tests := []struct {
		name   string
		method string
		edit   func(h http.Header)
		status int
	}{
		{"missing key", "GET", func(h http.Header) { h.Del("Sec-Websocket-Key") }, 400},
		{"short key", "GET", func(h http.Header) { h.Set("Sec-Websocket-Key", "c2hvcnQ=") }, 400},
		{"bad base64 key", "GET", func(h http.Header) { h.Set("Sec-Websocket-Key", "!!!!") }, 400},
		{"bad version", "GET", func(h http.Header) { h.Set("Sec-Websocket-Version", "8") }, 426},
		{"missing version", "GET", func(h http.Header) { h.Del("Sec-Websocket-Version") }, 426},
		{"POST", "POST", func(h http.Header) {}, 405},
		{"no upgrade", "GET", func(h http.Header) { h.Del("Upgrade") }, 400},
		{"no connection", "GET", func(h http.Header) { h.Set("Connection", "keep-alive") }, 400},
	}
	client := &http.Client{Timeout: testTimeout}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, ts.URL, nil)
			req.Header = base()
			tt.edit(req.Header)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d want %d", resp.StatusCode, tt.status)
			}
			if tt.status == 426 && resp.Header.Get("Sec-WebSocket-Version") != "13" {
				t.Fatal("426 without version header")
			}
			var he *HandshakeError
			if err := ts.nextErr(t); !errors.As(err, &he) || he.Status != tt.status || he.Message == "" {
				t.Fatalf("server err %v", err)
			}
		})
	}
}

func TestAcceptHTTP10(t *testing.T) {
	ts := newTestServer(t, echo)
	nc, err := net.DialTimeout("tcp", ts.Listener.Addr().String(), testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(testTimeout))
	req := strings.Replace(handshakeRequest("x"), "HTTP/1.1", "HTTP/1.0", 1)
	nc.Write([]byte(req))
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil || resp.StatusCode != 400 {
		t.Fatalf("%v %v", resp, err)
	}
	var he *HandshakeError
	if err := ts.nextErr(t); !errors.As(err, &he) || he.Status != 400 {
		t.Fatalf("server err %v", err)
	}
}

func TestDialNon101(t *testing.T) {
	srv := newPlainServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer x" || r.Header.Get("Sec-WebSocket-Extensions") != "" {
			http.Error(w, "bad request headers", 400)
			return
		}
		http.Error(w, "go away "+strings.Repeat("x", 2000), http.StatusForbidden)
	}))
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	h := http.Header{"Authorization": {"Bearer x"}, "Sec-Websocket-Extensions": {"permessage-deflate"}}
	c, resp, err := Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/path?q=1", &DialOptions{Header: h})
	if c != nil {
		t.Fatal("conn returned")
	}
	var he *HandshakeError
	if !errors.As(err, &he) || he.Status != 403 || !strings.HasPrefix(he.Message, "go away") || len(he.Message) != 1024 {
		t.Fatalf("err %v", err)
	}
	if resp == nil || resp.StatusCode != 403 {
		t.Fatalf("resp %v", resp)
	}
	body, _ := io.ReadAll(resp.Body)
	if string(body) != he.Message {
		t.Fatal("response body not readable")
	}
}

func TestDialBadAccept(t *testing.T) {
	url := rawServer(t, func(nc net.Conn, br *bufio.Reader, key string) {
		nc.Write(switchingResponse("wrong" + key))
		io.Copy(io.Discard, br)
	})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	_, resp, err := Dial(ctx, url, nil)
	var he *HandshakeError
	if !errors.As(err, &he) || he.Status != 101 || resp == nil {
		t.Fatalf("err %v", err)
	}
}

func TestDialContext(t *testing.T) {
	// A server that accepts the TCP connection but never answers.
	url := rawServer(t, func(nc net.Conn, br *bufio.Reader, key string) {
		io.Copy(io.Discard, br)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := Dial(ctx, url, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}

	url = rawServer(t, func(nc net.Conn, br *bufio.Reader, key string) {
		io.Copy(io.Discard, br)
	})
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, _, err = Dial(ctx, url, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}

	if _, _, err := Dial(context.Background(), "ftp://x/", nil); err == nil {
		t.Fatal("bad scheme accepted")
	}
}

func TestCustomNetDial(t *testing.T) {
	ts := newTestServer(t, echo)
	var used bool
	opts := &DialOptions{NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		used = true
		var d net.Dialer
		return d.DialContext(ctx, network, ts.Listener.Addr().String())
	}}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, _, err := Dial(ctx, "ws://example.invalid/socket", opts)
	if err != nil || !used {
		t.Fatal(err, used)
	}
	defer c.Close(CloseNormal, "")
	c.WriteMessage(OpText, []byte("hi"))
	if _, p, err := c.ReadMessage(); err != nil || string(p) != "hi" {
		t.Fatal(p, err)
	}
}

// blockedWriter starts a server whose handler writes large messages to a
// client that never reads, and returns its Conn once the writer is blocked
// on the full socket buffers.
func blockedWriter(t *testing.T) (*Conn, *testServer) {
	t.Helper()
	connc := make(chan *Conn, 1)
	ts := newTestServer(t, func(c *Conn) error {
		connc <- c
		big := make([]byte, 1<<20)
		for {
			if err := c.WriteMessage(OpBinary, big); err != nil {
				return err
			}
		}
	})
	rawClient(t, ts, nil) // never reads
	c := <-connc
	time.Sleep(100 * time.Millisecond) // let the writer fill the socket buffers
	return c, ts
}

// TestCloseWithBlockedWriter checks that Close does not hang when another
// goroutine is stuck writing to a peer that does not read.
func TestCloseWithBlockedWriter(t *testing.T) {
	c, ts := blockedWriter(t)
	start := time.Now()
	c.Close(CloseGoingAway, "")
	if d := time.Since(start); d > closeWriteTimeout+2*time.Second {
		t.Fatalf("Close took %v", d)
	}
	if err := ts.nextErr(t); err == nil {
		t.Fatal("writer did not fail")
	}
}

// TestCloseBoundsLaterWriteDeadline checks that a writer setting its own
// deadline after Close began (a flusher that had not run yet) does not make
// Close wait longer than its bound for the write in flight.
func TestCloseBoundsLaterWriteDeadline(t *testing.T) {
	c, ts := blockedWriter(t)
	done := make(chan struct{})
	go func() {
		c.Close(CloseGoingAway, "")
		close(done)
	}()
	deadline := time.Now().Add(testTimeout)
	for !c.closed.Load() {
		if time.Now().After(deadline) {
			t.Fatal("Close never began")
		}
		time.Sleep(time.Millisecond)
	}
	// Close has set its short deadline and waits for the blocked write.
	time.Sleep(100 * time.Millisecond)
	if err := c.SetWriteDeadline(time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(closeWriteTimeout + 3*time.Second):
		t.Fatal("Close waits on the write in flight past its bound")
	}
	if err := ts.nextErr(t); err == nil {
		t.Fatal("writer did not fail")
	}
}

// bareHijacker hijacks without handing over net/http's buffers, as a
// wrapping ResponseWriter may.
type bareHijacker struct{ http.ResponseWriter }

func (h bareHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, _, err := http.NewResponseController(h.ResponseWriter).Hijack()
	return nc, nil, err
}

// The handshake does not need the hijacked connection's buffers (it builds
// its response in the write buffer when there is one).
func TestAcceptWithoutHijackBuffers(t *testing.T) {
	errs := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := AcceptWithFrames(bareHijacker{w}, r, nil, [][]byte{AppendFrameHeader(nil, OpText, 5), []byte("hello")})
		if err != nil {
			errs <- err
			return
		}
		c.NetConn().SetDeadline(time.Now().Add(testTimeout))
		errs <- echo(c)
	}))
	defer srv.Close()
	c := dialTest(t, "ws"+strings.TrimPrefix(srv.URL, "http"))
	if op, p, err := c.ReadMessage(); err != nil || op != OpText || string(p) != "hello" {
		t.Fatalf("first frame: %v %q %v", op, p, err)
	}
	if err := c.WriteMessage(OpText, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, p, err := c.ReadMessage(); err != nil || string(p) != "ping" {
		t.Fatalf("echo: %q %v", p, err)
	}
	c.Close(CloseNormal, "")
	select {
	case err := <-errs:
		var ce *CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("server: %v", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("server did not end")
	}
}
