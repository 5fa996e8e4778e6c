package websocket

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/socketio-go/socketio/internal/netpoll"
)

// readerFunc adapts a function to netpoll.Reader.
type readerFunc func()

func (f readerFunc) OnReadable() { f() }

// pollLinger alternates between tests: with and without waiting for more.
var pollLinger time.Duration

// pollEcho is the echo loop of newTestServer driven by a netpoll.Poller and
// ReadAvailable instead of a blocking reader.
func pollEcho(c *Conn) error {
	p, err := netpoll.Default()
	if err != nil {
		return err
	}
	rc, ok := c.RawConn()
	if !ok {
		return errors.New("no raw conn")
	}
	done := make(chan error, 1)
	var reg *netpoll.Registration
	ready := make(chan struct{})
	// The mutex orders one readiness callback after the previous one for
	// the race detector (the kernel orders them, invisibly to it).
	var mu sync.Mutex
	reg, err = p.Add(rc, readerFunc(func() {
		<-ready
		mu.Lock()
		err := c.ReadAvailable(func(op Opcode, msg []byte) {
			_ = c.WriteMessage(op, msg)
		}, pollLinger)
		mu.Unlock()
		if err != nil {
			p.Remove(reg)
			done <- err
			return
		}
		if err := p.Rearm(reg); err != nil {
			done <- err
		}
	}))
	if err != nil {
		return err
	}
	close(ready)
	return <-done
}

func TestReadAvailable(t *testing.T) {
	if !netpoll.Supported() {
		t.Skip("no poller on this system")
	}
	for _, linger := range []time.Duration{0, 5 * time.Millisecond} {
		pollLinger = linger
		testReadAvailable(t)
	}
	pollLinger = 0
}

func testReadAvailable(t *testing.T) {
	ts := newTestServer(t, pollEcho)
	nc, br := rawClient(t, ts, nil)

	big := bytes.Repeat([]byte("0123456789abcdef"), 2000) // 32 KB: grows the buffer
	frag := []byte("héllo wörld")
	var stream []byte
	var want [][]byte
	for i := range 50 {
		msg := []byte{byte('a' + i%26)}
		stream = append(stream, cf(OpText, msg)...)
		want = append(want, msg)
	}
	stream = append(stream, cf(OpPing, []byte("p"))...)
	stream = append(stream, cf(OpBinary, big)...)
	want = append(want, big)
	stream = append(stream, rawFrame(byte(OpText), frag[:2], true)...)
	stream = append(stream, cf(OpPing, []byte("q"))...)
	stream = append(stream, rawFrame(0x80|byte(OpContinuation), frag[2:], true)...)
	want = append(want, frag)
	stream = append(stream, cf(OpText, nil)...)
	want = append(want, []byte{})

	// Write the stream in random pieces, some one byte long, with pauses so
	// that frames arrive split across readiness events.
	rng := rand.New(rand.NewPCG(1, 2))
	go func() {
		for rest := stream; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(700))
			if rng.IntN(4) == 0 {
				n = 1
			}
			if _, err := nc.Write(rest[:n]); err != nil {
				return
			}
			rest = rest[n:]
			if rng.IntN(3) == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	pongs := 0
	for got := 0; got < len(want); {
		b0, _, p, err := rawRead(br)
		if err != nil {
			t.Fatalf("after %d messages: %v", got, err)
		}
		if Opcode(b0&0x0f) == OpPong {
			pongs++
			continue
		}
		if !bytes.Equal(p, want[got]) {
			t.Fatalf("message %d: got %d bytes %q..., want %d bytes", got, len(p), p[:min(len(p), 10)], len(want[got]))
		}
		got++
	}
	if pongs < 2 {
		t.Fatalf("%d pongs, want at least 2", pongs)
	}
	// A clean close ends the loop with a CloseError.
	if _, err := nc.Write(cf(OpClose, closeBody(CloseNormal, "bye"))); err != nil {
		t.Fatal(err)
	}
	var ce *CloseError
	if err := ts.nextErr(t); !errors.As(err, &ce) || ce.Code != CloseNormal {
		t.Fatalf("end: %v", err)
	}
}

func TestReadAvailableLimitAndViolations(t *testing.T) {
	if !netpoll.Supported() {
		t.Skip("no poller on this system")
	}
	limited := func(c *Conn) error {
		c.SetReadLimit(1000)
		return pollEcho(c)
	}
	ts := newTestServer(t, limited)
	nc, br := rawClient(t, ts, nil)
	if _, err := nc.Write(cf(OpText, bytes.Repeat([]byte("x"), 2000))[:100]); err != nil {
		t.Fatal(err)
	}
	b0, _, p, err := rawRead(br)
	if err != nil || Opcode(b0&0x0f) != OpClose || len(p) < 2 || int(p[0])<<8|int(p[1]) != CloseMessageTooBig {
		t.Fatalf("close: %x %q %v", b0, p, err)
	}
	if err := ts.nextErr(t); !errors.Is(err, ErrMessageTooBig) {
		t.Fatalf("end: %v", err)
	}

	ts2 := newTestServer(t, pollEcho)
	nc2, br2 := rawClient(t, ts2, nil)
	if _, err := nc2.Write(rawFrame(0x80|byte(OpText), []byte("unmasked"), false)); err != nil {
		t.Fatal(err)
	}
	b0, _, p, err = rawRead(br2)
	if err != nil || Opcode(b0&0x0f) != OpClose || int(p[0])<<8|int(p[1]) != CloseProtocolError {
		t.Fatalf("close: %x %q %v", b0, p, err)
	}
	var ce *CloseError
	if err := ts2.nextErr(t); !errors.As(err, &ce) || ce.Code != CloseProtocolError {
		t.Fatalf("end: %v", err)
	}

	// The peer goes away between frames: EOF.
	ts3 := newTestServer(t, pollEcho)
	nc3, _ := rawClient(t, ts3, nil)
	nc3.Close()
	if err := ts3.nextErr(t); err == nil {
		t.Fatal("no error after the peer closed")
	}
}

// After a lingering read gave up, a later non-blocking read must work: the
// deadline of the wait must not stay behind.
func TestReadAvailableAfterLinger(t *testing.T) {
	if !netpoll.Supported() {
		t.Skip("no poller on this system")
	}
	got := make(chan string, 4)
	ts := newTestServer(t, func(c *Conn) error {
		if err := c.ReadAvailable(func(op Opcode, msg []byte) { got <- string(msg) }, 10*time.Millisecond); err != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond) // the client writes meanwhile
		return c.ReadAvailable(func(op Opcode, msg []byte) { got <- string(msg) }, 0)
	})
	nc, _ := rawClient(t, ts, nil)
	time.Sleep(20 * time.Millisecond)
	if _, err := nc.Write(cf(OpText, []byte("late"))); err != nil {
		t.Fatal(err)
	}
	if err := ts.nextErr(t); err != nil {
		t.Fatalf("second read: %v", err)
	}
	if m := <-got; m != "late" {
		t.Fatalf("got %q", m)
	}
}

// Idle connections are many: a server Conn stays in the 176-byte size
// class (168 bytes at issue 14); its read buffers are given back when it
// goes idle (settle).
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 176 {
		t.Errorf("Conn is %d bytes, over the 176-byte size class", n)
	}
}

// lingerLoop reads c with a long linger until the connection ends, so that
// a lost wake-up would show as a stall of seconds.
func lingerLoop(c *Conn, handle func(op Opcode, msg []byte)) error {
	for {
		if err := c.ReadAvailable(handle, 5*time.Second); err != nil {
			return err
		}
	}
}

// ReadAvailable skips the read after a short one and leaves the wait for
// more to the poller: messages that arrive at any moment around that
// read, whole or in pieces, must still be read at once, by a lingering
// reader (which waits on the runtime poller) and by a quiet one (which
// returns to a netpoll.Poller).
func TestShortReadSkipsNoData(t *testing.T) {
	if !netpoll.Supported() {
		t.Skip("no poller on this system")
	}
	t.Run("linger", func(t *testing.T) {
		var c *Conn
		ts := newTestServer(t, func(sc *Conn) error {
			c = sc
			return lingerLoop(sc, func(op Opcode, msg []byte) { _ = sc.WriteMessage(op, msg) })
		})
		nc, br := rawClient(t, ts, nil)
		echoBursts(t, nc, br)
		nc.SetDeadline(time.Now().Add(testTimeout))
		c.Close(CloseNormal, "")
		if err := ts.nextErr(t); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("reader ended with %v, want net.ErrClosed", err)
		}
	})
	t.Run("poller", func(t *testing.T) {
		defer func(l time.Duration) { pollLinger = l }(pollLinger)
		pollLinger = 0
		ts := newTestServer(t, pollEcho)
		nc, br := rawClient(t, ts, nil)
		echoBursts(t, nc, br)
		nc.Close()
		if err := ts.nextErr(t); err == nil {
			t.Fatal("no error after the peer closed")
		}
	})
}

// echoBursts sends an echo server bursts of messages and checks that each
// burst comes back in order, within two seconds.
func echoBursts(t *testing.T, nc net.Conn, br *bufio.Reader) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	// Bursts of one to three messages, each whole, in two pieces or after
	// a pause, so that data arrives while the server reads, handles and
	// waits; then the burst's echoes: one stuck message fails the test.
	i := 0
	for range 1500 {
		k := 1 + rng.IntN(3)
		for j := range k {
			frame := cf(OpText, []byte(fmt.Sprintf("m%d", i+j)))
			var err error
			switch rng.IntN(3) {
			case 0:
				_, err = nc.Write(frame)
			case 1:
				cut := 1 + rng.IntN(len(frame)-1)
				if _, err = nc.Write(frame[:cut]); err == nil {
					time.Sleep(time.Duration(rng.IntN(100)) * time.Microsecond)
					_, err = nc.Write(frame[cut:])
				}
			default:
				time.Sleep(time.Duration(rng.IntN(100)) * time.Microsecond)
				_, err = nc.Write(frame)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		for range k {
			nc.SetReadDeadline(time.Now().Add(2 * time.Second))
			_, _, p, err := rawRead(br)
			if err != nil {
				t.Fatalf("echo %d: %v (a wake-up was lost)", i, err)
			}
			if want := fmt.Sprintf("m%d", i); string(p) != want {
				t.Fatalf("echo %d is %q", i, p)
			}
			i++
		}
	}
}

// A handler that closes its connection runs inside the lingering read,
// which holds the descriptor: net.Conn.Close would wait for it for ever.
// The close must end the connection at once, for the reader and the peer.
func TestLingerCloseFromHandler(t *testing.T) {
	if !netpoll.Supported() {
		t.Skip("no poller on this system")
	}
	ts := newTestServer(t, func(c *Conn) error {
		return lingerLoop(c, func(op Opcode, msg []byte) { c.Close(CloseGoingAway, "bye") })
	})
	nc, br := rawClient(t, ts, nil)
	if _, err := nc.Write(cf(OpText, []byte("close me"))); err != nil {
		t.Fatal(err)
	}
	if err := ts.nextErr(t); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("reader ended with %v, want net.ErrClosed", err)
	}
	if p := readCloseThenEOF(t, br); len(p) < 2 || binary.BigEndian.Uint16(p) != CloseGoingAway {
		t.Fatalf("close frame %q, want code 1001", p)
	}
}

// A Close from another goroutine while a handler runs inside the lingering
// read returns without waiting for the handler: the peer sees the end at
// once, and the reader ends when the handler returns.
func TestLingerCloseWhileHandling(t *testing.T) {
	if !netpoll.Supported() {
		t.Skip("no poller on this system")
	}
	inHandler, release := make(chan *Conn, 1), make(chan struct{})
	ts := newTestServer(t, func(c *Conn) error {
		return lingerLoop(c, func(op Opcode, msg []byte) {
			inHandler <- c
			<-release
		})
	})
	nc, br := rawClient(t, ts, nil)
	if _, err := nc.Write(cf(OpText, []byte("block"))); err != nil {
		t.Fatal(err)
	}
	c := <-inHandler
	closed := make(chan error, 1)
	go func() { closed <- c.Close(CloseNormal, "") }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatal("Close waited for the handler")
	}
	readCloseThenEOF(t, br)
	close(release)
	if err := ts.nextErr(t); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("reader ended with %v, want net.ErrClosed", err)
	}
}

// ReadFirst waits for the first message only: it returns once the socket
// is drained after it, and leaves no read deadline behind.
func TestReadFirst(t *testing.T) {
	if !netpoll.Supported() {
		t.Skip("no poller on this system")
	}
	for _, wait := range []time.Duration{5 * time.Second, 30 * time.Millisecond} {
		t.Run(wait.String(), func(t *testing.T) {
			got := make(chan string, 4)
			h := func(op Opcode, msg []byte) { got <- string(msg) }
			ts := newTestServer(t, func(c *Conn) error {
				if err := c.ReadFirst(h, wait); err != nil {
					return err
				}
				if err := c.WriteMessage(OpText, []byte("returned")); err != nil {
					return err
				}
				if wait > time.Second {
					return nil
				}
				// Past the first wait: a deadline left behind would
				// fail the next read.
				time.Sleep(2 * wait)
				return c.ReadAvailable(h, 0)
			})
			nc, br := rawClient(t, ts, nil)
			if _, err := nc.Write(cf(OpText, []byte("one"))); err != nil {
				t.Fatal(err)
			}
			if wait > time.Second {
				// Its reply comes before the wait is over.
				nc.SetReadDeadline(time.Now().Add(wait / 2))
			}
			if _, _, p, err := rawRead(br); err != nil || string(p) != "returned" {
				t.Fatalf("got %q, %v; want ReadFirst to return after the first message", p, err)
			}
			nc.SetReadDeadline(time.Now().Add(testTimeout))
			if _, err := nc.Write(cf(OpText, []byte("two"))); err != nil {
				t.Fatal(err)
			}
			if err := ts.nextErr(t); err != nil {
				t.Fatalf("read after ReadFirst: %v", err)
			}
			want := []string{"one", "two"}
			if wait > time.Second {
				want = want[:1]
			}
			for _, w := range want {
				if m := <-got; m != w {
					t.Fatalf("got %q, want %q", m, w)
				}
			}
		})
	}
}

// A Close from another goroutine while the lingering reader waits for data
// wakes it at once (the shut-down socket becomes readable), well before its
// linger ends.
func TestLingerCloseWhileWaiting(t *testing.T) {
	if !netpoll.Supported() {
		t.Skip("no poller on this system")
	}
	conns := make(chan *Conn, 1)
	ts := newTestServer(t, func(c *Conn) error {
		conns <- c
		return lingerLoop(c, func(Opcode, []byte) {})
	})
	_, br := rawClient(t, ts, nil)
	c := <-conns
	time.Sleep(20 * time.Millisecond) // let the reader reach its wait
	if err := c.Close(CloseNormal, ""); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// lingerLoop's linger is 5 s: an error before it means the wait woke.
	select {
	case err := <-ts.errs:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("reader ended with %v, want net.ErrClosed", err)
		}
	case <-time.After(4 * time.Second):
		t.Fatal("the waiting reader did not wake at Close")
	}
	readCloseThenEOF(t, br)
}

// readCloseThenEOF reads a close frame from br, then the end of the
// stream, and returns the close frame's payload.
func readCloseThenEOF(t *testing.T, br *bufio.Reader) []byte {
	t.Helper()
	b0, _, p, err := rawRead(br)
	if err != nil || Opcode(b0&0x0f) != OpClose {
		t.Fatalf("got frame %#x %q, %v; want a close frame", b0, p, err)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("after the close frame: %v, want EOF", err)
	}
	return p
}
