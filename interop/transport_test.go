package interop

import (
	"sync"
	"testing"
	"time"

	"github.com/socketio-go/socketio"
)

// The numbered streams sent in both directions while a client upgrades
// from long-polling to WebSocket have at least streamMin numbers, and go on
// for at least streamAfter numbers after the upgrade (up to streamMax), so
// that they span the upgrade however slow the machine is.
const (
	streamMin   = 500
	streamAfter = 100
	streamMax   = 5000
)

// TestTransports: websocket only, polling only, and the default
// polling→websocket upgrade with numbered streams in both directions that
// must arrive whole and in order.
func TestTransports(t *testing.T) {
	e := newEnv(t, nil, func(e *env, srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) {
			e.track(s)
			s.On("echo", func(args socketio.Args, ack func(...any)) {
				vals, err := args.Values()
				if err != nil {
					ack(err.Error())
					return
				}
				ack(vals...)
			})
			s.On("transport", func(ack func(string)) { ack(s.Transport()) })

			// The client's stream: numbers must come in order, once.
			var mu sync.Mutex
			next, bad, whilePolling := 0, []int(nil), 0
			s.On("c", func(n int) {
				mu.Lock()
				defer mu.Unlock()
				if n != next {
					bad = append(bad, n)
				}
				next = n + 1
				if s.Transport() == "polling" {
					whilePolling++
				}
			})
			s.On("c-done", func(ack func(map[string]any)) {
				mu.Lock()
				defer mu.Unlock()
				ack(map[string]any{"next": next, "bad": bad, "whilePolling": whilePolling, "transport": s.Transport()})
			})

			// The server's stream, paced so that it spans the upgrade.
			if stream, _ := s.Handshake().Auth["stream"].(bool); stream {
				go func() {
					whilePolling, i := 0, 0
					for ; i < streamMax && (i < streamMin || i < whilePolling+streamAfter); i++ {
						if s.Transport() == "polling" {
							whilePolling++
						}
						if err := s.Emit("n", i); err != nil {
							e.rec.add("stream-error", err.Error())
							return
						}
						if i%10 == 9 {
							time.Sleep(2 * time.Millisecond)
						}
					}
					_ = s.Emit("n-end", i, whilePolling)
				}()
			}
		})
	})
	e.run("transports.test.mjs")
}
