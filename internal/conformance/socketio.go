package main

import (
	"net/http"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/engineio"
)

// socketioHandler is the server of the socket.io-protocol suite: namespaces
// "/" and "/custom", pingInterval 300 ms, pingTimeout 200 ms, maxPayload
// 1e6, connectTimeout 1 s, CORS for every origin; each socket is sent its
// auth payload as an "auth" event, "message" is echoed as "message-back"
// and "message-with-ack" is acknowledged with its arguments.
func socketioHandler() http.Handler {
	srv := socketio.NewServer(&socketio.Options{
		ConnectTimeout: time.Second,
		Engine: engineio.Options{
			PingInterval:      300 * time.Millisecond,
			PingTimeout:       200 * time.Millisecond,
			MaxHTTPBufferSize: 1e6,
			CORS:              &engineio.CORSOptions{Origins: []string{"*"}},
		},
	})
	sendAuth := func(s *socketio.Socket) { _ = s.Emit("auth", s.Handshake().Auth) }
	srv.OnConnection(func(s *socketio.Socket) {
		sendAuth(s)
		s.On("message", func(args socketio.Args) {
			vals := make([]any, args.Len())
			for i := range vals {
				vals[i] = passThrough(args, i)
			}
			_ = s.Emit("message-back", vals...)
		})
		s.On("message-with-ack", func(args socketio.Args, ack func(...any)) {
			vals := make([]any, args.Len())
			for i := range vals {
				vals[i] = passThrough(args, i)
			}
			ack(vals...)
		})
	})
	srv.Of("/custom").OnConnection(sendAuth)
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	return mux
}

// passThrough returns argument i as a value that encodes to the same JSON:
// binary data as []byte, anything else as its raw JSON.
func passThrough(args socketio.Args, i int) any {
	var b []byte
	if err := args.DecodeAt(i, &b); err == nil && b != nil && args.Raw(i)[0] == '{' {
		return b
	}
	return args.Raw(i)
}
