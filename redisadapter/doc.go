// Package redisadapter runs Socket.IO servers as one cluster over Redis:
// broadcasts, acknowledgements, FetchSockets, SocketsJoin/SocketsLeave,
// DisconnectSockets and ServerSideEmit reach the sockets of every server.
// It speaks the wire protocol of Node's npm @socket.io/redis-adapter 8.x,
// so Go and Node servers can share one cluster, and it hears the Node and
// Go emitters (package redisemitter).
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	srv := socketio.NewServer(&socketio.Options{
//		Adapter: redisadapter.New(rdb, nil), // or NewSharded (Redis 7)
//	})
//
// # Protocols
//
// New is Node's createAdapter: PUBLISH, PSUBSCRIBE and SUBSCRIBE, with the
// channels "<key>#<nsp>#[<room>#]", "<key>-request#<nsp>#" and
// "<key>-response#<nsp>#[<uid>#]". NewSharded is createShardedAdapter:
// SPUBLISH and SSUBSCRIBE on "<key>#<nsp>#", "<key>#<nsp>#<uid>#" and, in
// the dynamic modes, one channel per room. All servers of a cluster must
// use the same protocol and key. Each namespace has its own adapter, with a
// new server id and one subscriber connection (per hash slot in use, with a
// sharded adapter on a Redis Cluster client); publishing and requests use
// the client's pool.
//
// # Failures
//
// Local delivery never waits on Redis, and neither does any call: every
// message goes through the namespace's outbox and is published by a
// goroutine of the adapter, in batches, in the order of the calls. While
// Redis cannot be reached, broadcasts, SocketsJoin/SocketsLeave,
// DisconnectSockets and ServerSideEmit without acknowledgement wait there
// (bounded by Options.Outbox) and go out in order once Redis and the other
// servers are subscribed again; a message that does not fit is refused with
// an error wrapping adapter.ErrOutboxFull and ErrPublish, one that waits
// longer than the age limit is dropped; both are logged and counted
// (OutboxStats). Requests that wait for other servers (FetchSockets,
// SocketIDs, AllRooms, ServerSideEmitWithAck, broadcasts with
// acknowledgements, ServerCount) fail at once with ErrUnavailable while
// Redis is down, and otherwise end after Options.RequestsTimeout, or with
// their context, with an error wrapping adapter.ErrTimeout and what
// arrived. The adapter reconnects by itself, with backoff (up to 2 s), and
// subscribes again; Redis pub/sub delivers at most once, so a server whose
// own connection is cut while Redis stays up misses what is published
// meanwhile.
//
// # Differences from Node's adapter
//
//   - SocketsJoin, SocketsLeave and DisconnectSockets apply to the local
//     sockets at once (Node's classic adapter waits for its own message to
//     come back from Redis, and does nothing locally when Redis is down).
//   - SocketIDs (Node's allSockets) covers the cluster; Node 8.x answers
//     with the local sockets only.
//   - AllRooms also works with the sharded adapter (from FetchSockets
//     answers); Node has it on the classic adapter only.
//   - Connection state recovery is not supported, as in Node: sessions are
//     not kept.
//   - With connection state recovery on, Node sends a socket's own emits
//     through the adapter, which publishes them for the other servers (who
//     have no such socket); here they stay local (the Redis Streams adapter
//     records them, as Node's does).
//   - Node queues publishes while Redis is down without bound (node-redis's
//     offline queue) and a publish rejected by a dying connection is lost;
//     here the outbox is bounded in bytes and age, reports what it refuses
//     or drops, retries what the connection lost, and waits for the other
//     servers to subscribe again before publishing the backlog.
//   - The data of a socket of another server (adapter.SocketInfo.Data)
//     arrives as a json.RawMessage holding the JSON that server sent, in its
//     key order, integers exact even beyond 2^53 (no trip through float64);
//     binary values in it (MessagePack bin) are base64 strings, as
//     encoding/json writes a []byte, so it decodes back into []byte fields.
//     Node's socket.data default, and a Go socket without data, arrive as
//     {}. A Go socket's data goes out as its value marshals to JSON: struct
//     fields in order, a json.RawMessage as written, a map sorted by key.
//     Local sockets keep the Go value given to SetData.
//   - The handshake of a remote socket arrives in its Go types: headers and
//     query as maps (the URL keeps the query's order), auth as generic
//     values (map[string]any, []any, string, float64, bool, nil, []byte), as
//     for a local socket. A Go socket's query goes out in the order of its
//     URL, as Node has it; headers go out lowercased, as Node has them, in
//     sorted order (net/http does not keep theirs); Go's net/http keeps the
//     Host header out of Request.Header, so Go sockets have no "host"
//     header.
//   - Binary values survive every message; Node writes those of JSON
//     messages (server-side events, FetchSockets answers on the classic
//     adapter) as {"type":"Buffer","data":[...]}, and a Go receiver gets that
//     object.
package redisadapter
