package client_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketio-go/socketio/client"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// testOptions: a Manager of its own, fast reconnection without jitter.
func testOptions(transports ...string) *client.Options {
	return &client.Options{
		ForceNew:             true,
		Transports:           transports,
		ReconnectionDelay:    50 * time.Millisecond,
		ReconnectionDelayMax: 200 * time.Millisecond,
		RandomizationFactor:  -1,
		Timeout:              wait,
		Logger:               quiet,
	}
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

func expectNone[T any](t *testing.T, ch <-chan T, d time.Duration, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %s: %v", what, v)
	case <-time.After(d):
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

type welcome struct {
	ID        string         `json:"id"`
	Nsp       string         `json:"nsp"`
	Recovered bool           `json:"recovered"`
	Auth      map[string]any `json:"auth"`
}

// dial creates a socket with a "welcome" handler, connects it and returns
// it with the welcome it got.
func dial(t *testing.T, url string, opts *client.Options) (*client.Socket, chan welcome) {
	t.Helper()
	s, err := client.NewSocket(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	welcomes := make(chan welcome, 8)
	s.On("welcome", func(w welcome) { welcomes <- w })
	s.Connect()
	if err := s.WaitConnect(ctxT(t)); err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(s.Disconnect)
	return s, welcomes
}

var transportModes = []struct {
	name       string
	transports []string
	final      string
}{
	{"polling", []string{"polling"}, "polling"},
	{"websocket", []string{"websocket"}, "websocket"},
	{"upgrade", nil, "websocket"},
}

// waitTransport waits until the socket's connection uses transport.
func waitTransport(t *testing.T, s *client.Socket, transport string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		if e := s.Manager().Engine(); e != nil && e.Transport() == transport {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("transport never became %s", transport)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTransports: every transport mode, JSON and binary both ways, acks
// both ways.
func TestTransports(t *testing.T) {
	forEachPeer(t, peerOptions{}, func(t *testing.T, p *peer) {
		for _, mode := range transportModes {
			t.Run(mode.name, func(t *testing.T) {
				s, err := client.NewSocket(p.url("/"), testOptions(mode.transports...))
				if err != nil {
					t.Fatal(err)
				}
				welcomes := make(chan welcome, 1)
				s.On("welcome", func(w welcome) { welcomes <- w })
				type pong struct {
					text string
					data []byte
				}
				pongs := make(chan pong, 1)
				s.On("pong", func(text string, data []byte) { pongs <- pong{text, data} })
				answers := make(chan string, 1)
				s.On("question", func(q string, ack func(string)) { ack("answer to " + q) })
				s.Connect()
				defer s.Disconnect()
				ctx := ctxT(t)
				if err := s.WaitConnect(ctx); err != nil {
					t.Fatal(err)
				}
				if w := recv(t, welcomes, "welcome"); w.ID != s.ID() || w.ID == "" {
					t.Fatalf("welcome id %q, socket id %q", w.ID, s.ID())
				}
				waitTransport(t, s, mode.final)

				// Client to server with an ack, binary inside.
				type nested struct {
					Blob []byte `json:"blob"`
					N    int    `json:"n"`
				}
				args, err := s.EmitWithAck(ctx, "echo", "text", []byte{0, 1, 2, 255}, nested{Blob: []byte("inner"), N: 7}, 42)
				if err != nil {
					t.Fatal(err)
				}
				var (
					text string
					blob []byte
					nst  nested
					num  int
				)
				if err := args.Decode(&text, &blob, &nst, &num); err != nil {
					t.Fatal(err)
				}
				if text != "text" || string(blob) != "\x00\x01\x02\xff" || string(nst.Blob) != "inner" || nst.N != 7 || num != 42 {
					t.Fatalf("echo: %q %v %+v %d", text, blob, nst, num)
				}

				// Server to client, binary.
				if err := s.Emit("emit-back", "pong", "bin", []byte{9, 8, 7}); err != nil {
					t.Fatal(err)
				}
				if got := recv(t, pongs, "pong"); got.text != "bin" || string(got.data) != "\x09\x08\x07" {
					t.Fatalf("pong %+v", got)
				}

				// Server asks the client, which acks; the server acks back.
				done := make(chan struct{})
				if err := s.Emit("ask", "question", "life", func(answer string) { answers <- answer; close(done) }); err != nil {
					t.Fatal(err)
				}
				if got := recv(t, answers, "answer"); got != "answer to life" {
					t.Fatalf("answer %q", got)
				}
				if e := s.Manager().Engine(); e == nil || e.Transport() != mode.final {
					t.Fatalf("transport at the end: %v", e)
				}
			})
		}
	})
}

// TestAckTimeout: an emit whose ack never comes fails with ErrTimeout.
func TestAckTimeout(t *testing.T) {
	forEachPeer(t, peerOptions{}, func(t *testing.T, p *peer) {
		s, _ := dial(t, p.url("/"), testOptions("websocket"))
		ctx := ctxT(t)
		start := time.Now()
		_, err := s.Timeout(150*time.Millisecond).EmitWithAck(ctx, "drop-first", 1)
		if !errors.Is(err, client.ErrTimeout) {
			t.Fatalf("EmitWithAck: %v", err)
		}
		if d := time.Since(start); d < 140*time.Millisecond {
			t.Fatalf("timed out after %v", d)
		}
		errs := make(chan error, 2)
		if err := s.Timeout(100*time.Millisecond).Emit("drop-first", 2, func(err error, n int) { errs <- err }); err != nil {
			t.Fatal(err)
		}
		if err := recv(t, errs, "timeout"); !errors.Is(err, client.ErrTimeout) {
			t.Fatalf("callback got %v", err)
		}
		// A callback without an error parameter cannot have a timeout.
		if err := s.Timeout(time.Second).Emit("echo", func(string) {}); err == nil {
			t.Fatal("accepted a callback without an error parameter")
		}
		// ctx bounds EmitWithAck too.
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if _, err := s.EmitWithAck(short, "drop-first", 3); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("EmitWithAck with a short ctx: %v", err)
		}
		if err := s.Emit("connect"); !errors.Is(err, client.ErrReservedEvent) {
			t.Fatalf("reserved event: %v", err)
		}
	})
}

// TestNamespaces: namespaces share one connection unless ForceNew; the
// middleware's error and data reach connect_error; unknown namespaces are
// refused.
func TestNamespaces(t *testing.T) {
	forEachPeer(t, peerOptions{}, func(t *testing.T, p *peer) {
		shared := testOptions()
		shared.ForceNew = false
		a, wa := dial(t, p.url("/"), shared)
		b, wb := dial(t, p.url("/room"), shared)
		if a.Manager() != b.Manager() {
			t.Fatal("sockets of one server do not share their Manager")
		}
		if w := recv(t, wa, "welcome /"); w.Nsp != "/" {
			t.Fatalf("welcome of / from %q", w.Nsp)
		}
		if w := recv(t, wb, "welcome /room"); w.Nsp != "/room" {
			t.Fatalf("welcome of /room from %q", w.Nsp)
		}
		if a.Manager().Engine().ID() != b.Manager().Engine().ID() {
			t.Fatal("two Engine.IO connections for one Manager")
		}
		c, _ := dial(t, p.url("/room"), testOptions()) // ForceNew
		if c.Manager() == a.Manager() || c.Manager().Engine().ID() == a.Manager().Engine().ID() {
			t.Fatal("ForceNew shares the connection")
		}
		// Disconnecting one namespace keeps the other's connection.
		b.Disconnect()
		if _, err := a.EmitWithAck(ctxT(t), "echo", 1); err != nil {
			t.Fatalf("/ after /room left: %v", err)
		}

		ctx := ctxT(t)
		// Unknown namespace.
		_, err := client.Connect(ctx, p.url("/nope"), testOptions())
		var ce *client.ConnectError
		if !errors.As(err, &ce) || ce.Message != "Invalid namespace" {
			t.Fatalf("unknown namespace: %v", err)
		}
		// Middleware refusal with data, through the connect_error handler.
		s, err := client.NewSocket(p.url("/admin"), testOptions())
		if err != nil {
			t.Fatal(err)
		}
		cerrs := make(chan error, 1)
		s.OnConnectError(func(err error) { cerrs <- err })
		s.Connect()
		err = recv(t, cerrs, "connect_error")
		if !errors.As(err, &ce) || ce.Message != "not authorized" || string(ce.Data) != `{"code":401}` {
			t.Fatalf("middleware error: %#v", err)
		}
		if err := s.WaitConnect(ctx); !errors.As(err, &ce) {
			t.Fatalf("WaitConnect after refusal: %v", err)
		}
		if s.Active() {
			t.Fatal("refused socket still active")
		}
		// Auth as a func, evaluated per connection attempt.
		var calls atomic.Int32
		o := testOptions()
		o.Auth = func() any {
			calls.Add(1)
			return map[string]string{"token": "secret", "user": "ann"}
		}
		admin, wadm := dial(t, p.url("/admin"), o)
		if w := recv(t, wadm, "welcome /admin"); w.Auth["user"] != "ann" {
			t.Fatalf("auth seen by the server: %v", w.Auth)
		}
		if calls.Load() != 1 {
			t.Fatalf("auth func called %d times", calls.Load())
		}
		admin.Disconnect()
		admin.Connect()
		if err := admin.WaitConnect(ctx); err != nil {
			t.Fatal(err)
		}
		if calls.Load() != 2 {
			t.Fatalf("auth func called %d times after a reconnection", calls.Load())
		}
	})
}

// TestReconnectAfterDrop: the server drops the connection; the client
// reconnects with a new session, and what was emitted meanwhile is sent.
func TestReconnectAfterDrop(t *testing.T) {
	forEachPeer(t, peerOptions{}, func(t *testing.T, p *peer) {
		for _, mode := range transportModes {
			t.Run(mode.name, func(t *testing.T) {
				s, err := client.NewSocket(p.url("/"), testOptions(mode.transports...))
				if err != nil {
					t.Fatal(err)
				}
				reasons := make(chan client.DisconnectReason, 4)
				connects := make(chan string, 4)
				reconnects := make(chan int, 4)
				buffered := make(chan string, 4)
				s.OnConnect(func() { connects <- s.ID() })
				s.OnDisconnect(func(r client.DisconnectReason, _ error) {
					reasons <- r
					// Emitted while disconnected: kept for the next connection.
					_ = s.Emit("emit-back", "buffered", "kept")
				})
				s.On("buffered", func(v string) { buffered <- v })
				s.Manager().OnReconnect(func(n int) { reconnects <- n })
				s.Connect()
				defer s.Disconnect()
				first := recv(t, connects, "connect")
				waitTransport(t, s, mode.final)
				if err := s.Emit("drop-me", s.Manager().Engine().ID()); err != nil {
					t.Fatal(err)
				}
				if r := recv(t, reasons, "disconnect"); r != client.ReasonTransportClose {
					t.Fatalf("reason %q", r)
				}
				second := recv(t, connects, "reconnect")
				if second == first {
					t.Fatal("same id after reconnection without recovery")
				}
				if n := recv(t, reconnects, "reconnect event"); n != 1 {
					t.Fatalf("reconnected after %d attempts", n)
				}
				if v := recv(t, buffered, "buffered emit"); v != "kept" {
					t.Fatalf("buffered %q", v)
				}
			})
		}
	})
}

// TestReconnectAfterRestart: the server restarts on the same address; the
// client reconnects once it is back.
func TestReconnectAfterRestart(t *testing.T) {
	forEachPeer(t, peerOptions{}, func(t *testing.T, p *peer) {
		for _, mode := range transportModes {
			t.Run(mode.name, func(t *testing.T) {
				s, err := client.NewSocket(p.url("/"), testOptions(mode.transports...))
				if err != nil {
					t.Fatal(err)
				}
				reasons := make(chan client.DisconnectReason, 4)
				connects := make(chan struct{}, 4)
				attempts := make(chan int, 100)
				s.OnConnect(func() { connects <- struct{}{} })
				s.OnDisconnect(func(r client.DisconnectReason, _ error) { reasons <- r })
				s.Manager().OnReconnectAttempt(func(n int) { attempts <- n })
				s.Connect()
				defer s.Disconnect()
				recv(t, connects, "connect")
				waitTransport(t, s, mode.final)
				p.stop()
				r := recv(t, reasons, "disconnect")
				if r != client.ReasonTransportClose && r != client.ReasonTransportError {
					t.Fatalf("reason %q", r)
				}
				// Let a few attempts fail against the closed port.
				recv(t, attempts, "attempt")
				recv(t, attempts, "attempt")
				p.start()
				recv(t, connects, "reconnect")
				if _, err := s.EmitWithAck(ctxT(t), "echo", "back"); err != nil {
					t.Fatal(err)
				}
			})
		}
	})
}

// TestServerDisconnect: "io server disconnect" and no reconnection.
func TestServerDisconnect(t *testing.T) {
	forEachPeer(t, peerOptions{}, func(t *testing.T, p *peer) {
		s, err := client.NewSocket(p.url("/"), testOptions())
		if err != nil {
			t.Fatal(err)
		}
		reasons := make(chan client.DisconnectReason, 4)
		connects := make(chan struct{}, 4)
		s.OnConnect(func() { connects <- struct{}{} })
		s.OnDisconnect(func(r client.DisconnectReason, _ error) { reasons <- r })
		s.Connect()
		defer s.Disconnect()
		recv(t, connects, "connect")
		_ = s.Emit("disconnect-me")
		if r := recv(t, reasons, "disconnect"); r != client.ReasonIOServerDisconnect {
			t.Fatalf("reason %q", r)
		}
		expectNone(t, connects, 300*time.Millisecond, "reconnection")
		if s.Active() || s.Connected() || s.Manager().Engine() != nil {
			t.Fatal("socket or connection still up")
		}
		// It can connect again by hand.
		s.Connect()
		recv(t, connects, "connect again")
	})
}

// TestClientDisconnect: the server sees the client leave; a later Connect
// reconnects.
func TestClientDisconnect(t *testing.T) {
	forEachPeer(t, peerOptions{}, func(t *testing.T, p *peer) {
		s, _ := dial(t, p.url("/"), testOptions())
		reasons := make(chan client.DisconnectReason, 1)
		s.OnDisconnect(func(r client.DisconnectReason, _ error) { reasons <- r })
		s.Disconnect()
		if r := recv(t, reasons, "disconnect"); r != client.ReasonIOClientDisconnect {
			t.Fatalf("reason %q", r)
		}
		if err := s.WaitConnect(ctxT(t)); !errors.Is(err, client.ErrNotConnecting) {
			t.Fatalf("WaitConnect after Disconnect: %v", err)
		}
	})
}

// TestBufferAndVolatile: emits before the connection are buffered, volatile
// ones dropped.
func TestBufferAndVolatile(t *testing.T) {
	forEachPeer(t, peerOptions{}, func(t *testing.T, p *peer) {
		s, err := client.NewSocket(p.url("/"), testOptions())
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 8)
		s.On("kept", func(v string) { got <- "kept:" + v })
		s.On("lost", func(v string) { got <- "lost:" + v })
		outgoing := make(chan string, 8)
		s.OnAnyOutgoing(func(ev string, _ client.Args) { outgoing <- ev })
		anyIn := make(chan string, 8)
		s.OnAny(func(ev string, _ client.Args) { anyIn <- ev })
		_ = s.Volatile().Emit("emit-back", "lost", "1")
		_ = s.Emit("emit-back", "kept", "1")
		_ = s.Emit("emit-back", "kept", "2")
		s.Connect()
		defer s.Disconnect()
		if err := s.WaitConnect(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		if v := recv(t, got, "kept 1"); v != "kept:1" {
			t.Fatalf("got %q", v)
		}
		if v := recv(t, got, "kept 2"); v != "kept:2" {
			t.Fatalf("got %q", v)
		}
		if _, err := s.EmitWithAck(ctxT(t), "echo"); err != nil {
			t.Fatal(err)
		}
		expectNone(t, got, 50*time.Millisecond, "volatile event")
		if ev := recv(t, outgoing, "outgoing"); ev != "emit-back" {
			t.Fatalf("outgoing %q", ev)
		}
		if ev := recv(t, anyIn, "incoming"); ev != "welcome" {
			t.Fatalf("incoming %q", ev)
		}
	})
}

// TestRetries: with retries, an emit whose first copy is lost is sent again
// and its acknowledgement callback runs once.
func TestRetries(t *testing.T) {
	forEachPeer(t, peerOptions{}, func(t *testing.T, p *peer) {
		o := testOptions("websocket")
		o.Retries = 3
		o.AckTimeout = 150 * time.Millisecond
		s, _ := dial(t, p.url("/"), o)
		acks := make(chan int, 8)
		for _, n := range []int{1, 2} {
			if err := s.Emit("drop-first", n, func(err error, count int) {
				if err != nil {
					t.Errorf("ack error: %v", err)
				}
				acks <- count
			}); err != nil {
				t.Fatal(err)
			}
		}
		// An emit that is never acknowledged fails after 1+Retries tries.
		ctx := ctxT(t)
		for _, n := range []int{1, 2} {
			if c := recv(t, acks, "ack"); c != 2 {
				t.Fatalf("ack of %d: count %d, want 2", n, c)
			}
		}
		expectNone(t, acks, 400*time.Millisecond, "second ack")
		for _, n := range []int{1, 2} {
			args, err := s.EmitWithAck(ctx, "seen", n)
			if err != nil {
				t.Fatal(err)
			}
			var c int
			if err := args.Decode(&c); err != nil || c != 2 {
				t.Fatalf("server saw %d %d times (%v)", n, c, err)
			}
		}
		if err := s.Emit("seen", 1, func(int) {}); err == nil {
			t.Fatal("retries accepted a callback without an error parameter")
		}
	})
}

// TestRecovery: with connection state recovery on, a short drop keeps the
// socket's id and delivers what was missed.
func TestRecovery(t *testing.T) {
	forEachPeer(t, peerOptions{recovery: true}, func(t *testing.T, p *peer) {
		o := testOptions("websocket")
		// Reconnect after the server's missed emit (50 ms after the drop).
		o.ReconnectionDelay = 300 * time.Millisecond
		s, err := client.NewSocket(p.url("/"), o)
		if err != nil {
			t.Fatal(err)
		}
		connects := make(chan bool, 4)
		missed := make(chan string, 4)
		s.OnConnect(func() { connects <- s.Recovered() })
		s.On("missed", func(v string) { missed <- v })
		s.Connect()
		defer s.Disconnect()
		if rec := recv(t, connects, "connect"); rec {
			t.Fatal("first connection recovered")
		}
		id := s.ID()
		if err := s.Emit("drop-me", s.Manager().Engine().ID(), "missed", "while away"); err != nil {
			t.Fatal(err)
		}
		if rec := recv(t, connects, "reconnect"); !rec {
			t.Fatal("reconnection not recovered")
		}
		if s.ID() != id {
			t.Fatalf("id %q after recovery, was %q", s.ID(), id)
		}
		if v := recv(t, missed, "missed event"); v != "while away" {
			t.Fatalf("missed %q", v)
		}
	})
}

// TestConnectErrors: Connect reports unreachable servers and gives up
// when ctx ends.
func TestConnectErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	o := testOptions()
	o.DisableReconnection = true
	_, err = client.Connect(ctxT(t), "http://"+addr, o)
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("unreachable without reconnection: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = client.Connect(ctx, "http://"+addr, testOptions())
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("unreachable with reconnection: %v", err)
	}
	o = testOptions()
	o.ReconnectionAttempts = 2
	_, err = client.Connect(ctxT(t), "http://"+addr, o)
	if !errors.Is(err, client.ErrReconnectFailed) {
		t.Fatalf("attempts exhausted: %v", err)
	}
	if _, err := client.NewSocket("http://[::1", nil); err == nil {
		t.Fatal("bad URL accepted")
	}
}

// TestHandlerErrors: arguments that do not fit a handler reach OnError.
func TestHandlerErrors(t *testing.T) {
	p := goPeer(t, peerOptions{})
	s, err := client.NewSocket(p.url("/"), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	s.OnError(func(err error) { errs <- err })
	s.On("typed", func(n int) {})
	s.Connect()
	defer s.Disconnect()
	if err := s.WaitConnect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	_ = s.Emit("emit-back", "typed", "not a number")
	if err := recv(t, errs, "decode error"); !strings.Contains(err.Error(), "argument 0") {
		t.Fatalf("error %v", err)
	}
}
