package socketio_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/socketio-go/socketio"
)

type Message struct {
	Room string `json:"room"`
	Text string `json:"text"`
}

// The quickstart of the README: typed handlers, an acknowledgement, rooms.
func ExampleServer() {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		s.Emit("welcome", map[string]string{"description": "Hello and Welcome to the Server"})
		s.On("join", func(room string, ack func([]string)) {
			s.Join(room)
			if ack != nil { // nil when the client passed no callback
				ack(s.Rooms())
			}
		})
		s.On("chat", func(m Message) { srv.To(m.Room).Emit("chat", m) })
	})
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	defer srv.Close()

	// A client's first request: the Engine.IO handshake.
	resp, err := http.Get(ts.URL + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"))
	// Output: 200 OK text/plain; charset=UTF-8
}

// Broadcasting with acknowledgements: each client answers, or the timeout
// ends the wait with the answers so far.
func ExampleBroadcastOperator_EmitWithAck() {
	srv := socketio.NewServer(nil)
	defer srv.Close()
	ctx := context.Background()
	answers, err := srv.Timeout(100*time.Millisecond).EmitWithAck(ctx, "are you there?")
	fmt.Println(len(answers), err)
	// Output: 0 <nil>
}

// Middlewares refuse connections with data for the client's connect_error.
func ExampleNamespace_Use() {
	srv := socketio.NewServer(nil)
	defer srv.Close()
	admin := srv.Of("/admin")
	admin.Use(func(s *socketio.Socket) error {
		if s.Handshake().Auth["token"] != "secret" {
			return socketio.NewConnectError("not authorized", map[string]any{"retry": false})
		}
		return nil
	})
	fmt.Println(admin.Name())
	// Output: /admin
}
