package interop

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/socketio-go/socketio"
)

type sumRequest struct {
	A     int     `json:"a"`
	B     float64 `json:"b"`
	Label string  `json:"label"`
}

type sumReply struct {
	Sum   float64  `json:"sum"`
	Label string   `json:"label"`
	Tags  []string `json:"tags"`
}

// TestAcks: acknowledgements both ways, typed on the Go side, and their
// timeouts on both sides.
func TestAcks(t *testing.T) {
	e := newEnv(t, nil, func(e *env, srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) {
			e.track(s)
			if room, _ := s.Handshake().Auth["room"].(string); room != "" {
				s.Join(room)
			}
			s.On("add", func(a, b int, ack func(int)) { ack(a + b) })
			s.On("sum", func(r sumRequest, ack func(sumReply)) {
				ack(sumReply{Sum: float64(r.A) + r.B, Label: r.Label, Tags: []string{"x", "y"}})
			})
			s.On("multi", func(ack func(string, int, bool, map[string]any, []int)) {
				ack("s", 1, true, map[string]any{"k": "v"}, nil)
			})
			s.On("no-args", func(ack func()) { ack() })
			s.On("twice", func(ack func(int)) { ack(1); ack(2) }) // only the first counts
			s.On("never", func(n int, ack func(int)) {})          // never answers
			s.On("no-ack-param", func(n int) {})                  // cannot answer

			// The server asks the client; the client answers "double"
			// and never answers "ignore".
			s.On("server-asks", func(ack func(map[string]any)) {
				go func() {
					res := map[string]any{}
					var mu sync.Mutex
					set := func(k string, v any) { mu.Lock(); res[k] = v; mu.Unlock() }
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()

					// EmitWithAck, decoded with Args.Decode.
					if args, err := s.EmitWithAck(ctx, "double", 21); err != nil {
						set("emitWithAck", err.Error())
					} else {
						var n int
						if err := args.Decode(&n); err != nil {
							set("emitWithAck", err.Error())
						} else {
							set("emitWithAck", n)
						}
					}
					// Timeout + Emit with a typed callback.
					var wg sync.WaitGroup
					wg.Add(4)
					err := s.Timeout(3*time.Second).Emit("double", 5, func(err error, n int) {
						defer wg.Done()
						if err != nil {
							set("timeoutEmit", err.Error())
						} else {
							set("timeoutEmit", n)
						}
					})
					if err != nil {
						set("timeoutEmit", "emit: "+err.Error())
						wg.Done()
					}
					// The client never answers: ErrTimeout, with Emit and
					// with EmitWithAck.
					start := time.Now()
					err = s.Timeout(300*time.Millisecond).Emit("ignore", 1, func(err error, n int) {
						defer wg.Done()
						set("ignoreEmit", map[string]any{"timeout": errors.Is(err, socketio.ErrTimeout), "err": errString(err), "ms": time.Since(start).Milliseconds()})
					})
					if err != nil {
						set("ignoreEmit", "emit: "+err.Error())
						wg.Done()
					}
					go func() {
						defer wg.Done()
						_, err := s.Timeout(300*time.Millisecond).EmitWithAck(ctx, "ignore", 2)
						set("ignoreEmitWithAck", map[string]any{"timeout": errors.Is(err, socketio.ErrTimeout), "err": errString(err)})
					}()
					// An event the client has no handler for: same.
					go func() {
						defer wg.Done()
						_, err := s.Timeout(300*time.Millisecond).EmitWithAck(ctx, "no-handler", 3)
						set("noHandler", map[string]any{"timeout": errors.Is(err, socketio.ErrTimeout), "err": errString(err)})
					}()
					wg.Wait()
					// A broadcast with acknowledgements to the clients in a
					// room.
					resps, err := srv.To("bc").Timeout(3*time.Second).EmitWithAck(ctx, "double", 50)
					sum := 0
					for _, r := range resps {
						var n int
						_ = r.Decode(&n)
						sum += n
					}
					set("broadcast", map[string]any{"err": errString(err), "count": len(resps), "sum": sum})
					mu.Lock()
					defer mu.Unlock()
					ack(res)
				}()
			})
		})
	})
	e.run("acks.test.mjs")
}

func errString(err error) any {
	if err == nil {
		return nil
	}
	return err.Error()
}
