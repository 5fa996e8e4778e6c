// Package client is a Socket.IO v5 client (Engine.IO v4 underneath) with the
// model of the official JavaScript client, npm socket.io-client 4.x: a
// Manager owns one Engine.IO connection, reconnects it with exponential
// backoff and multiplexes Sockets, one per namespace, over it.
//
//	s, err := client.NewSocket("http://localhost:3000/chat", nil)
//	s.On("message", func(m Message) { fmt.Println(m.Text) })
//	s.Connect() // in the background; or client.Connect(ctx, url, opts) to wait
//	ack, err := s.EmitWithAck(ctx, "join", "lobby")
//
// # Connecting
//
// NewSocket is io(url, {autoConnect: false}): the URL's path names the
// namespace, and Managers are shared by the sockets of the same scheme, host
// and Options.Path unless Options.ForceNew is set (or the namespace is
// already in use on the shared Manager). Socket.Connect starts connecting in
// the background and returns at once; Socket.WaitConnect waits for the
// outcome. Connect does both, for code that wants an error when the server
// cannot be reached or refuses the namespace. Register handlers before
// Socket.Connect: events the server emits right at connection would
// otherwise find no handler.
//
// # Handlers
//
// Socket.On takes a function whose parameters receive the event's
// arguments decoded from JSON, with an optional last parameter, the
// acknowledgement callback, nil when the server asked for none (see On for
// the shapes). A handler of an impossible shape panics at registration; an
// event whose arguments do not fit is not handed to the handler: it is
// logged as a warning and reported to Socket.OnError (ErrInvalidArguments),
// never dropped silently. Once, Off, OffAny and OffAnyOutgoing follow the
// JavaScript client, handlers compared by identity. The Manager has the
// JavaScript Manager's events (OnOpen, OnClose, OnError, OnPacket,
// OnUpgrade, OnReconnect...). Socket.SetAuth changes the auth payload of
// the next connection requests.
//
// # Concurrency
//
// Every method of Manager and Socket is safe to call from any goroutine.
// Handlers (On, Once, OnAny, OnAnyOutgoing, OnConnect, OnDisconnect,
// OnError, acknowledgement callbacks, Manager events) run one at a time, in
// the order the events happened, on one goroutine per Manager (that is, per
// Engine.IO connection); it exists only while there is something to run.
// Handlers may call any method, including EmitWithAck, whose answer does
// not go through that goroutine. They must not block for long: a handler
// that blocks delays the handlers queued after it (not the heartbeat,
// which the connection's reader answers).
//
// # Emitting
//
// Emit sends Go values encoded as JSON; []byte values, anywhere in an
// argument, become binary attachments (they are not copied: do not modify
// them after Emit). A trailing func argument asks for an acknowledgement;
// its parameters are decoded like a handler's. While the socket is not
// connected, emits are kept in a send buffer and written, in order, on
// connection; volatile emits are dropped instead. With Options.Retries, emits
// go through a queue, one at a time, each re-sent until acknowledged or
// retried that many times (at-least-once delivery; give AckTimeout too).
package client
