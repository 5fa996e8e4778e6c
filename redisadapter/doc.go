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
// Local delivery never waits on Redis. An operation whose message cannot
// be published returns an error wrapping ErrPublish (its local part is
// done); while the subscriber connection is down, operations fail at once
// with ErrUnavailable. Requests that wait for other servers (FetchSockets,
// SocketIDs, AllRooms, ServerSideEmitWithAck) end after
// Options.RequestsTimeout, or with their context, with an error wrapping
// adapter.ErrTimeout and what arrived. The adapter reconnects by itself,
// with backoff (up to 2 s), and subscribes again; Redis pub/sub delivers at
// most once, so messages published while a server is disconnected are lost
// for it.
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
//   - Socket data and handshakes of remote sockets arrive as generic values
//     (map[string]any, []any, string, float64, bool, nil, []byte): they made
//     a JSON or MessagePack trip. Handshake headers are sent lowercased, as
//     Node has them; Go's net/http keeps the Host header out of
//     Request.Header, so Go sockets have no "host" header.
//   - Binary values survive every message; Node writes those of JSON
//     messages (server-side events, FetchSockets answers on the classic
//     adapter) as {"type":"Buffer","data":[...]}, and a Go receiver gets that
//     object.
package redisadapter
