package socketio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sioclient "github.com/socketio-go/socketio/client"
)

// heapInUse returns the live heap after a full collection.
func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestJoinManyRoomsKeepsServerResponsive: a client whose handler joins
// 100,000 rooms at once must not keep others from connecting (the room index
// of the namespace is shared by every socket).
func TestJoinManyRoomsKeepsServerResponsive(t *testing.T) {
	opts := testOptions()
	// The joining handler holds its socket's reader (and so its pongs) for
	// as long as it runs: seconds under -race on a loaded machine.
	opts.Engine.PingInterval, opts.Engine.PingTimeout = 20*time.Second, 20*time.Second
	srv := NewServer(opts)
	started := make(chan struct{}, 1)
	joined := make(chan int, 1)
	srv.OnConnection(func(s *Socket) {
		s.On("join", func(rooms []string) {
			started <- struct{}{}
			s.Join(rooms...)
			joined <- len(s.Rooms())
		})
	})
	base := newTestServer(t, srv)
	a := dialRaw(t, base)
	a.connect("/", "")
	rooms := make([]string, 100_000)
	for i := range rooms {
		rooms[i] = fmt.Sprintf("r%d", i)
	}
	payload, _ := json.Marshal([]any{"join", rooms})
	a.send("42" + string(payload))
	waitFor(t, started)

	begin := time.Now()
	b := dialRaw(t, base)
	b.connect("/", "")
	d := time.Since(begin)
	t.Logf("connected in %v while the other socket joined", d)
	if d > 200*time.Millisecond {
		t.Fatalf("connecting took %v while another socket joined 100,000 rooms", d)
	}
	// The join itself may take many seconds under -race on a loaded
	// machine; only its result is checked here.
	select {
	case n := <-joined:
		if n != 1+len(rooms) {
			t.Fatalf("socket in %d rooms, want %d", n, 1+len(rooms))
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the join of 100,000 rooms did not finish in 2 minutes")
	}
}

// binaryHeader is a BINARY_EVENT header announcing n attachments.
func binaryHeader(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `45%d-["bin"`, n)
	for i := range n {
		fmt.Fprintf(&b, `,{"_placeholder":true,"num":%d}`, i)
	}
	b.WriteString("]")
	return b.String()
}

// TestIncompleteBinaryPacket: a binary packet whose attachments never all
// arrive may hold neither more than MaxHTTPBufferSize nor any memory past
// AttachmentTimeout: the connection closes with reason "parse error".
func TestIncompleteBinaryPacket(t *testing.T) {
	opts := testOptions()
	// Long enough for 900 KB to arrive on a loaded machine under -race
	// (a shorter one closed the complete packet's connection mid-send).
	opts.AttachmentTimeout = 3 * time.Second
	srv := NewServer(opts)
	// Disconnect reasons by socket id.
	var mu sync.Mutex
	reasons := map[string]DisconnectReason{}
	reasonOf := func(t *testing.T, id string) DisconnectReason {
		t.Helper()
		for deadline := time.Now().Add(testWait); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			mu.Lock()
			r, ok := reasons[id]
			mu.Unlock()
			if ok {
				return r
			}
		}
		t.Fatalf("socket %s still connected", id)
		return ""
	}
	var handled sync.WaitGroup
	srv.OnConnection(func(s *Socket) {
		s.OnDisconnect(func(r DisconnectReason, _ error) {
			mu.Lock()
			reasons[s.ID()] = r
			mu.Unlock()
		})
		s.On("bin", func(parts ...[]byte) { handled.Done() })
	})
	base := newTestServer(t, srv)

	t.Run("complete", func(t *testing.T) {
		c := dialRaw(t, base)
		c.connect("/", "")
		handled.Add(1)
		c.send(binaryHeader(3))
		for range 3 {
			c.sendBinary(make([]byte, 300_000))
		}
		// 900 KB in all: under the bound. Bounded, so that a connection
		// closed mid-send fails the test instead of hanging it.
		done := make(chan struct{})
		go func() { handled.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(testWait):
			t.Fatal("the complete binary packet was not handled")
		}
	})

	t.Run("over the byte bound", func(t *testing.T) {
		c := dialRaw(t, base)
		id := c.connect("/", "")
		c.send(binaryHeader(10))
		for range 5 {
			c.sendBinary(make([]byte, 200_000)) // the 5th goes over 1e6
		}
		c.expectClosed()
		if r := reasonOf(t, id); r != ReasonParseError {
			t.Fatalf("reason %q", r)
		}
	})

	t.Run("never completed", func(t *testing.T) {
		const clients = 20
		before := heapInUse()
		var ids []string
		for range clients {
			c := dialRaw(t, base)
			ids = append(ids, c.connect("/", ""))
			c.send(binaryHeader(10))
			for range 9 {
				c.sendBinary(make([]byte, 100_000)) // 900 KB held, under the byte bound
			}
		}
		for _, id := range ids {
			if r := reasonOf(t, id); r != ReasonParseError {
				t.Fatalf("reason %q", r)
			}
		}
		growth := heapInUse() - before
		t.Logf("heap growth after %d incomplete packets of 900 KB timed out: %d KB", clients, growth>>10)
		if growth > 4<<20 {
			t.Fatalf("heap grew by %d KB", growth>>10)
		}
	})
}

// TestNamespaceLimit: one connection cannot open namespaces without bound
// under a dynamic parent (each costs the server memory, and used to cost
// every later packet a scan).
func TestNamespaceLimit(t *testing.T) {
	srv := NewServer(testOptions())
	srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
	srv.Of("/dyn-static") // existing namespaces count too
	base := newTestServer(t, srv)
	c := dialRaw(t, base)
	before := heapInUse()
	const tries = 5000
	go func() {
		for i := range tries {
			_ = c.ws.WriteMessage(1, fmt.Appendf(nil, "40/dyn-%d,", i))
		}
	}()
	ok, refused := 0, 0
	for range tries {
		m := c.next()
		switch {
		case strings.HasPrefix(m.text, "40/dyn-"):
			ok++
		case strings.HasPrefix(m.text, "44/dyn-") && strings.HasSuffix(m.text, `,{"message":"Too many namespaces on this connection"}`):
			refused++
		default:
			t.Fatalf("unexpected %q", m.text)
		}
	}
	if ok != 100 || refused != tries-100 {
		t.Fatalf("%d connected, %d refused", ok, refused)
	}
	srv.mu.RLock()
	nsps := len(srv.nsps)
	srv.mu.RUnlock()
	if nsps != 102 { // "/", "/dyn-static" and 100 children
		t.Fatalf("%d namespaces on the server", nsps)
	}
	growth := heapInUse() - before
	t.Logf("heap growth after %d CONNECTs to new namespaces: %d KB", tries, growth>>10)
	if growth > 4<<20 {
		t.Fatalf("heap grew by %d KB", growth>>10)
	}
	// Events reach the last namespace joined, and leaving one frees a
	// place.
	c.send(`42/dyn-99,["ping"]`)
	c.send(`41/dyn-0,`)
	c.send(`40/dyn-static,`)
	c.expectPrefix(`40/dyn-static,{"sid":`)
	c.send(`40/dyn-100000,`)
	c.expectPrefix(`44/dyn-100000,{"message":"Too many namespaces`)
}

// TestRefusedNamespacesAreBounded: a dynamic child is created before its
// middlewares run, so refused CONNECTs must be bounded too.
func TestRefusedNamespacesAreBounded(t *testing.T) {
	srv := NewServer(testOptions())
	srv.OfRegexp(regexp.MustCompile(`^/locked-\d+$`)).Use(func(*Socket) error { return errors.New("no") })
	base := newTestServer(t, srv)
	c := dialRaw(t, base)
	const tries = 1000
	go func() {
		for i := range tries {
			if i%10 == 0 {
				_ = c.ws.WriteMessage(1, fmt.Appendf(nil, "40/unknown-%d,", i))
				continue
			}
			_ = c.ws.WriteMessage(1, fmt.Appendf(nil, "40/locked-%d,", i))
		}
	}()
	refused, bounded := 0, 0
	for range tries {
		m := c.next()
		switch {
		case strings.HasSuffix(m.text, `,{"message":"no"}`) || strings.HasSuffix(m.text, `,{"message":"Invalid namespace"}`):
			refused++
		case strings.HasSuffix(m.text, `,{"message":"Too many namespaces on this connection"}`):
			bounded++
		default:
			t.Fatalf("unexpected %q", m.text)
		}
	}
	if refused != 100 || bounded != tries-100 {
		t.Fatalf("%d refused by the namespace, %d by the bound", refused, bounded)
	}
	srv.mu.RLock()
	nsps := len(srv.nsps)
	srv.mu.RUnlock()
	if nsps > 101 {
		t.Fatalf("%d namespaces created", nsps)
	}
}

// TestAckEncoding: an acknowledgement is sent back as the client wrote it
// (an escaped lone surrogate is valid for JavaScript), and one that cannot
// be encoded is an error the application sees, not a silent drop.
func TestAckEncoding(t *testing.T) {
	opts := testOptions()
	logs := captureLogs(opts)
	srv := NewServer(opts)
	errs := make(chan error, 4)
	srv.OnConnection(func(s *Socket) {
		s.OnError(func(err error) { errs <- err })
		s.On("echo", func(raw json.RawMessage, ack func(...any)) { ack(raw) })
		s.On("bad", func(ack func(...any)) { ack(make(chan int)) })
	})
	base := newTestServer(t, srv)
	c := dialRaw(t, base)
	c.connect("/", "")
	c.send(`421["echo","\ud800",1]`)
	c.expect(`431["\ud800"]`)
	c.send(`422["echo",{"a":1,"a":2}]`)
	c.expect(`432[{"a":1,"a":2}]`)
	c.send(`423["bad"]`)
	err := waitFor(t, errs)
	if !strings.Contains(err.Error(), "acknowledgement 3 not sent") {
		t.Fatalf("error %v", err)
	}
	if text := logs(); !strings.Contains(text, "level=ERROR") || !strings.Contains(text, "cannot encode an acknowledgement") {
		t.Fatalf("no error logged: %s", text)
	}
}

// captureLogs sends the server's logs to a buffer and returns a function
// that reads it.
func captureLogs(opts *Options) func() string {
	w := &lockedWriter{}
	opts.Logger = slog.New(slog.NewTextHandler(w, nil))
	return func() string {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.buf.String()
	}
}

type lockedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// TestServerTimeouts: an http.Server hardened with ReadTimeout and
// WriteTimeout shorter than the heartbeat must not end WebSocket connections
// (which outlive any request) nor long-polling sessions (whose GET waits for
// data longer than that).
func TestServerTimeouts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		polling bool
		poller  bool
	}{{"websocket", false, true}, {"websocket without poller", false, false}, {"polling", true, false}} {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions()
			opts.Engine.DisablePoller = !tc.poller // the goroutine reader uses deadlines
			srv := NewServer(opts)
			srv.OnConnection(func(s *Socket) {
				s.On("echo", func(v string, ack func(string)) { ack(v) })
			})
			ts := httptest.NewUnstartedServer(srv)
			ts.Config.ReadTimeout = 200 * time.Millisecond
			ts.Config.WriteTimeout = 200 * time.Millisecond
			ts.Start()
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), testWait)
				defer cancel()
				_ = srv.Shutdown(ctx)
				ts.Close()
			})
			if !tc.polling {
				c := dialRaw(t, "ws"+strings.TrimPrefix(ts.URL, "http"))
				c.connect("/", "")
				time.Sleep(500 * time.Millisecond)
				c.send(`421["echo","still here"]`)
				c.expect(`431["still here"]`)
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), testWait)
			defer cancel()
			disconnects := make(chan sioclient.DisconnectReason, 4)
			s, err := sioclient.NewSocket(ts.URL, &sioclient.Options{Transports: []string{"polling"}, ForceNew: true})
			if err != nil {
				t.Fatal(err)
			}
			s.OnDisconnect(func(r sioclient.DisconnectReason, _ error) { disconnects <- r })
			s.Connect()
			defer s.Disconnect()
			if err := s.WaitConnect(ctx); err != nil {
				t.Fatal(err)
			}
			time.Sleep(700 * time.Millisecond) // GETs wait past both timeouts
			res, err := s.EmitWithAck(ctx, "echo", "still here")
			if err != nil {
				t.Fatal(err)
			}
			var got string
			if err := res.Decode(&got); err != nil || got != "still here" {
				t.Fatalf("ack %q %v", got, err)
			}
			select {
			case r := <-disconnects:
				t.Fatalf("disconnected: %s", r)
			default:
			}
		})
	}
}

// TestEmitRightBeforeDisconnect: an event the Go client emits right before
// Disconnect reaches the server, even while the server is still writing
// to it: the client lets the server close first, so that no reset makes
// the server's kernel drop the event (it did for about 2 in 100).
func TestEmitRightBeforeDisconnect(t *testing.T) {
	srv := NewServer(testOptions())
	var got atomic.Int64
	srv.OnConnection(func(s *Socket) {
		s.On("x", func() { got.Add(1) })
		for i := range 3 {
			_ = s.Emit("tick", i, []byte("bin"))
		}
	})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testWait)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
	})
	const n = 200
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), testWait)
		s, err := sioclient.Connect(ctx, ts.URL, &sioclient.Options{Transports: []string{"websocket"}, ForceNew: true})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Emit("x"); err != nil {
			t.Fatal(err)
		}
		s.Disconnect()
	}
	deadline := time.Now().Add(testWait)
	for got.Load() < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got.Load() != n {
		t.Fatalf("the server got %d of %d events", got.Load(), n)
	}
}
