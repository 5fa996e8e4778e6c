package interop

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/socketio-go/socketio"
)

// TestNamespaces: custom namespaces, middleware errors with data, the auth
// payload, unknown namespaces, dynamic namespaces (OfRegexp, OfFunc) whose
// parent's middlewares and handlers apply to the children, and several
// namespaces multiplexed on one Engine.IO connection.
func TestNamespaces(t *testing.T) {
	e := newEnv(t, nil, func(e *env, srv *socketio.Server) {
		// whoami answers what the server knows of the socket.
		whoami := func(s *socketio.Socket) {
			e.track(s)
			s.On("whoami", func(ack func(map[string]any)) {
				ack(map[string]any{
					"nsp":  s.Namespace().Name(),
					"id":   s.ID(),
					"auth": s.Handshake().Auth,
					"data": s.Data(),
					// Sockets multiplexed on one connection share its
					// handshake request.
					"conn": s.Conn().ID(),
				})
			})
		}
		srv.OnConnection(whoami)
		srv.Of("/chat").OnConnection(whoami)
		srv.Of("/admin").OnConnection(whoami)

		// A middleware refusing with data.
		private := srv.Of("/private")
		private.Use(func(s *socketio.Socket) error {
			return socketio.NewConnectError("not authorized", map[string]any{"code": 42, "detail": []string{"a", "b"}})
		})
		private.OnConnection(func(s *socketio.Socket) { e.rec.add("private-connected", s.ID()) })

		// A middleware checking the auth payload; a plain error has no
		// data.
		auth := srv.Of("/auth")
		auth.Use(func(s *socketio.Socket) error {
			if s.Handshake().Auth["token"] != "secret" {
				return fmt.Errorf("bad token %v", s.Handshake().Auth["token"])
			}
			s.SetData(map[string]any{"user": "alice"})
			return nil
		})
		auth.OnConnection(whoami)

		// Dynamic namespaces: the parent's middleware and handlers apply
		// to every child.
		dyn := srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
		dyn.Use(func(s *socketio.Socket) error {
			s.SetData("set by the regexp parent for " + s.Namespace().Name())
			return nil
		})
		dyn.OnConnection(func(s *socketio.Socket) {
			whoami(s)
			// An event emitted on the parent reaches every child.
			s.On("parent-emit", func(msg string) { _ = dyn.Emit("from-parent", msg) })
		})
		fn := srv.OfFunc(func(name string, auth map[string]any) bool {
			return strings.HasPrefix(name, "/fn-") && auth["ok"] == true
		})
		fn.Use(func(s *socketio.Socket) error {
			s.SetData("set by the func parent")
			return nil
		})
		fn.OnConnection(whoami)
	})
	e.run("namespaces.test.mjs")
}
