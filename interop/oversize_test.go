package interop

import (
	"testing"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/engineio"
)

// maxPayload is the MaxHTTPBufferSize of TestOversize.
const maxPayload = 10_000

// TestOversize: a client message larger than MaxHTTPBufferSize closes that
// client's connection, over websocket and over polling; other clients go on.
func TestOversize(t *testing.T) {
	opts := &socketio.Options{Engine: engineio.Options{MaxHTTPBufferSize: maxPayload}}
	e := newEnv(t, opts, func(e *env, srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) {
			e.track(s)
			s.On("size", func(data string, ack func(int)) {
				e.rec.add("size:"+s.ID(), len(data))
				ack(len(data))
			})
		})
	})
	e.run("oversize.test.mjs")
}
