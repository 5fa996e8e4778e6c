// Package socketio is a Socket.IO server for Go: Socket.IO protocol v5 over
// Engine.IO protocol v4, wire-compatible with the official clients (the
// JavaScript socket.io-client 3.x/4.x and the other languages' clients).
//
// A Server is an http.Handler; mount it at its path ("/socket.io/" by
// default) in any router. Clients connect to namespaces ("/" and any other
// created with Server.Of, OfRegexp or OfFunc); each connection to a
// namespace is a Socket.
//
//	srv := socketio.NewServer(nil) // nil: Node's defaults
//	srv.OnConnection(func(s *socketio.Socket) {
//		s.Emit("welcome", "hello")
//		s.On("join", func(room string, ack func([]string)) {
//			s.Join(room)
//			if ack != nil { // nil when the client passed no callback
//				ack(s.Rooms())
//			}
//		})
//		s.On("chat", func(m Message) { srv.To(m.Room).Emit("chat", m) })
//	})
//	http.Handle("/socket.io/", srv)
//
// # Events and acknowledgements
//
// Handlers registered with Socket.On are functions whose parameters receive
// the event's arguments, decoded from JSON with the rules of encoding/json
// (struct tags, case-insensitive field names). []byte parameters and fields
// receive binary attachments; a parameter of type Args receives the
// arguments undecoded; a trailing parameter of function type is the
// acknowledgement callback, nil when the client asked for none. On panics
// for a function it cannot call (one that returns a value, say): a mistake
// in the program shows when it starts. Arguments that do not fit the
// parameters are logged as a warning and passed to the socket's OnError
// handlers (wrapping ErrInvalidArguments), and the handler is not called.
// Emit takes Go values; []byte values anywhere in them become binary
// attachments, and a trailing function asks the client for an
// acknowledgement (see also EmitWithAck and Timeout).
//
// Each namespace reports the lifecycle of its rooms as Node's adapter does
// (OnCreateRoom, OnDeleteRoom, OnJoinRoom, OnLeaveRoom).
//
// # Concurrency
//
// Every method is safe for concurrent use. The handlers of one socket run one
// at a time, in the order the client sent the events, on the goroutine that
// reads the client's connection: a handler that blocks delays that client's
// other events. To wait for an acknowledgement inside a handler
// (EmitWithAck), do it in a new goroutine. Broadcasts never block on a slow
// client: each connection has a bounded queue, and a client that does not
// keep up is disconnected ("transport error").
//
// # Broadcasting and clusters
//
// Server.To, Except, Volatile, Local and Timeout select sockets by room and
// return a BroadcastOperator; Socket.Broadcast excludes the sender. A
// broadcast is encoded once for all its recipients. The rooms live in the
// namespace's adapter: in memory by default (package adapter), or shared by
// several servers, Go or Node, through Redis (package redisadapter).
//
// # Hostile clients
//
// Whatever one client sends costs the server a bounded amount of memory and
// time, and never holds a lock other clients need while it works: message
// and body size (Options.Engine.MaxHTTPBufferSize), handshake headers
// (MaxRequestHeaderBytes), a binary packet's attachments (MaxAttachments,
// AttachmentTimeout), the queue of a slow client (MaxBufferedBytes), the
// namespaces of one connection (MaxNamespacesPerConnection). Serve with an
// http.Server that sets ReadHeaderTimeout, MaxHeaderBytes and IdleTimeout
// rather than http.ListenAndServe, which waits for request headers without
// a deadline. Browsers do not apply CORS to WebSockets: when cookies
// authenticate users, set Options.Engine.CORS.Origins or CheckOrigin, and
// WebSocket requests from other origins are refused.
package socketio
