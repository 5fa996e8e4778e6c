package engineio

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/websocket"
)

// A broadcast to many WebSocket connections starts no goroutine per
// connection: the flush queue's workers write them (the count is read
// right after the sends, before the workers can have finished).
func TestBroadcastFlushWorkers(t *testing.T) {
	e := newEnvWith(t, &Options{PingInterval: 10 * time.Second}, envConfig{})
	const n = 200
	var sessions []*session
	var clients []*websocket.Conn
	for range n {
		ws, s, _ := e.dialSession()
		sessions, clients = append(sessions, s), append(clients, ws)
	}
	before := runtime.NumGoroutine()
	peak := before
	for i := range 3 {
		msg := NewTextMessage(fmt.Appendf(nil, "b%d", i))
		for _, s := range sessions {
			if err := s.c.Send(false, msg); err != nil {
				t.Fatal(err)
			}
		}
		peak = max(peak, runtime.NumGoroutine())
	}
	if limit := before + maxFlushWorkers() + 2; peak > limit {
		t.Errorf("%d goroutines after broadcasts to %d connections, %d before", peak, n, before)
	}
	for _, c := range clients {
		for i := range 3 {
			if _, p := wsRead(t, c); p != fmt.Sprintf("4b%d", i) {
				t.Fatalf("got %q, want 4b%d", p, i)
			}
		}
	}
	waitFor(t, "the workers end", func() bool {
		e.srv.flushq.mu.Lock()
		defer e.srv.flushq.mu.Unlock()
		return e.srv.flushq.workers == 0
	})
}

// A reply (SendNow) to a connection that waits in the flush queue writes
// what waits first, then itself, without waiting for a worker; the worker
// then finds nothing to do.
func TestSendNowTakesQueuedBroadcasts(t *testing.T) {
	e := newEnvWith(t, &Options{PingInterval: 10 * time.Second}, envConfig{})
	ws, s, _ := e.dialSession()
	q := &e.srv.flushq
	q.mu.Lock()
	q.workers = maxFlushWorkers() // as if every worker were busy
	q.mu.Unlock()

	if err := s.c.Send(false, NewTextMessage([]byte("broadcast"))); err != nil {
		t.Fatal(err)
	}
	s.c.mu.Lock()
	pending := s.c.pending
	s.c.mu.Unlock()
	if !pending {
		t.Fatal("the connection is not in the flush queue")
	}
	if err := s.c.SendNow(NewTextMessage([]byte("reply"))); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"4broadcast", "4reply"} {
		if _, p := wsRead(t, ws); p != want {
			t.Fatalf("got %q, want %q", p, want)
		}
	}

	q.work() // pops the connection, which has nothing left, and ends
	q.mu.Lock()
	q.workers = 0 // no more phantoms
	q.mu.Unlock()
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if s.c.pending || s.c.flushing || len(s.c.queue) != 0 {
		t.Errorf("after the worker: pending %v, flushing %v, %d queued", s.c.pending, s.c.flushing, len(s.c.queue))
	}
}

// joinSmall keeps the bytes and their order, joins each run of small
// frames into one piece and leaves large frames where they are.
func TestJoinSmall(t *testing.T) {
	frame := func(n int, c byte) []byte { return bytes.Repeat([]byte{c}, n) }
	for _, sizes := range [][]int{
		{10}, {10, 20}, {joinMax}, {joinMax, joinMax + 1}, {10, joinMax, 20},
		{10, 20, joinMax, 30, 40, 50, joinMax + 5, 60}, {joinMax, 1, 2, 3},
	} {
		var in [][]byte
		var want []byte
		for i, n := range sizes {
			f := frame(n, byte('a'+i))
			in = append(in, f)
			want = append(want, f...)
		}
		large := 0
		for _, n := range sizes {
			if n >= joinMax {
				large++
			}
		}
		out, jp := joinSmall(slices.Clone(in))
		if got := bytes.Join(out, nil); !bytes.Equal(got, want) {
			t.Errorf("%v: the bytes changed", sizes)
		}
		for i := 1; i < len(out); i++ {
			if len(out[i-1]) < joinMax && len(out[i]) < joinMax {
				t.Errorf("%v: two small pieces in a row: %d, %d", sizes, len(out[i-1]), len(out[i]))
			}
		}
		kept := 0
		for _, b := range out {
			for _, f := range in {
				if len(b) >= joinMax && &b[0] == &f[0] {
					kept++
				}
			}
		}
		if kept != large {
			t.Errorf("%v: %d of %d large frames written from where they are", sizes, kept, large)
		}
		if jp != nil {
			joinPool.Put(jp)
		}
	}

	// A backlog over joinKeep is not copied.
	var backlog [][]byte
	for range joinKeep/1000 + 1 {
		backlog = append(backlog, frame(1000, 'x'))
	}
	if out, jp := joinSmall(slices.Clone(backlog)); jp != nil || len(out) != len(backlog) {
		t.Errorf("a backlog of %d frames became %d pieces", len(backlog), len(out))
	}
}
