package client

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/socketio-go/socketio/engineio"
)

// These tests run the Manager's timers on synctest's fake clock, with a
// fake dial function: no network inside the bubble.

func TestBackoffDurations(t *testing.T) {
	cases := []struct {
		name   string
		jitter float64
		r      float64
		want   []time.Duration
	}{
		{"no jitter", 0, 0, []time.Duration{1000, 2000, 4000, 5000, 5000}},
		// r=0.3: floor(3) is odd, so the delay grows by floor(0.3*0.5*d).
		{"jitter up", 0.5, 0.3, []time.Duration{1150, 2300, 4600, 5000, 5000}},
		// r=0.25: floor(2.5) is even, so it shrinks by floor(0.125*d).
		{"jitter down", 0.5, 0.25, []time.Duration{875, 1750, 3500, 5000, 5000}},
		{"invalid jitter", 1.5, 0.3, []time.Duration{1000, 2000, 4000, 5000, 5000}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackoff(time.Second, 5*time.Second, tc.jitter)
			b.rand = func() float64 { return tc.r }
			for i, want := range tc.want {
				if got := b.duration(); got != want*time.Millisecond {
					t.Fatalf("attempt %d: %v, want %v", i, got, want*time.Millisecond)
				}
			}
			b.reset()
			if b.attempts != 0 {
				t.Fatal("reset")
			}
		})
	}
	// Many attempts never overflow past the cap.
	b := newBackoff(time.Second, 5*time.Second, 0)
	b.attempts = 5000
	if got := b.duration(); got != 5*time.Second {
		t.Fatalf("after many attempts: %v", got)
	}
}

// fakeManager returns a Manager whose dial calls dial.
func fakeManager(t *testing.T, o *Options, dial func(ctx context.Context) (*engineio.ClientConn, error)) *Manager {
	u, _ := url.Parse("http://test.invalid")
	if o == nil {
		o = &Options{}
	}
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m := newManager(u, o.withDefaults())
	m.dial = func(ctx context.Context, _ string, _ *engineio.DialOptions) (*engineio.ClientConn, error) {
		return dial(ctx)
	}
	return m
}

var errRefused = errors.New("connection refused")

// TestReconnectSchedule: attempts follow the backoff (1s, 2s, 4s, 5s, 5s
// without randomization), each is announced, and reconnect_failed comes
// after ReconnectionAttempts attempts.
func TestReconnectSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var mu sync.Mutex
		var dials, attempts []time.Duration
		var recErrs int
		failed := make(chan time.Duration, 1)
		m := fakeManager(t, &Options{ReconnectionAttempts: 5, RandomizationFactor: -1}, func(ctx context.Context) (*engineio.ClientConn, error) {
			mu.Lock()
			dials = append(dials, time.Since(start))
			mu.Unlock()
			return nil, errRefused
		})
		m.OnReconnectAttempt(func(n int) {
			mu.Lock()
			defer mu.Unlock()
			attempts = append(attempts, time.Since(start))
			if n != len(attempts) {
				t.Errorf("attempt number %d, want %d", n, len(attempts))
			}
		})
		m.OnReconnectError(func(err error) {
			mu.Lock()
			recErrs++
			mu.Unlock()
		})
		m.OnReconnectFailed(func() { failed <- time.Since(start) })
		s := m.Socket("/", nil)
		connErrs := make(chan error, 10)
		s.OnConnectError(func(err error) { connErrs <- err })
		s.Connect()
		waited := make(chan error, 1)
		go func() { waited <- s.WaitConnect(context.Background()) }()

		got := <-failed
		if got != 17*time.Second {
			t.Fatalf("reconnect_failed at %v, want 17s", got)
		}
		if err := <-waited; !errors.Is(err, ErrReconnectFailed) || !errors.Is(err, errRefused) {
			t.Fatalf("WaitConnect: %v", err)
		}
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		want := []time.Duration{0, 1 * time.Second, 3 * time.Second, 7 * time.Second, 12 * time.Second, 17 * time.Second}
		if len(dials) != len(want) {
			t.Fatalf("dials at %v, want %v", dials, want)
		}
		for i := range want {
			if dials[i] != want[i] {
				t.Fatalf("dials at %v, want %v", dials, want)
			}
		}
		if len(attempts) != 5 || attempts[0] != time.Second || attempts[4] != 17*time.Second {
			t.Fatalf("attempts at %v", attempts)
		}
		if recErrs != 5 {
			t.Fatalf("%d reconnect errors, want 5", recErrs)
		}
		if len(connErrs) != 6 {
			t.Fatalf("%d connect_error events, want 6", len(connErrs))
		}
		// Nothing is scheduled any more.
		time.Sleep(time.Minute)
		synctest.Wait()
		if len(dials) != 6 {
			t.Fatalf("dialed again after reconnect_failed: %v", dials)
		}
		s.Disconnect()
	})
}

// TestReconnectJitterBounds: with the default randomization (0.5), every
// delay stays within ±50% of its base and under the cap.
func TestReconnectJitterBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var dials []time.Time
		m := fakeManager(t, &Options{ReconnectionAttempts: 8}, func(ctx context.Context) (*engineio.ClientConn, error) {
			mu.Lock()
			dials = append(dials, time.Now())
			mu.Unlock()
			return nil, errRefused
		})
		failed := make(chan struct{})
		m.OnReconnectFailed(func() { close(failed) })
		s := m.Socket("/", nil)
		s.Connect()
		<-failed
		mu.Lock()
		defer mu.Unlock()
		base := time.Second
		for i := 1; i < len(dials); i++ {
			d := dials[i].Sub(dials[i-1])
			lo, hi := base/2, base*3/2
			if hi > 5*time.Second {
				hi = 5 * time.Second
			}
			if lo > 5*time.Second {
				lo = 5 * time.Second
			}
			if d < lo || d > hi {
				t.Fatalf("delay %d: %v, want within [%v, %v]", i, d, lo, hi)
			}
			base *= 2
		}
		s.Disconnect()
	})
}

// TestConnectTimeout: an attempt that does not open within Timeout fails
// with ErrConnectTimeout, and the next attempt follows the backoff.
func TestConnectTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		dialed := make(chan time.Duration, 4)
		m := fakeManager(t, &Options{RandomizationFactor: -1, ReconnectionAttempts: 1}, func(ctx context.Context) (*engineio.ClientConn, error) {
			dialed <- time.Since(start)
			<-ctx.Done()
			return nil, context.Cause(ctx)
		})
		s := m.Socket("/", nil)
		errs := make(chan error, 4)
		s.OnConnectError(func(err error) { errs <- err })
		s.Connect()
		if err := <-errs; !errors.Is(err, ErrConnectTimeout) {
			t.Fatalf("connect_error %v", err)
		}
		if d := time.Since(start); d != 20*time.Second {
			t.Fatalf("timed out after %v, want 20s", d)
		}
		<-dialed
		if d := <-dialed; d != 21*time.Second {
			t.Fatalf("second attempt at %v, want 21s", d)
		}
		s.Disconnect() // cancels the attempt under way
		synctest.Wait()
	})
}

// TestDisconnectStopsReconnecting: Disconnect during the backoff cancels
// the scheduled attempt.
func TestDisconnectStopsReconnecting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		n := 0
		m := fakeManager(t, nil, func(ctx context.Context) (*engineio.ClientConn, error) {
			mu.Lock()
			n++
			mu.Unlock()
			return nil, errRefused
		})
		s := m.Socket("/", nil)
		s.Connect()
		synctest.Wait()
		s.Disconnect()
		time.Sleep(time.Minute)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if n != 1 {
			t.Fatalf("%d dials after Disconnect, want 1", n)
		}
		if err := s.WaitConnect(context.Background()); !errors.Is(err, errRefused) {
			t.Fatalf("WaitConnect: %v", err)
		}
	})
}
