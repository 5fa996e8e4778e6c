package interop

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/engineio"
)

// WebSocket compression (permessage-deflate) with three other
// implementations, the server's frames and the client's checked on the
// wire by a recording proxy: the JavaScript client in Node (ws), in
// Chromium, and Python's websockets (zlib).

// compressionSetup is the server of the compression scenarios: "echo"
// acknowledges with its arguments; "plain" answers with compress(false);
// "broadcast" (text, plain) emits "bcast" to everyone, with compress(false)
// when plain.
func compressionSetup(e *env, srv *socketio.Server) {
	srv.OnConnection(func(s *socketio.Socket) {
		e.track(s)
		s.On("echo", func(args socketio.Args, ack func(...any)) {
			vals, _ := args.Values()
			if ack != nil {
				ack(vals...)
			}
		})
		s.On("plain", func(text string) { _ = s.Compress(false).Emit("plain", text) })
		s.On("broadcast", func(text string, plain bool) {
			_ = srv.Compress(!plain).Emit("bcast", text, plain)
		})
	})
}

func compressionOptions() *socketio.Options {
	return &socketio.Options{Engine: engineio.Options{PerMessageDeflate: &engineio.DeflateOptions{}}}
}

// TestCompressionNode: socket.io-client in Node, over a WebSocket at once
// and after an upgrade: large payloads travel compressed both ways and
// arrive whole; the server's compress(false) emits and broadcasts, and
// what is under the threshold, travel uncompressed.
func TestCompressionNode(t *testing.T) {
	if skipNode != "" {
		t.Skip(skipNode)
	}
	e := newEnv(t, compressionOptions(), compressionSetup)
	proxy := newTapProxy(t, e.addr)
	runNode(t, "compression.test.mjs", "SERVER_URL=http://"+proxy.addr(), "CTL_URL="+e.ctl.URL)

	conns := proxy.websockets(t)
	if len(conns) != 2 {
		t.Fatalf("%d WebSocket connections, want 2", len(conns))
	}
	for i, c := range conns {
		if !strings.Contains(c.answer, "permessage-deflate") {
			t.Fatalf("connection %d: answer %q", i, c.answer)
		}
		// Client to server: the large messages compressed (ws compresses
		// from 1024 bytes, having no context takeover).
		if n := c.count(true, true, 0); n < 5 {
			t.Errorf("connection %d: %d compressed frames from the client", i, n)
		}
		if n := c.count(true, false, 1100); n != 0 {
			t.Errorf("connection %d: %d large uncompressed frames from the client", i, n)
		}
		// Server to client: the echoes and one broadcast compressed, the
		// two compress(false) answers not, nor anything under 1024 bytes.
		if n := c.count(false, true, 0); n < 3 {
			t.Errorf("connection %d: %d compressed frames from the server", i, n)
		}
		if n := c.count(false, false, 1030); n != 2 {
			t.Errorf("connection %d: %d large uncompressed frames from the server, want the 2 compress(false) ones", i, n)
		}
	}
}

// TestCompressionBrowser: the JavaScript client in headless Chromium.
func TestCompressionBrowser(t *testing.T) {
	needBrowser(t, "socket.io.js")
	e := newEnv(t, compressionOptions(), compressionSetup)
	proxy := newTapProxy(t, e.addr)
	// The page and the client's file come from another origin, as from a
	// CDN: WebSocket requests need no CORS (none is configured).
	bundle, err := os.ReadFile(filepath.Join("node_modules", "socket.io-client", "dist", "socket.io.js"))
	if err != nil {
		t.Fatal(err)
	}
	pages := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, strings.ReplaceAll(browserPage, "SERVER", "http://"+proxy.addr()))
		case "/socket.io.js":
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write(bundle)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer pages.Close()
	runNode(t, "browser-compression.test.mjs", "PAGE_URL="+pages.URL+"/")

	conns := proxy.websockets(t)
	if len(conns) != 1 {
		t.Fatalf("%d WebSocket connections, want 1", len(conns))
	}
	c := conns[0]
	if !strings.Contains(c.offer, "permessage-deflate") || !strings.Contains(c.answer, "permessage-deflate") {
		t.Fatalf("offer %q, answer %q", c.offer, c.answer)
	}
	if n := c.count(true, true, 0); n < 2 {
		t.Errorf("%d compressed frames from Chromium", n)
	}
	if n := c.count(true, false, 1100); n != 0 {
		t.Errorf("%d large uncompressed frames from Chromium", n)
	}
	if n := c.count(false, true, 0); n < 1 {
		t.Errorf("%d compressed frames from the server", n)
	}
	if n := c.count(false, false, 1030); n != 1 {
		t.Errorf("%d large uncompressed frames from the server, want the compress(false) one", n)
	}
}

// browserPage is the page of TestCompressionBrowser: window.run() echoes
// a large payload and asks for a compress(false) answer.
const browserPage = `<!doctype html>
<title>compression</title>
<script src="/socket.io.js"></script>
<script>
window.run = async () => {
  const s = io("SERVER", { transports: ["websocket"], reconnection: false });
  await new Promise((resolve, reject) => { s.on("connect", resolve); s.on("connect_error", reject); });
  const big = "a large and repetitive payload; ".repeat(4000);
  const echo = await s.timeout(5000).emitWithAck("echo", big);
  const plain = await new Promise((resolve) => { s.once("plain", resolve); s.emit("plain", big); });
  s.disconnect();
  return { echo: echo === big, plain: plain === big };
};
</script>`

// TestCompressionPython: Python's websockets with zlib, which holds the
// server to the window it asked for (server_max_window_bits=10 and 8).
func TestCompressionPython(t *testing.T) {
	const python = "/usr/bin/python3" // Debian's, where apt puts python3-websockets
	if err := exec.Command(python, "-c", "import websockets").Run(); err != nil {
		if os.Getenv("SOCKETIO_SKIP_PYTHON") == "1" {
			t.Skip("python3-websockets missing (SOCKETIO_SKIP_PYTHON=1)")
		}
		t.Fatalf("%s cannot import websockets (%v): apt-get install python3-websockets, or set SOCKETIO_SKIP_PYTHON=1", python, err)
	}
	e := newEnv(t, compressionOptions(), compressionSetup)
	proxy := newTapProxy(t, e.addr)
	cmd := exec.Command(python, filepath.Join("py", "compression.py"))
	cmd.Env = append(os.Environ(), "SERVER_URL=http://"+proxy.addr())
	cmd.WaitDelay = 5 * time.Second
	timer := time.AfterFunc(nodeTimeout, func() { _ = cmd.Process.Kill() })
	out, err := cmd.CombinedOutput()
	timer.Stop()
	t.Logf("python:\n%s", out)
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	conns := proxy.websockets(t)
	if len(conns) != 3 {
		t.Fatalf("%d WebSocket connections, want 3", len(conns))
	}
	for i, c := range conns {
		if n := c.count(true, true, 0); n < 3 {
			t.Errorf("connection %d: %d compressed frames from Python", i, n)
		}
		if n := c.count(false, true, 0); n < 3 {
			t.Errorf("connection %d: %d compressed frames from the server", i, n)
		}
		if n := c.count(false, false, 1030) + c.count(true, false, 1100); n != 0 {
			t.Errorf("connection %d: %d large uncompressed frames", i, n)
		}
	}
}

// tapProxy forwards TCP connections on 127.0.0.1 to a server and records
// what goes through, both ways.
type tapProxy struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []*tapped // guarded by mu
}

type tapped struct {
	up, down bytes.Buffer // guarded by tapProxy.mu
}

func newTapProxy(t *testing.T, target string) *tapProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tapProxy{ln: ln}
	var open sync.Map // net.Conn -> struct{}: closed at the end
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
			open.Store(c, struct{}{})
			open.Store(s, struct{}{})
			rec := &tapped{}
			p.mu.Lock()
			p.conns = append(p.conns, rec)
			p.mu.Unlock()
			pipe := func(dst, src net.Conn, buf *bytes.Buffer) {
				b := make([]byte, 32<<10)
				for {
					n, err := src.Read(b)
					if n > 0 {
						p.mu.Lock()
						buf.Write(b[:n])
						p.mu.Unlock()
						if _, werr := dst.Write(b[:n]); werr != nil {
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
			p.wg.Go(func() { pipe(s, c, &rec.up) })
			p.wg.Go(func() { pipe(c, s, &rec.down) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		open.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
		p.wg.Wait()
	})
	return p
}

func (p *tapProxy) addr() string { return p.ln.Addr().String() }

// wsConn is a recorded WebSocket connection.
type wsConn struct {
	offer, answer string   // Sec-WebSocket-Extensions of the request and of the answer
	up, down      [][2]int // data frames: first byte, payload length
}

// count returns how many data frames went up (client to server) or down,
// compressed (RSV1) or not, with a payload of at least min bytes.
func (c *wsConn) count(up, compressed bool, min int) int {
	frames := c.down
	if up {
		frames = c.up
	}
	n := 0
	for _, f := range frames {
		if (f[0]&0x40 != 0) == compressed && f[1] >= min {
			n++
		}
	}
	return n
}

// websockets returns the WebSocket connections seen, in order.
func (p *tapProxy) websockets(t *testing.T) []*wsConn {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*wsConn
	for _, rec := range p.conns {
		down, up := rec.down.Bytes(), rec.up.Bytes()
		if !bytes.HasPrefix(down, []byte("HTTP/1.1 101 ")) {
			continue
		}
		dh, uh := bytes.Index(down, []byte("\r\n\r\n")), bytes.Index(up, []byte("\r\n\r\n"))
		if dh < 0 || uh < 0 {
			t.Fatal("a WebSocket handshake without its end")
		}
		out = append(out, &wsConn{
			offer:  headerValue(up[:uh], "Sec-WebSocket-Extensions"),
			answer: headerValue(down[:dh], "Sec-WebSocket-Extensions"),
			up:     dataFrames(up[uh+4:]),
			down:   dataFrames(down[dh+4:]),
		})
	}
	return out
}

func headerValue(head []byte, name string) string {
	for _, line := range strings.Split(string(head), "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// dataFrames lists the data frames of a WebSocket byte stream.
func dataFrames(b []byte) [][2]int {
	var frames [][2]int
	for len(b) >= 2 {
		n, hl := int(b[1]&0x7f), 2
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
		if b[1]&0x80 != 0 {
			hl += 4
		}
		if len(b) < hl+n {
			return frames
		}
		if b[0]&0x08 == 0 {
			frames = append(frames, [2]int{int(b[0]), n})
		}
		b = b[hl+n:]
	}
	return frames
}
