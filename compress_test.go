package socketio

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/internal/websocket"
)

// recordingConn keeps what the client reads.
type recordingConn struct {
	net.Conn
	mu  sync.Mutex
	got bytes.Buffer // guarded by mu
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.got.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

// frames returns, for each data frame the server sent, whether it was
// compressed (RSV1) and its payload size on the wire.
func (c *recordingConn) frames(t *testing.T) (compressed []bool, sizes []int) {
	t.Helper()
	c.mu.Lock()
	b := bytes.Clone(c.got.Bytes())
	c.mu.Unlock()
	i := bytes.Index(b, []byte("\r\n\r\n"))
	if i < 0 {
		t.Fatal("no handshake response")
	}
	b = b[i+4:]
	for len(b) >= 2 {
		n, hl := int(b[1]&0x7f), 2
		switch n {
		case 126:
			n, hl = int(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			n, hl = int(binary.BigEndian.Uint64(b[2:])), 10
		}
		if len(b) < hl+n {
			break
		}
		if b[0]&0x08 == 0 {
			compressed = append(compressed, b[0]&0x40 != 0)
			sizes = append(sizes, n)
		}
		b = b[hl+n:]
	}
	return compressed, sizes
}

// dialRawDeflate is dialRaw offering compression, recording what arrives.
func dialRawDeflate(t *testing.T, base string) (*rawClient, *recordingConn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	rec := &recordingConn{}
	ws, resp, err := websocket.Dial(ctx, base+"/socket.io/?EIO=4&transport=websocket", &websocket.DialOptions{
		Deflate: &websocket.DeflateOptions{},
		NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			nc, err := d.DialContext(ctx, network, addr)
			rec.Conn = nc
			return rec, err
		},
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if !strings.Contains(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
		t.Fatalf("compression not negotiated: %v", resp.Header)
	}
	c := &rawClient{t: t, ws: ws, msgs: make(chan rawMsg, 1024)}
	go c.read()
	t.Cleanup(func() { _ = ws.Close(websocket.CloseNormal, "") })
	c.expectPrefix("0{")
	return c, rec
}

// TestCompress: Compress(false) on a socket's emits, on its emitter
// chains, on broadcasts (server, namespace, rooms) and on binary
// attachments sends uncompressed frames; everything else from the
// threshold on is compressed. With and without connection state recovery
// (whose emits to one socket go through the adapter).
func TestCompress(t *testing.T) {
	for _, recovery := range []bool{false, true} {
		name := "plain"
		if recovery {
			name = "recovery"
		}
		t.Run(name, func(t *testing.T) {
			opts := testOptions()
			opts.Engine.PerMessageDeflate = &engineio.DeflateOptions{}
			if recovery {
				opts.ConnectionStateRecovery = &RecoveryOptions{}
			}
			srv := NewServer(opts)
			big := strings.Repeat("compressible ", 1000)
			srv.OnConnection(func(s *Socket) {
				s.Join("room")
				s.On("go", func() {
					_ = s.Emit("a", big)                                                  // compressed
					_ = s.Compress(false).Emit("b", big)                                  // not
					_ = s.Compress(false).Timeout(testWait).Compress(true).Emit("c", big) // compressed
					_ = srv.Compress(false).Emit("d", big)                                // not
					_ = srv.To("room").Emit("e", big)                                     // compressed
					_ = srv.Of("/").To("room").Compress(false).Emit("f", []byte(big))     // text and attachment not
					_ = s.Compress(false).Emit("g", "small")                              // small anyway
					_ = s.Timeout(testWait).Compress(false).Emit("h", []byte(big), func(error, string) {})
				})
			})
			base := newTestServer(t, srv)
			c, rec := dialRawDeflate(t, base)
			c.connect("/", "")
			c.send(`42["go"]`)
			for _, ev := range []string{"a", "b", "c", "d", "e", "f", "f-bin", "g", "h", "h-bin"} {
				m := c.next()
				switch {
				case strings.HasSuffix(ev, "-bin"):
					if string(m.binary) != big {
						t.Fatalf("%s: %d bytes", ev, len(m.binary))
					}
				case !strings.Contains(m.text, `["`+ev+`"`):
					t.Fatalf("%s: got %.40q", ev, m.text)
				}
			}
			compressed, sizes := rec.frames(t)
			// The open packet and CONNECT answer, then the events.
			want := []bool{false, false, true, false, true, false, true, false, false, false, false, false}
			if len(compressed) != len(want) {
				t.Fatalf("%d frames %v (sizes %v), want %d", len(compressed), compressed, sizes, len(want))
			}
			for i := range want {
				if compressed[i] != want[i] {
					t.Fatalf("frame %d compressed %v, want %v (all: %v, sizes %v)", i, compressed[i], want[i], compressed, sizes)
				}
			}
		})
	}
}
