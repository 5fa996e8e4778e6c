// Package postgresadapter runs Socket.IO servers as one cluster over
// PostgreSQL's LISTEN/NOTIFY, wire-compatible with Node's npm
// @socket.io/postgres-adapter 0.5.x: Go and Node servers can share one
// database, and postgresemitter (or Node's @socket.io/postgres-emitter)
// reaches them from other processes.
//
//	pool, err := pgxpool.New(ctx, "postgres://127.0.0.1:5432/app")
//	srv := socketio.NewServer(&socketio.Options{Adapter: postgresadapter.New(pool, nil)})
//
// # Protocol
//
// Every message of a namespace, requests and responses alike, is a NOTIFY
// on the channel "<ChannelPrefix>#<namespace>" with the JSON of
// socket.io-adapter's ClusterAdapter message {type, data, uid, nsp} as
// payload. A message with binary values, or whose JSON has 8000 bytes or
// more (NOTIFY's limit), is a row of the attachments table (MessagePack of
// the whole message) announced by {"uid","type","attachmentId"}. Rows older
// than CleanupInterval are deleted every CleanupInterval. Servers know each
// other by their heartbeats (every HeartbeatInterval after their last
// message; forgotten after HeartbeatTimeout of silence, or at once when
// they close): the server count is this server and those it knows, and
// FetchSockets and ServerSideEmitWithAck wait for an answer from each of
// them.
//
// # Failures
//
// No call waits on PostgreSQL: every message goes through the namespace's
// outbox and is sent by a goroutine of the adapter, in the order of the
// calls, in batches (one round trip, one transaction). While PostgreSQL
// cannot be reached, or this server does not listen, messages wait
// (Options.Outbox bounds them; what does not fit is refused with an error
// wrapping adapter.ErrOutboxFull, what waits too long is dropped; both are
// logged and counted, see OutboxStats), and requests fail at once with
// ErrUnavailable. The LISTEN connection is made again with backoff (up to
// 2 s); once it listens, the server announces itself, and the backlog goes
// out when every server known before the outage was heard from again (they
// listen again), or 3 s after this one listens. NOTIFY keeps nothing: a
// server that does not listen misses what is sent meanwhile, and a message
// committed at the instant of a crash is lost for the listeners cut then.
//
// # Differences from Node's adapter
//
//   - Node 0.5.0 sends a JSON of exactly 8000 bytes as a NOTIFY, which
//     PostgreSQL refuses (the message is lost); here the attachments table
//     is used from 8000 bytes on (as Node's adapter does since).
//   - Messages without a top-level nsp (those of Node's emitter 0.1.1,
//     which 0.5.0 drops) are taken for the channel's namespace: Node's
//     emitter works against Go servers.
//   - A server recognises its own attachment headers by uid and does not
//     fetch their rows (Node fetches its own rows too).
//   - A message with binary values goes through the attachments table
//     whatever its type (Node does so for broadcasts, server-side events and
//     acknowledgements only, and writes the Buffers of a FetchSockets
//     answer as {"type":"Buffer","data":[...]}); Node reads either.
//   - Each namespace holds its own LISTEN connection (Node shares one
//     between the namespaces of a server), made with the pool's
//     configuration.
//   - The LISTEN connection is made before the server announces itself
//     (Node may miss the answers to its INITIAL_HEARTBEAT and count one
//     server until the next heartbeats), and again after a loss, after
//     which the server announces itself again. Node's process exits when
//     its LISTEN connection is lost (an unhandled error event).
//   - Heartbeats are sent only while the server listens, outside the
//     outbox; the attachments table is created by Init if missing (Node's
//     README has the application create it).
//   - Node drops a message PostgreSQL does not take and queues the others
//     without bound; here the outbox keeps them in order, bounded, and
//     requests fail at once during an outage.
//   - ServerCount fails with ErrUnavailable while this server does not
//     listen (Node counts the servers it heard from, whatever its state).
//   - The table name is checked (letters, digits, underscores, an optional
//     schema): Node interpolates whatever it is given into its SQL.
//   - Connection state recovery across servers is not supported, as with
//     Node; Node then appends "" or null offsets to every broadcast, this
//     adapter appends none.
package postgresadapter
