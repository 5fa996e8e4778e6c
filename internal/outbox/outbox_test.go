package outbox

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/socketio-go/socketio/adapter"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// broker is a fake broker that can be taken down.
type broker struct {
	up   atomic.Bool
	mu   sync.Mutex
	got  []int
	sent chan struct{}
}

func newBroker() *broker {
	b := &broker{sent: make(chan struct{}, 1)}
	b.up.Store(true)
	return b
}

func (b *broker) send(_ context.Context, batch []int) (int, error) {
	if !b.up.Load() {
		return 0, errors.New("connection refused")
	}
	b.mu.Lock()
	b.got = append(b.got, batch...)
	b.mu.Unlock()
	select {
	case b.sent <- struct{}{}:
	default:
	}
	return len(batch), nil
}

func (b *broker) received() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.got)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after 5s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOrderAcrossAnOutage(t *testing.T) {
	b := newBroker()
	var dropped []int
	var mu sync.Mutex
	q := New(Config[int]{Logger: quiet, Send: b.send, Drop: func(v int, err error) {
		mu.Lock()
		dropped = append(dropped, v)
		mu.Unlock()
	}})
	defer q.Close(time.Second)
	for i := range 100 {
		if err := q.Push(i, 10, false); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "first 100", func() bool { return len(b.received()) == 100 })
	b.up.Store(false)
	_ = q.Push(100, 10, false)
	waitFor(t, "down", q.Down)
	if err := q.Push(-1, 10, true); !errors.Is(err, ErrDown) {
		t.Errorf("fail-fast push while down: %v", err)
	}
	for i := 101; i < 200; i++ {
		if err := q.Push(i, 10, false); err != nil {
			t.Fatal(err)
		}
	}
	if st := q.Stats(); st.Queued != 100 || !st.Down {
		t.Errorf("stats while down: %+v", st)
	}
	b.up.Store(true)
	waitFor(t, "all 200", func() bool { return len(b.received()) == 200 })
	for i, v := range b.received() {
		if v != i {
			t.Fatalf("message %d is %d: order lost", i, v)
		}
	}
	st := q.Stats()
	if st.Published != 200 || st.Queued != 0 || st.Down || st.Expired+st.Overflowed != 0 {
		t.Errorf("stats: %+v", st)
	}
	if len(dropped) != 0 {
		t.Errorf("dropped %v", dropped)
	}
}

func TestBounds(t *testing.T) {
	b := newBroker()
	b.up.Store(false)
	var expired atomic.Int64
	q := New(Config[int]{Logger: quiet, Send: b.send, Limits: adapter.OutboxOptions{MaxBytes: 100, MaxAge: 200 * time.Millisecond},
		Drop: func(_ int, err error) {
			if errors.Is(err, ErrExpired) {
				expired.Add(1)
			}
		}})
	for i := range 10 {
		if err := q.Push(i, 10, false); err != nil {
			t.Fatal(err)
		}
	}
	err := q.Push(10, 10, false)
	if !errors.Is(err, adapter.ErrOutboxFull) {
		t.Fatalf("push over MaxBytes: %v", err)
	}
	t.Logf("overflow: %v", err)
	waitFor(t, "expiry", func() bool { return q.Stats().Expired == 10 })
	if err := q.Push(11, 10, false); err != nil {
		t.Fatalf("push after expiry: %v", err)
	}
	q.Close(50 * time.Millisecond)
	st := q.Stats()
	if st.Overflowed != 1 || st.Expired != 10 || st.Abandoned != 1 || st.Published != 0 || st.Queued != 0 {
		t.Errorf("stats: %+v", st)
	}
	if expired.Load() != 10 {
		t.Errorf("Drop got %d expired", expired.Load())
	}
	if err := q.Push(12, 1, false); !errors.Is(err, ErrClosed) {
		t.Errorf("push after Close: %v", err)
	}
}

func TestFailFastDroppedWhenDown(t *testing.T) {
	b := newBroker()
	b.up.Store(false)
	var reasons []error
	var mu sync.Mutex
	q := New(Config[int]{Logger: quiet, Send: b.send, Drop: func(_ int, err error) {
		mu.Lock()
		reasons = append(reasons, err)
		mu.Unlock()
	}})
	if err := q.Push(1, 1, true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "request dropped", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(reasons) == 1
	})
	if !errors.Is(reasons[0], ErrDown) {
		t.Errorf("reason %v", reasons[0])
	}
	q.Close(0)
}

func TestReadyGate(t *testing.T) {
	b := newBroker()
	var ready atomic.Bool
	q := New(Config[int]{Logger: quiet, Send: b.send, Ready: func(context.Context) bool { return ready.Load() }})
	defer q.Close(time.Second)
	b.up.Store(false)
	_ = q.Push(1, 1, false)
	waitFor(t, "down", q.Down)
	b.up.Store(true)
	time.Sleep(100 * time.Millisecond)
	if len(b.received()) != 0 {
		t.Fatal("published before Ready")
	}
	ready.Store(true)
	waitFor(t, "published", func() bool { return len(b.received()) == 1 })
}
