package engineio

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/socketio-go/socketio/internal/websocket"
)

// tapListener records the bytes of every connection the server accepts,
// both ways, to check frames as they are on the wire.
type tapListener struct {
	net.Listener
	mu    sync.Mutex
	conns []*tapConn
}

func (l *tapListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := &tapConn{Conn: nc}
	l.mu.Lock()
	l.conns = append(l.conns, c)
	l.mu.Unlock()
	return c, nil
}

// tapConn is a connection whose traffic is recorded (which also takes it
// off the epoll poller: it is read by a goroutine, as TLS ones are).
type tapConn struct {
	net.Conn
	mu      sync.Mutex
	in, out bytes.Buffer // guarded by mu
}

func (c *tapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.in.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

func (c *tapConn) Write(p []byte) (int, error) {
	// Recorded before it is written: the peer may otherwise get the bytes,
	// and the test look at the tap, before they are recorded.
	c.mu.Lock()
	c.out.Write(p)
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// wireFrame is a data frame seen on the wire.
type wireFrame struct {
	b0      byte
	payload []byte // unmasked, still compressed when RSV1 is set
}

func (f wireFrame) compressed() bool { return f.b0&0x40 != 0 }

// wsFrames returns the data frames of the WebSocket connections seen so
// far: sent by the server (out) or by the client (in).
func (l *tapListener) wsFrames(t testing.TB, out bool) []wireFrame {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var frames []wireFrame
	for _, c := range l.conns {
		c.mu.Lock()
		upgraded := bytes.HasPrefix(c.out.Bytes(), []byte("HTTP/1.1 101 "))
		b := bytes.Clone(c.in.Bytes())
		if out {
			b = bytes.Clone(c.out.Bytes())
		}
		c.mu.Unlock()
		if !upgraded {
			continue
		}
		i := bytes.Index(b, []byte("\r\n\r\n"))
		if i < 0 {
			t.Fatal("no end of the HTTP header")
		}
		frames = append(frames, parseWire(b[i+4:])...)
	}
	return frames
}

// parseWire splits a byte stream into frames (a partial last one is
// ignored) and returns its data frames.
func parseWire(b []byte) []wireFrame {
	var frames []wireFrame
	for len(b) >= 2 {
		b0, n, hl := b[0], int(b[1]&0x7f), 2
		switch n {
		case 126:
			if len(b) < 4 {
				return frames
			}
			n, hl = int(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			if len(b) < 10 {
				return frames
			}
			n, hl = int(binary.BigEndian.Uint64(b[2:])), 10
		}
		var key []byte
		if b[1]&0x80 != 0 {
			if len(b) < hl+4 {
				return frames
			}
			key = b[hl : hl+4]
			hl += 4
		}
		if len(b) < hl+n {
			return frames
		}
		p := bytes.Clone(b[hl : hl+n])
		for i := range p {
			if key != nil {
				p[i] ^= key[i%4]
			}
		}
		if b0&0x08 == 0 { // data frames only
			frames = append(frames, wireFrame{b0: b0, payload: p})
		}
		b = b[hl+n:]
	}
	return frames
}

// dialDeflate opens a session with the Go client, compression offered.
func dialDeflate(t *testing.T, e *env, transports []string) (*ClientConn, chan received) {
	t.Helper()
	got := make(chan received, 16)
	upgraded := make(chan string, 1)
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	c, err := Dial(ctx, e.base, &DialOptions{
		Transports:        transports,
		PerMessageDeflate: &DeflateOptions{},
		OnMessage:         func(data []byte, bin bool) { got <- received{string(data), bin} },
		OnUpgrade:         func(tr string) { upgraded <- tr },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if transports[0] != WebSocket {
		recv(t, upgraded, "upgrade")
	}
	return c, got
}

// TestWebSocketDeflate: with PerMessageDeflate on, messages from the
// threshold on are compressed both ways (the Go client offering it),
// smaller ones and the open packet are not; over a WebSocket opened at
// once and over an upgraded one.
func TestWebSocketDeflate(t *testing.T) {
	for _, transports := range [][]string{{WebSocket}, {Polling, WebSocket}} {
		t.Run(strings.Join(transports, ","), func(t *testing.T) {
			tap := &tapListener{}
			e := newEnvWith(t, &Options{PerMessageDeflate: &DeflateOptions{}}, envConfig{
				echo:     true,
				listener: func(l net.Listener) net.Listener { tap.Listener = l; return tap },
			})
			c, got := dialDeflate(t, e, transports)
			s := e.nextSession()
			big := strings.Repeat("compress me, ", 2000)
			small := strings.Repeat("s", 1000) // under the 1024-byte threshold with its type
			for _, m := range []string{big, small} {
				if err := c.Send(false, NewTextMessage([]byte(m))); err != nil {
					t.Fatal(err)
				}
				if r := recv(t, s.msgs, "message"); r.data != m {
					t.Fatalf("server got %d bytes", len(r.data))
				}
				if r := recv(t, got, "echo"); r.data != m {
					t.Fatalf("client got %d bytes", len(r.data))
				}
			}
			bin := bytes.Repeat([]byte{1, 2, 3, 4}, 1000)
			if err := c.Send(false, NewBinaryMessage(bin)); err != nil {
				t.Fatal(err)
			}
			if r := recv(t, got, "binary echo"); r.data != string(bin) || !r.binary {
				t.Fatalf("binary echo %d bytes", len(r.data))
			}
			for _, out := range []bool{true, false} {
				var z, plain int
				for _, f := range tap.wsFrames(t, out) {
					switch {
					case f.compressed() && len(f.payload) < 1000:
						z++
					case !f.compressed() && (len(f.payload) < 1030 || f.payload[0] == '0'):
						plain++ // small messages, probes, and the open packet
					default:
						t.Fatalf("out %v: a frame of %d bytes, b0 %x", out, len(f.payload), f.b0)
					}
				}
				if z != 2 || plain < 1 {
					t.Fatalf("out %v: %d compressed frames, %d plain", out, z, plain)
				}
			}
		})
	}
}

// TestWebSocketDeflateOnce: a message sent to many connections is
// compressed once, its frame shared by every connection with the same
// parameters; Uncompressed messages are never compressed.
func TestWebSocketDeflateOnce(t *testing.T) {
	e := newEnv(t, &Options{PerMessageDeflate: &DeflateOptions{}})
	var conns []*websocket.Conn
	for range 3 {
		ws, _, err := e.dial("EIO=4&transport=websocket", &websocket.DialOptions{Deflate: &websocket.DeflateOptions{}})
		if err != nil {
			t.Fatal(err)
		}
		wsRead(t, ws)
		s := e.nextSession()
		s.c.mu.Lock()
		conns = append(conns, s.c.ws)
		s.c.mu.Unlock()
	}
	m := NewTextMessage([]byte(strings.Repeat("broadcast ", 500)))
	first := m.wsFrame(conns[0], 1024)
	if first[0] != 0xC1 {
		t.Fatalf("frame %x not compressed", first[0])
	}
	for _, ws := range conns[1:] {
		if f := m.wsFrame(ws, 1024); &f[0] != &first[0] {
			t.Fatal("compressed again for another connection")
		}
	}
	if f := m.Uncompressed().wsFrame(conns[0], 1024); f[0] != 0x81 || &f[0] != &m.frame[0] {
		t.Fatalf("Uncompressed: frame %x", f[0])
	}
	if f := m.wsFrame(conns[0], 1<<20); f[0] != 0x81 {
		t.Fatal("compressed under the threshold")
	}

	// A client that asked for a small window gets a frame of its own.
	ws, _, err := e.dial("EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	wsRead(t, ws)
	if f := m.wsFrame(ws, 1024); &f[0] != &m.frame[0] {
		t.Fatal("compressed for a connection without compression")
	}
	e.nextSession()
}

// TestWebSocketDeflateOff: without PerMessageDeflate the server declines
// the offer, and the client goes on uncompressed.
func TestWebSocketDeflateOff(t *testing.T) {
	tap := &tapListener{}
	e := newEnvWith(t, nil, envConfig{echo: true, listener: func(l net.Listener) net.Listener { tap.Listener = l; return tap }})
	_, resp, err := e.dial("EIO=4&transport=websocket", &websocket.DialOptions{Deflate: &websocket.DeflateOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		t.Fatalf("extension %q accepted", ext)
	}
	e.nextSession()
	c, got := dialDeflate(t, e, []string{WebSocket})
	e.nextSession()
	big := strings.Repeat("no compression ", 1000)
	c.Send(false, NewTextMessage([]byte(big)))
	if r := recv(t, got, "echo"); r.data != big {
		t.Fatal("echo")
	}
	for _, out := range []bool{true, false} {
		for _, f := range tap.wsFrames(t, out) {
			if f.compressed() {
				t.Fatal("compressed frame without the extension")
			}
		}
	}
}

// TestWebSocketDeflateBomb: a message that inflates past
// MaxHTTPBufferSize closes the connection with 1009 without being
// inflated whole.
func TestWebSocketDeflateBomb(t *testing.T) {
	e := newEnv(t, &Options{PerMessageDeflate: &DeflateOptions{}, MaxHTTPBufferSize: 100_000})
	ws, resp, err := e.dial("EIO=4&transport=websocket", &websocket.DialOptions{Deflate: &websocket.DeflateOptions{}})
	if err != nil || resp.Header.Get("Sec-WebSocket-Extensions") == "" {
		t.Fatalf("%v %v", err, resp.Header)
	}
	wsRead(t, ws)
	s := e.nextSession()
	// Read by the poller (no tap here): a compressed message under the
	// limit arrives whole.
	good := strings.Repeat("polled and inflated ", 4000)
	if err := ws.WriteMessage(websocket.OpText, []byte("4"+good)); err != nil {
		t.Fatal(err)
	}
	if r := recv(t, s.msgs, "message"); r.data != good {
		t.Fatalf("got %d bytes", len(r.data))
	}
	// 10 MB of the same byte: about 10 KB on the wire.
	if err := ws.WriteMessage(websocket.OpText, append([]byte("4"), bytes.Repeat([]byte("a"), 10_000_000)...)); err != nil {
		t.Fatal(err)
	}
	err = wsExpectClosed(t, ws)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig || ce.Reason != "Max payload size exceeded" {
		t.Fatalf("closed with %v", err)
	}
	expectClose(t, s, ReasonTransportError, nil)
}
