// Package natsadapter runs Socket.IO servers as one cluster over NATS with
// JetStream. It has no Node counterpart: it speaks socket.io-adapter's
// ClusterAdapter protocol (the messages of the Postgres and Redis Streams
// adapters, {type, data, uid, nsp}, JSON or MessagePack when binary) over
// NATS subjects, between Go servers.
//
//	nc, err := nats.Connect("nats://127.0.0.1:4222", nats.MaxReconnects(-1))
//	srv := socketio.NewServer(&socketio.Options{Adapter: natsadapter.New(nc, nil)})
//
// # Protocol
//
// Broadcasts, SocketsJoin/SocketsLeave, DisconnectSockets and server-side
// events of a namespace are published to the JetStream stream Options.Stream
// on "<SubjectPrefix>.js.<namespace>" (the namespace with '.', '*', '>', '%'
// and white space written %XX), each with a message id JetStream drops a
// retry by; every server reads its namespace's part of the stream with an
// ordered consumer, from the stream's end at start and from the last
// message it read after a reconnection. Heartbeats, requests (FetchSockets,
// ServerSideEmitWithAck, broadcasts with acknowledgements) and their
// answers are plain NATS messages on "<SubjectPrefix>.ps.<namespace>".
// Servers know each other by their heartbeats, as with the Postgres
// adapter (socket.io-adapter's ClusterAdapterWithHeartbeat): the server
// count is this server and those heard from within HeartbeatTimeout.
//
// # Failures
//
// No call waits on NATS: messages go through the namespace's outbox
// (bounded by Options.Outbox) and are sent in order by a goroutine of the
// adapter. While this server is not connected they wait, and requests fail
// at once with ErrUnavailable. What JetStream acknowledged survives a NATS
// restart (file storage), and a server cut off from NATS while the others
// publish reads what it missed when it is back, within StreamMaxAge and
// StreamMaxBytes. Operations that go through the stream and requests that
// do not may reach another server in another order than they were made
// (a FetchSockets right after a SocketsJoin may not see the join yet).
//
// # Connection state recovery
//
// With ConnectionStateRecovery on, a broadcast's offset is its sequence in
// the stream (local clients get the broadcast once JetStream acknowledged
// it), a disconnected socket's session goes to the key-value bucket
// Options.SessionBucket for MaxDisconnectionDuration, and the server the
// client reaches takes it and replays the namespace's broadcasts after the
// client's offset that were for its rooms (volatile broadcasts and emits
// with acknowledgements excepted). A crashed server's sessions are lost,
// as with the Redis Streams adapter.
package natsadapter
