package engineio

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/websocket"
)

// smallBuffers makes TCP push back quickly: the server's send buffer and
// the client's receive buffer of every connection are a few KiB.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

var smallReadBuffer = &websocket.DialOptions{NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096)
	}
	return c, err
}}

func TestSlowConsumerWebSocket(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, &Options{MaxBufferedBytes: 32 << 10, PingInterval: 10 * time.Second},
		envConfig{echo: true, listener: func(l net.Listener) net.Listener { return smallBuffers{l} }})
	stuck, _, err := e.dial("EIO=4&transport=websocket", smallReadBuffer)
	if err != nil {
		t.Fatal(err)
	}
	wsRead(t, stuck) // the open packet; then this client reads no more
	slow := e.nextSession()
	other, _, _ := e.dialSession()

	// Send at the pace the connection takes: wait for the queue to drain
	// after each message, so that the bound is only reached once the
	// client's socket is full and the writer blocks.
	msg := NewTextMessage(bytes.Repeat([]byte("x"), 1024))
	deadline := time.Now().Add(waitTime)
	var sendErr error
	sent := 0
	for sendErr == nil {
		if time.Now().After(deadline) {
			t.Fatalf("no back-pressure after %d messages", sent)
		}
		if sendErr = slow.c.Send(false, msg); sendErr != nil {
			break
		}
		sent++
		for range 10 {
			slow.c.mu.Lock()
			empty := slow.c.queued == 0
			slow.c.mu.Unlock()
			if empty {
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	if sendErr != ErrSlowConsumer {
		t.Fatalf("Send: %v, want ErrSlowConsumer", sendErr)
	}
	// The bound alone admits 32 such messages; more went out, through the
	// socket, before it filled.
	if sent <= 32 {
		t.Errorf("overflow after %d KiB: the writer did not drain the queue", sent)
	}
	t.Logf("queue overflowed after %d KiB", sent)
	// Later sends are refused.
	if err := slow.c.Send(false, msg); err != ErrClosed && err != ErrSlowConsumer {
		t.Errorf("Send after overflow: %v", err)
	}
	// The session ends at once, although the socket is blocked (closing
	// it waits up to two seconds for the write in flight).
	overflow := time.Now()
	expectClose(t, slow, ReasonTransportError, ErrSlowConsumer)
	if d := time.Since(overflow); d > time.Second {
		t.Errorf("close callback %v after the overflow", d)
	}
	if e.srv.Conn(slow.c.ID()) != nil {
		t.Errorf("session still registered")
	}

	// Other sessions are not affected.
	wsWrite(t, other, "4ping")
	if _, p := wsRead(t, other); p != "4ping" {
		t.Errorf("other session echo %q", p)
	}
	wsWrite(t, other, "4again")
	if _, p := wsRead(t, other); p != "4again" {
		t.Errorf("other session echo %q", p)
	}
	if n := e.srv.ClientsCount(); n != 1 {
		t.Errorf("ClientsCount() = %d, want 1", n)
	}
	// The client going away unblocks the server's writer.
	stuck.Close(websocket.CloseNormal, "")
	waitFlushersDone(t, slow.c)
}

// waitFlushersDone waits until no WebSocket writer of c runs: neither a
// flusher nor the rest of a partial write left to the WebSocket.
func waitFlushersDone(t *testing.T, c *Conn) {
	t.Helper()
	waitFor(t, "writer exit", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return !c.flushing && !c.pending && (c.ws == nil || !c.ws.Writing())
	})
}

// Server.Close does not wait for clients that stopped reading, one after
// the other.
func TestServerCloseWithStuckClients(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, &Options{MaxBufferedBytes: 1 << 30, PingInterval: 10 * time.Second},
		envConfig{listener: func(l net.Listener) net.Listener { return smallBuffers{l} }})
	msg := NewTextMessage(bytes.Repeat([]byte("x"), 1024))
	var sessions []*session
	var clients []*websocket.Conn
	for range 3 {
		ws, _, err := e.dial("EIO=4&transport=websocket", smallReadBuffer)
		if err != nil {
			t.Fatal(err)
		}
		wsRead(t, ws)
		s := e.nextSession()
		sessions, clients = append(sessions, s), append(clients, ws)
		// Far more than the sockets hold: the writer blocks.
		for range 1000 {
			if err := s.c.Send(false, msg); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Once the flush queue has written what the socket took (the rest
	// goes on in the background), a message sent then waits behind the
	// blocked write, with a flusher of its own. (When the Sends above were
	// slower than the writes, a flusher of its own may already hold the
	// connection, with the last messages queued behind its blocked write.)
	for _, s := range sessions {
		waitFor(t, "the first write", func() bool {
			s.c.mu.Lock()
			defer s.c.mu.Unlock()
			return !s.c.pending && (len(s.c.queue) == 0 || s.c.flushing)
		})
		if err := s.c.Send(false, msg); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "a blocked writer", func() bool {
			s.c.mu.Lock()
			defer s.c.mu.Unlock()
			return s.c.flushing
		})
	}
	start := time.Now()
	e.srv.Close()
	for _, s := range sessions {
		expectClose(t, s, ReasonForcedClose, nil)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Server.Close and the close callbacks took %v", d)
	}
	// The writes in flight end within Close's bound of about two seconds,
	// although the clients still read nothing.
	for _, s := range sessions {
		waitFlushersDone(t, s.c)
	}
	for _, ws := range clients {
		ws.Close(websocket.CloseNormal, "")
	}
}

func TestSlowConsumerPolling(t *testing.T) {
	e := newEnvWith(t, &Options{MaxBufferedBytes: 4096}, envConfig{echo: true})
	_, _, slow := e.handshake()
	otherSID, _, _ := e.handshake()
	msg := NewTextMessage(bytes.Repeat([]byte("x"), 100))
	accepted := 0
	var err error
	for ; err == nil; accepted++ {
		if accepted > 100 {
			t.Fatal("queue bound not enforced")
		}
		err = slow.c.Send(false, msg)
	}
	if err != ErrSlowConsumer {
		t.Fatalf("Send: %v, want ErrSlowConsumer", err)
	}
	// Every message costs its frame: 100 bytes, the type and a 2-byte
	// header.
	if want := 4096/msg.size() + 1; accepted != want {
		t.Errorf("%d Sends before the overflow, want %d", accepted, want)
	}
	expectClose(t, slow, ReasonTransportError, ErrSlowConsumer)

	e.post(otherSID, "4hi")
	if got := e.poll(otherSID); len(got) != 1 || got[0] != "4hi" {
		t.Errorf("other session: %q", got)
	}
}

func TestMaxBufferedBytesSingleLargeMessage(t *testing.T) {
	e := newEnv(t, &Options{MaxBufferedBytes: 100})
	sid, _, s := e.handshake()
	big := NewTextMessage(bytes.Repeat([]byte("x"), 1000))
	if err := s.c.Send(false, big); err != nil {
		t.Fatalf("a message larger than the bound on an empty queue: %v", err)
	}
	if got := e.poll(sid); len(got) != 1 || len(got[0]) != 1001 {
		t.Fatalf("GET %d packets", len(got))
	}
	if err := s.c.Send(false, big); err != nil {
		t.Fatal(err)
	}
	if err := s.c.Send(false, NewTextMessage([]byte("y"))); err != ErrSlowConsumer {
		t.Fatalf("second message: %v, want ErrSlowConsumer", err)
	}
	expectClose(t, s, ReasonTransportError, ErrSlowConsumer)
}

// Volatile messages are dropped while a WebSocket writer is busy, and never
// count against the queue bound.
func TestVolatileWebSocket(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, &Options{MaxBufferedBytes: 64 << 10, PingInterval: 10 * time.Second},
		envConfig{listener: func(l net.Listener) net.Listener { return smallBuffers{l} }})
	ws, _, err := e.dial("EIO=4&transport=websocket", smallReadBuffer)
	if err != nil {
		t.Fatal(err)
	}
	wsRead(t, ws)
	s := e.nextSession()
	queued := func() int {
		s.c.mu.Lock()
		defer s.c.mu.Unlock()
		return s.c.queued
	}

	// Writable (once the writer of the open packet is done): a volatile
	// message goes out.
	waitFlushersDone(t, s.c)
	if err := s.c.Send(true, NewTextMessage([]byte("v1"))); err != nil {
		t.Fatal(err)
	}
	if _, p := wsRead(t, ws); p != "4v1" {
		t.Fatalf("got %q", p)
	}

	// Block the writer: send at the pace the socket takes until a message
	// stays queued.
	msg := NewTextMessage(bytes.Repeat([]byte("x"), 1024))
	deadline := time.Now().Add(waitTime)
	for blocked := false; !blocked; {
		if time.Now().After(deadline) {
			t.Fatal("the writer never blocked")
		}
		if err := s.c.Send(false, msg); err != nil {
			t.Fatal(err)
		}
		blocked = true
		for range 100 {
			if queued() == 0 {
				blocked = false
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	// Not writable: volatile messages vanish without error, however many
	// (here 16 times the bound).
	vol := NewTextMessage(bytes.Repeat([]byte("v"), 1024))
	for range 1024 {
		if err := s.c.Send(true, vol); err != nil {
			t.Fatalf("volatile Send: %v", err)
		}
	}
	if q := queued(); q != msg.size() {
		t.Errorf("queued %d bytes, want one message (%d)", q, msg.size())
	}
	if e.srv.Conn(s.c.ID()) == nil {
		t.Fatal("volatile messages closed the session")
	}
	// Drain: only the non-volatile messages arrive. (A larger receive
	// buffer lets the window open at once, rather than after TCP's
	// zero-window probes.)
	if tc, ok := ws.NetConn().(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(1 << 20)
	}
	s.c.SendText([]byte("end"))
	for {
		_, p := wsRead(t, ws)
		if p == "4end" {
			break
		}
		if p != string(msg.Data()) {
			t.Fatalf("unexpected %.20q", p)
		}
	}
}

// SendNow writes inline while the socket takes data; once it takes only
// part of a frame, the rest is finished in the background before anything
// else, and a full socket sends later messages through the queue. The
// client must see every message whole and in order.
func TestSendNowPartialWrites(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, &Options{PingInterval: 10 * time.Second, MaxBufferedBytes: 64 << 20},
		envConfig{echo: true, listener: func(l net.Listener) net.Listener { return smallBuffers{l} }})
	ws, _, err := e.dial("EIO=4&transport=websocket", smallReadBuffer)
	if err != nil {
		t.Fatal(err)
	}
	wsRead(t, ws) // the open packet
	s := e.nextSession()

	const n = 40
	for i := range n {
		// Sizes that do not divide the socket buffer, so that frames are
		// cut mid-way.
		body := append([]byte(strconv.Itoa(i)+":"), bytes.Repeat([]byte("y"), 700+i*37%900)...)
		if err := s.c.SendNow(NewTextMessage(body)); err != nil {
			t.Fatalf("SendNow %d: %v", i, err)
		}
	}
	for i := range n {
		_, p := wsRead(t, ws)
		if !strings.HasPrefix(p, "4"+strconv.Itoa(i)+":") {
			t.Fatalf("message %d: got %.20q", i, p)
		}
	}
}
