package interop

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/engineio"
)

// TestRecovery: connection state recovery. A client that lost its
// connection for a short while gets its id, rooms and the events it missed
// back, and socket.recovered is true.
func TestRecovery(t *testing.T) {
	opts := &socketio.Options{ConnectionStateRecovery: &socketio.RecoveryOptions{MaxDisconnectionDuration: 10 * time.Second}}
	e := newEnv(t, opts, func(e *env, srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) {
			e.track(s)
			if !s.Recovered() {
				// An event gives the client an offset to recover from.
				_ = s.Emit("welcome", s.ID())
			}
			s.On("join", func(room string, ack func([]string)) {
				s.Join(room)
				ack(sorted(s.Rooms()))
			})
			s.On("info", func(ack func(map[string]any)) {
				ack(map[string]any{"id": s.ID(), "recovered": s.Recovered(), "rooms": sorted(s.Rooms()), "data": s.Data()})
			})
			s.On("set-data", func(v any, ack func()) { s.SetData(v); ack() })
			s.On("to-room", func(room, msg string) { _ = srv.To(room).Emit("room-msg", msg) })
		})
	})
	// drop?sid=<engine id>&room=<room>: the server loses the client's
	// connection, then, while the client is away, broadcasts to its room,
	// to everyone, and binary data.
	e.action("drop", func(q url.Values) (any, error) {
		srv := e.server()
		c := srv.Engine().Conn(q.Get("sid"))
		if c == nil {
			return nil, fmt.Errorf("no engine connection %q", q.Get("sid"))
		}
		c.Abort(engineio.ReasonTransportClose, nil)
		room := q.Get("room")
		errs := []error{
			srv.To(room).Emit("missed", 1, "to the room"),
			srv.Emit("missed", 2, "to everyone"),
			srv.To(room).Emit("missed", 3, []byte{1, 2, 3}),
			srv.To("another-room").Emit("missed", 4, "not for this client"),
			srv.Except(room).Emit("missed", 5, "not for this client either"),
		}
		for _, err := range errs {
			if err != nil {
				return nil, err
			}
		}
		return true, nil
	})
	e.run("recovery.test.mjs")
}
