package interop

import (
	"context"
	"time"

	"testing"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/engineio"
)

// TestV2Client: npm socket.io-client 2.5.0 (Socket.IO 2.x, Engine.IO v3,
// pinned in package-lock.json as "socket.io-client-v2") against the Go
// server with Engine.AllowEIO3, over long-polling (XHR2 binary payloads and
// base64), WebSocket and the upgrade: the implicit main namespace, socket
// ids, namespaces with query auth and refusals, acknowledgements both
// ways, binary both ways, and rooms shared with 4.x clients.
func TestV2Client(t *testing.T) {
	opts := &socketio.Options{Engine: engineio.Options{AllowEIO3: true}}
	e := newEnv(t, opts, func(e *env, srv *socketio.Server) {
		setup := func(s *socketio.Socket) {
			e.track(s)
			s.On("whoami", func(ack func(map[string]any)) {
				ack(map[string]any{
					"id":       s.ID(),
					"nsp":      s.Namespace().Name(),
					"auth":     s.Handshake().Auth,
					"engine":   s.Conn().ID(),
					"protocol": s.Conn().Protocol(),
				})
			})
			s.On("echo", func(args socketio.Args, ack func(...any)) {
				vals, err := args.Values()
				if err != nil {
					vals = []any{err.Error()}
				}
				if ack != nil {
					ack(vals...)
					return
				}
				_ = s.Emit("echo", vals...)
			})
			s.On("join", func(room string, ack func(string)) {
				s.Join(room)
				ack(s.ID())
			})
			s.On("broadcast", func(room string, ack func(bool)) {
				err := srv.Of(s.Namespace().Name()).To(room).Emit("news", "hello", []byte{1, 2, 3}, map[string]any{"nested": []byte{4, 5}, "n": 1})
				ack(err == nil)
			})
			s.On("ask", func(ack func(any)) {
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					a, err := s.EmitWithAck(ctx, "question", 21, []byte{7})
					if err != nil {
						ack(err.Error())
						return
					}
					vals, _ := a.Values()
					ack(vals)
				}()
			})
		}
		srv.OnConnection(setup)
		admin := srv.Of("/admin")
		admin.Use(func(s *socketio.Socket) error {
			switch s.Handshake().Auth["token"] {
			case "secret":
				return nil
			case "plain":
				return socketio.NewConnectError("go away", nil)
			}
			return socketio.NewConnectError("not authorized", map[string]any{"code": 401})
		})
		admin.OnConnection(setup)
	})
	e.run("v2.test.mjs")
}
