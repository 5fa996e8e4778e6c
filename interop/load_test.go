package interop

import (
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketio-go/socketio"
)

// TestLoad: 50 concurrent clients, 100 acknowledgements each in both
// directions, none lost: counted on both sides.
func TestLoad(t *testing.T) {
	var received atomic.Int64 // client→server events handled
	var mu sync.Mutex
	perSocket := map[string]int{} // guarded by mu
	e := newEnv(t, nil, func(e *env, srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("inc", func(n int, ack func(int)) {
				received.Add(1)
				mu.Lock()
				perSocket[s.ID()]++
				mu.Unlock()
				ack(n + 1)
			})
			// The server asks the client count times, all at once, and
			// reports how many answers came back right.
			s.On("ask", func(count int, ack func(map[string]any)) {
				go func() {
					var ok atomic.Int64
					var wg sync.WaitGroup
					var firstErr atomic.Value
					wg.Add(count)
					for i := 0; i < count; i++ {
						err := s.Timeout(20*time.Second).Emit("srv-inc", i, func(err error, n int) {
							defer wg.Done()
							switch {
							case err != nil:
								firstErr.CompareAndSwap(nil, err.Error())
							case n == i+1:
								ok.Add(1)
							default:
								firstErr.CompareAndSwap(nil, "wrong answer")
							}
						})
						if err != nil {
							firstErr.CompareAndSwap(nil, err.Error())
							wg.Done()
						}
					}
					wg.Wait()
					msg, _ := firstErr.Load().(string)
					ack(map[string]any{"ok": ok.Load(), "err": msg})
				}()
			})
		})
	})
	e.action("counts", func(url.Values) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		return map[string]any{"received": received.Load(), "perSocket": perSocket}, nil
	})
	e.run("load.test.mjs")
	mu.Lock()
	defer mu.Unlock()
	if got := received.Load(); got != 50*100 {
		t.Errorf("server handled %d events, want %d", got, 50*100)
	}
	if len(perSocket) != 50 {
		t.Errorf("%d sockets sent events, want 50", len(perSocket))
	}
	for id, n := range perSocket {
		if n != 100 {
			t.Errorf("socket %s: %d events, want 100", id, n)
		}
	}
}
