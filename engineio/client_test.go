package engineio_test

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/socketio-go/socketio/engineio"
)

// clientWait bounds every wait of the client tests.
const clientWait = 5 * time.Second

// clientEnv is an echoing Engine.IO server on 127.0.0.1 and what it saw.
type clientEnv struct {
	srv    *engineio.Server
	ts     *httptest.Server
	url    string
	conns  chan *engineio.Conn
	closes chan string // server-side close reasons
}

func newClientEnv(t *testing.T, opts *engineio.Options) *clientEnv {
	t.Helper()
	e := &clientEnv{
		srv:    engineio.NewServer(opts),
		conns:  make(chan *engineio.Conn, 16),
		closes: make(chan string, 16),
	}
	e.srv.OnConnection(func(c *engineio.Conn) {
		c.OnMessage(func(data []byte, binary bool) {
			if binary {
				_ = c.SendBinary(append([]byte(nil), data...))
			} else {
				_ = c.SendText(data)
			}
		})
		c.OnClose(func(reason string, err error) { e.closes <- reason })
		e.conns <- c
	})
	e.ts = httptest.NewServer(e.srv)
	e.url = e.ts.URL
	t.Cleanup(e.ts.Close)
	t.Cleanup(e.srv.Close)
	return e
}

// clientRec records the callbacks of a ClientConn.
type clientRec struct {
	msgs     chan string // "t:" or "b:" + data
	closes   chan string
	upgrades chan string
}

func newClientRec() *clientRec {
	return &clientRec{msgs: make(chan string, 64), closes: make(chan string, 1), upgrades: make(chan string, 1)}
}

func (r *clientRec) options(o *engineio.DialOptions) *engineio.DialOptions {
	if o == nil {
		o = &engineio.DialOptions{}
	}
	o.OnMessage = func(data []byte, binary bool) {
		p := "t:"
		if binary {
			p = "b:"
		}
		r.msgs <- p + string(data)
	}
	o.OnClose = func(reason string, err error) { r.closes <- reason }
	o.OnUpgrade = func(tr string) { r.upgrades <- tr }
	return o
}

func recvT[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(clientWait):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

func TestClientTransports(t *testing.T) {
	cases := []struct {
		name       string
		transports []string
		noUpgrade  bool
		want       string // transport at the end
	}{
		{"polling", []string{"polling"}, false, "polling"},
		{"polling-no-upgrade", nil, true, "polling"},
		{"websocket", []string{"websocket"}, false, "websocket"},
		{"upgrade", nil, false, "websocket"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newClientEnv(t, nil)
			rec := newClientRec()
			ctx, cancel := context.WithTimeout(context.Background(), clientWait)
			defer cancel()
			c, err := engineio.Dial(ctx, e.url, rec.options(&engineio.DialOptions{Transports: tc.transports, DisableUpgrade: tc.noUpgrade}))
			if err != nil {
				t.Fatal(err)
			}
			sc := recvT(t, e.conns, "server session")
			if sc.ID() != c.ID() {
				t.Fatalf("sid: client %q, server %q", c.ID(), sc.ID())
			}
			if tc.want == "websocket" && tc.transports == nil {
				if got := recvT(t, rec.upgrades, "upgrade"); got != "websocket" {
					t.Fatalf("upgraded to %q", got)
				}
			}
			// Text and binary, several at once, in order.
			if err := c.Send(false, engineio.NewTextMessage([]byte("hello")), engineio.NewBinaryMessage([]byte{1, 2, 3}), engineio.NewTextMessage([]byte("é"))); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"t:hello", "b:\x01\x02\x03", "t:é"} {
				if got := recvT(t, rec.msgs, want); got != want {
					t.Fatalf("got %q, want %q", got, want)
				}
			}
			if got := c.Transport(); got != tc.want {
				t.Fatalf("transport %q, want %q", got, tc.want)
			}
			if got := sc.Transport(); got != tc.want {
				t.Fatalf("server transport %q, want %q", got, tc.want)
			}
			c.Close()
			if got := recvT(t, rec.closes, "client close"); got != engineio.ReasonForcedClose {
				t.Fatalf("client reason %q", got)
			}
			if got := recvT(t, e.closes, "server close"); got != engineio.ReasonTransportClose {
				t.Fatalf("server reason %q", got)
			}
			recvT(t, c.Done(), "done")
			if err := c.Send(false, engineio.NewTextMessage([]byte("late"))); !errors.Is(err, engineio.ErrClosed) {
				t.Fatalf("Send after Close: %v", err)
			}
		})
	}
}

// TestClientCloseFlushes checks that what was sent before Close reaches the
// server.
func TestClientCloseFlushes(t *testing.T) {
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			e := newClientEnv(t, nil)
			got := make(chan string, 100)
			e.srv.OnConnection(func(c *engineio.Conn) {
				c.OnMessage(func(data []byte, _ bool) { got <- string(data) })
			})
			ctx, cancel := context.WithTimeout(context.Background(), clientWait)
			defer cancel()
			c, err := engineio.Dial(ctx, e.url, &engineio.DialOptions{Transports: []string{tr}})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 50; i++ {
				_ = c.Send(false, engineio.NewTextMessage([]byte{byte('a' + i%26)}))
			}
			c.Close()
			recvT(t, c.Done(), "done")
			for i := 0; i < 50; i++ {
				if m := recvT(t, got, "message"); m != string(rune('a'+i%26)) {
					t.Fatalf("message %d: %q", i, m)
				}
			}
		})
	}
}

func TestClientServerCloses(t *testing.T) {
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			e := newClientEnv(t, nil)
			rec := newClientRec()
			ctx, cancel := context.WithTimeout(context.Background(), clientWait)
			defer cancel()
			c, err := engineio.Dial(ctx, e.url, rec.options(&engineio.DialOptions{Transports: []string{tr}}))
			if err != nil {
				t.Fatal(err)
			}
			sc := recvT(t, e.conns, "server session")
			sc.Close()
			if got := recvT(t, rec.closes, "client close"); got != engineio.ReasonTransportClose {
				t.Fatalf("reason %q", got)
			}
			recvT(t, c.Done(), "done")
		})
	}
}

// TestClientHeartbeat keeps a session with a fast heartbeat alive well past
// its timeout, on both transports.
func TestClientHeartbeat(t *testing.T) {
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			// Generous against a loaded machine (-race, 2 cores): a
			// heartbeat has 300 ms to go round, and the session lives
			// through several of them.
			e := newClientEnv(t, &engineio.Options{PingInterval: 60 * time.Millisecond, PingTimeout: 300 * time.Millisecond})
			rec := newClientRec()
			ctx, cancel := context.WithTimeout(context.Background(), clientWait)
			defer cancel()
			c, err := engineio.Dial(ctx, e.url, rec.options(&engineio.DialOptions{Transports: []string{tr}}))
			if err != nil {
				t.Fatal(err)
			}
			select {
			case r := <-rec.closes:
				t.Fatalf("closed: %s", r)
			case r := <-e.closes:
				t.Fatalf("server closed: %s", r)
			case <-time.After(1200 * time.Millisecond):
			}
			c.Close()
			recvT(t, c.Done(), "done")
		})
	}
}

func TestClientDialErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), clientWait)
	defer cancel()
	// Nothing listens on a port we just closed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, tr := range []string{"polling", "websocket"} {
		_, err := engineio.Dial(ctx, "http://"+addr, &engineio.DialOptions{Transports: []string{tr}})
		var de *engineio.DialError
		if !errors.As(err, &de) || de.StatusCode != 0 || de.Transport != tr {
			t.Fatalf("%s: unreachable server: %v", tr, err)
		}
	}
	e := newClientEnv(t, &engineio.Options{AllowRequest: func(*http.Request) error { return errors.New("go away") }})
	for _, tr := range []string{"polling", "websocket"} {
		_, err := engineio.Dial(ctx, e.url, &engineio.DialOptions{Transports: []string{tr}})
		var de *engineio.DialError
		if !errors.As(err, &de) || de.StatusCode == 0 || !strings.Contains(err.Error(), "go away") {
			t.Fatalf("%s: rejected handshake: %v", tr, err)
		}
	}
	if _, err := engineio.Dial(ctx, "ftp://x", nil); err == nil {
		t.Fatal("ftp URL accepted")
	}
}

// pipeServer is a fake Engine.IO server over net.Pipe for tests inside a
// synctest bubble: it accepts the WebSocket handshake, sends open, then
// sends the frames it is told to and records the client's packets.
type pipeServer struct {
	conn net.Conn
	br   *bufio.Reader
	mu   sync.Mutex
	got  []string
}

func newPipeServer(t *testing.T, open string) (*pipeServer, func(ctx context.Context, network, addr string) (net.Conn, error)) {
	cli, srv := net.Pipe()
	ps := &pipeServer{conn: srv, br: bufio.NewReader(srv)}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		go ps.serve(t, open)
		return cli, nil
	}
	return ps, dial
}

func (ps *pipeServer) serve(t *testing.T, open string) {
	req, err := http.ReadRequest(ps.br)
	if err != nil {
		return
	}
	sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n"
	if _, err := ps.conn.Write([]byte(resp)); err != nil {
		return
	}
	ps.send(open)
	for {
		// Client frames: small, masked, text.
		var h [2]byte
		if _, err := ioReadFull(ps.br, h[:]); err != nil {
			return
		}
		n := int(h[1] & 0x7f)
		var key [4]byte
		if _, err := ioReadFull(ps.br, key[:]); err != nil {
			return
		}
		p := make([]byte, n)
		if _, err := ioReadFull(ps.br, p); err != nil {
			return
		}
		for i := range p {
			p[i] ^= key[i%4]
		}
		if h[0]&0x0f == 0x8 { // close
			ps.conn.Close()
			return
		}
		ps.mu.Lock()
		ps.got = append(ps.got, string(p))
		ps.mu.Unlock()
	}
}

func ioReadFull(r *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// send writes an unmasked text frame (payloads under 126 bytes).
func (ps *pipeServer) send(s string) {
	_, _ = ps.conn.Write(append([]byte{0x81, byte(len(s))}, s...))
}

func (ps *pipeServer) received() []string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return append([]string(nil), ps.got...)
}

// TestClientPingTimeout checks, on a fake clock, that the session ends with
// "ping timeout" exactly pingInterval+pingTimeout after the last ping, and
// that pings are answered and push the deadline.
func TestClientPingTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps, dial := newPipeServer(t, `0{"sid":"abc","upgrades":[],"pingInterval":1000,"pingTimeout":500,"maxPayload":1000}`)
		closed := make(chan string, 1)
		start := time.Now()
		c, err := engineio.Dial(t.Context(), "http://test.invalid", &engineio.DialOptions{
			Transports: []string{"websocket"},
			NetDial:    dial,
			OnClose:    func(reason string, err error) { closed <- reason },
		})
		if err != nil {
			t.Fatal(err)
		}
		if c.ID() != "abc" || c.PingInterval() != time.Second || c.PingTimeout() != 500*time.Millisecond {
			t.Fatalf("handshake: %s %v %v", c.ID(), c.PingInterval(), c.PingTimeout())
		}
		time.Sleep(time.Second)
		ps.send("2") // ping at t=1s: deadline moves to 2.5s
		synctest.Wait()
		if got := ps.received(); len(got) != 1 || got[0] != "3" {
			t.Fatalf("client sent %q, want a pong", got)
		}
		time.Sleep(1499 * time.Millisecond)
		synctest.Wait()
		select {
		case r := <-closed:
			t.Fatalf("closed early (%s) at %v", r, time.Since(start))
		default:
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		select {
		case r := <-closed:
			if r != engineio.ReasonPingTimeout {
				t.Fatalf("reason %q", r)
			}
		default:
			t.Fatalf("not closed at %v", time.Since(start))
		}
		<-c.Done()
		ps.conn.Close()
	})
}

// TestClientUpgradeUnderLoad sends while the upgrade is under way: every
// message arrives once, in order, both ways.
func TestClientUpgradeUnderLoad(t *testing.T) {
	e := newClientEnv(t, nil)
	rec := newClientRec()
	rec.msgs = make(chan string, 1000)
	ctx, cancel := context.WithTimeout(context.Background(), clientWait)
	defer cancel()
	c, err := engineio.Dial(ctx, e.url, rec.options(nil))
	if err != nil {
		t.Fatal(err)
	}
	const n = 400
	for i := 0; i < n; i++ {
		if err := c.Send(false, engineio.NewTextMessage([]byte(strconv.Itoa(i)))); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	for i := 0; i < n; i++ {
		if got, want := recvT(t, rec.msgs, "echo"), "t:"+strconv.Itoa(i); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	if got := recvT(t, rec.upgrades, "upgrade"); got != "websocket" {
		t.Fatalf("upgraded to %q", got)
	}
	c.Close()
	recvT(t, c.Done(), "done")
}
