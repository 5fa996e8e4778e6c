// Package redisstreamsadapter runs Socket.IO servers as one cluster over
// Redis Streams, wire-compatible with Node's npm
// @socket.io/redis-streams-adapter 0.3.x: Go and Node servers can share one
// stream. Unlike pub/sub, a stream keeps what was sent: a server that loses
// Redis for a while reads what it missed when it is back, and connection
// state recovery works across servers (a client of a server that stopped
// gets its id, rooms, data and missed events back from another).
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	srv := socketio.NewServer(&socketio.Options{
//		Adapter:                 redisstreamsadapter.New(rdb, nil),
//		ConnectionStateRecovery: &socketio.RecoveryOptions{},
//	})
//
// # Protocol
//
// Broadcasts, SocketsJoin/SocketsLeave and DisconnectSockets are stream
// entries (XADD <stream> MAXLEN ~ <MaxLen> * uid nsp type data; data is
// JSON, or base64 MessagePack when a broadcast carries binary), read by
// every server with XREAD from the last id it saw. FetchSockets,
// ServerSideEmit and broadcasts with acknowledgements are MessagePack on
// the pub/sub channel "<prefix>#<nsp>#", answers on "<prefix>#<nsp>#<uid>#";
// the server count is PUBSUB NUMSUB of the former. With connection state
// recovery on, a broadcast's entry id is the offset its clients get, a
// disconnected socket's session is SET <SessionKeyPrefix><pid> for
// MaxDisconnectionDuration, and the server the client reaches takes it and
// replays the entries after the client's offset.
//
// # Failures
//
// No call waits on Redis: every command goes through the namespace's
// outbox and is sent by a goroutine of the adapter, in the order of the
// calls, in pipelined batches. While Redis cannot be reached, entries,
// server-side events and sessions wait (Options.Outbox bounds them; what
// does not fit is refused with an error wrapping adapter.ErrOutboxFull,
// what waits too long is dropped; both are logged and counted, see
// OutboxStats), and are sent in order when Redis is back; a command the
// dying connection lost is sent again. Requests (FetchSockets,
// ServerSideEmitWithAck, broadcasts with acknowledgements, ServerCount,
// session restores) fail at once with ErrUnavailable. The stream readers
// go on from the last entry they saw, so no server misses an entry that
// Redis kept.
//
// # Differences from Node's adapter
//
//   - Node's reader starts with XREAD ... $ and keeps "$" until it sees an
//     entry, so entries added between two of its reads are lost; this one
//     starts from the stream's last entry id (0-0 when there is none).
//   - Node loses an XADD written into a dying connection (its sender's
//     clients get the broadcast, the other servers never do), and queues
//     the others without bound; here the outbox retries it and is bounded.
//     A command lost with its reply may thus be applied twice when Redis
//     kept it (with persistence).
//   - With StreamCount > 1 a namespace can map to a negative stream suffix
//     ("socket.io--2"): Node writes there and reads only 0..n-1, so it
//     never hears that namespace; this adapter writes the same stream
//     (for interoperability) and reads it too.
//   - Volatile broadcasts and emits with acknowledgements are not replayed
//     on recovery (Node replays them as plain events).
//   - Each namespace has its own stream reader and subscriber connection
//     (Node shares them between the namespaces of a server); the server
//     count is the same, since each namespace's channel has one subscriber
//     per server.
//   - The data of a recovered socket and of a socket of another server is
//     the JSON that server stored (a json.RawMessage, nil for Node's
//     default {}), not the Go value.
//   - A broadcast that cannot get an offset because Redis is down for
//     longer than the outbox keeps it still reaches the local sockets
//     (without an offset); Node's waits for Redis indefinitely.
//   - OnlyPlaintext writes binary values as base64 strings (Node writes
//     {"type":"Buffer","data":[...]}).
//   - UseShardedPubSub with a Redis Cluster client is not supported yet:
//     the namespace's two channels are subscribed on one connection, and
//     may belong to different shards (the sharded Redis adapter has one
//     subscriber per hash slot; this one does not yet).
//   - Node's 0.3.x sends no heartbeat (its heartbeat options do nothing);
//     there is none here either, and no server list to clean up: the server
//     count comes from Redis.
package redisstreamsadapter
