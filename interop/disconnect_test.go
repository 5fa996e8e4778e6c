package interop

import (
	"testing"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/engineio"
)

// TestDisconnect: disconnect reasons on both sides, for every way a
// connection ends: the client leaves the namespace, the server disconnects
// the socket with or without closing the connection, the client closes its
// Manager, the client process is killed, the client stops answering pings.
func TestDisconnect(t *testing.T) {
	opts := &socketio.Options{Engine: engineio.Options{
		PingInterval: 300 * time.Millisecond,
		PingTimeout:  700 * time.Millisecond,
	}}
	e := newEnv(t, opts, func(e *env, srv *socketio.Server) {
		handlers := func(s *socketio.Socket) {
			e.track(s)
			s.On("kick", func(close bool) { s.Disconnect(close) })
			s.On("ping-me", func(ack func(string)) { ack(s.Namespace().Name()) })
		}
		srv.OnConnection(handlers)
		srv.Of("/other").OnConnection(handlers)
	})
	e.run("disconnect.test.mjs")
}
