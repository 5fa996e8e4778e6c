package interop

import (
	"testing"

	"github.com/socketio-go/socketio"
)

// TestReconnect: the server drops the Engine.IO connection (Conn.Abort, as
// a broken network would), or is restarted on the same port; the client
// reconnects by itself and gets a new connect.
func TestReconnect(t *testing.T) {
	e := newEnv(t, nil, func(e *env, srv *socketio.Server) {
		gen := e.generation() + 1 // the generation this server will have once started
		srv.OnConnection(func(s *socketio.Socket) {
			e.track(s)
			s.On("info", func(ack func(map[string]any)) {
				ack(map[string]any{"id": s.ID(), "generation": gen, "transport": s.Transport()})
			})
		})
	})
	e.run("reconnect.test.mjs")
}
