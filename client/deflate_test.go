package client_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/engineio"
)

// tapProxy forwards TCP connections on 127.0.0.1 to target and records
// what goes through, both ways, to check WebSocket frames on the wire.
type tapProxy struct {
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	up   [][]byte // client to server, per connection; guarded by mu
	down [][]byte // server to client
}

func newTapProxy(t *testing.T, target string) *tapProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tapProxy{ln: ln}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			i := len(p.up)
			p.up, p.down = append(p.up, nil), append(p.down, nil)
			p.mu.Unlock()
			pipe := func(dst, src net.Conn, rec *[][]byte) {
				buf := make([]byte, 32<<10)
				for {
					n, err := src.Read(buf)
					if n > 0 {
						p.mu.Lock()
						(*rec)[i] = append((*rec)[i], buf[:n]...)
						p.mu.Unlock()
						if _, werr := dst.Write(buf[:n]); werr != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				c.Close()
				s.Close()
			}
			p.wg.Go(func() { pipe(s, c, &p.up) })
			p.wg.Go(func() { pipe(c, s, &p.down) })
		}
	})
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

// frames returns the first bytes of the HTTP response of each WebSocket
// connection, and the data frames' first bytes and payload sizes, in the
// given direction.
func (p *tapProxy) frames(up bool) (headers []string, frames [][2]int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.down {
		down := p.down[i]
		if !bytes.HasPrefix(down, []byte("HTTP/1.1 101 ")) {
			continue
		}
		end := bytes.Index(down, []byte("\r\n\r\n"))
		headers = append(headers, string(down[:end]))
		b := down[end+4:]
		if up {
			b = p.up[i][bytes.Index(p.up[i], []byte("\r\n\r\n"))+4:]
		}
		for len(b) >= 2 {
			n, hl := int(b[1]&0x7f), 2
			switch n {
			case 126:
				n, hl = int(binary.BigEndian.Uint16(b[2:])), 4
			case 127:
				n, hl = int(binary.BigEndian.Uint64(b[2:])), 10
			}
			if b[1]&0x80 != 0 {
				hl += 4
			}
			if len(b) < hl+n {
				break
			}
			if b[0]&0x08 == 0 {
				frames = append(frames, [2]int{int(b[0]), n})
			}
			b = b[hl+n:]
		}
	}
	return headers, frames
}

// TestPerMessageDeflate: the Go client with compression against both
// servers with theirs on (Node's perMessageDeflate): a large payload
// travels compressed both ways (RSV1 on the wire) and arrives whole.
func TestPerMessageDeflate(t *testing.T) {
	forEachPeer(t, peerOptions{deflate: true}, func(t *testing.T, p *peer) {
		proxy := newTapProxy(t, p.addr)
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		s, err := client.Connect(ctx, "http://"+proxy.ln.Addr().String(), &client.Options{
			Transports:        []string{"websocket"},
			PerMessageDeflate: &engineio.DeflateOptions{},
			Logger:            discardLogger(),
		})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Disconnect()
		big := strings.Repeat("a large and repetitive payload; ", 4000) // 128 KB
		answer, err := s.EmitWithAck(ctx, "echo", big)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if err := answer.DecodeAt(0, &got); err != nil || got != big {
			t.Fatalf("echo: %d bytes, %v", len(got), err)
		}
		headers, _ := proxy.frames(false)
		if len(headers) != 1 || !strings.Contains(strings.ToLower(headers[0]), "sec-websocket-extensions: permessage-deflate") {
			t.Fatalf("handshake answers %q", headers)
		}
		for _, up := range []bool{true, false} {
			_, frames := proxy.frames(up)
			compressed := false
			for _, f := range frames {
				if f[0]&0x40 != 0 {
					compressed = true
					if f[1] > len(big)/10 {
						t.Errorf("up %v: compressed frame of %d bytes", up, f[1])
					}
				} else if f[1] > 1024 {
					t.Errorf("up %v: uncompressed frame of %d bytes", up, f[1])
				}
			}
			if !compressed {
				t.Errorf("up %v: no compressed frame in %v", up, frames)
			}
		}
	})
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
