package redisstreamsadapter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/internal/clusteradapter"
	"github.com/socketio-go/socketio/internal/clusterreq"
	"github.com/socketio-go/socketio/internal/outbox"
	"github.com/socketio-go/socketio/internal/redissub"
	"github.com/socketio-go/socketio/redisadapter/wire"
	"github.com/socketio-go/socketio/sioparser"
)

// Errors of the adapter.
var (
	// ErrPublish wraps the error of a message that could not be handed to
	// Redis (a full outbox, a request while Redis is down): the
	// operation's local part was done, the other servers were not reached.
	ErrPublish = errors.New("redisstreamsadapter: not published to the other servers")
	// ErrUnavailable is returned (wrapped) by requests while Redis cannot
	// be reached: they fail at once instead of waiting.
	ErrUnavailable = errors.New("redisstreamsadapter: Redis unavailable")
	// ErrClosed is returned by operations on a closed adapter.
	ErrClosed = errors.New("redisstreamsadapter: adapter closed")
)

// Adapter is the adapter of one namespace on a Redis Streams cluster.
//
// All methods are safe for concurrent use. Stream entries are handled on
// the goroutine that reads the stream, pub/sub messages on the one that
// reads the subscription, each in order. Handlers of server-side events
// run on the latter and must not block. No method waits on Redis, except
// the requests (FetchSockets, ServerSideEmitWithAck, ServerCount,
// RestoreSession), for RequestsTimeout or their context at most.
type Adapter struct {
	nsp      adapter.Namespace
	name     string
	client   redis.UniversalClient
	opts     Options
	log      *slog.Logger
	uid      string
	mem      *adapter.Memory
	recovery time.Duration // connection state recovery: how long sessions last; 0 when off

	stream, publicChannel, privateChannel string

	sub  *redissub.Subscriber
	out  *outbox.Queue[outMsg] // everything published, in order (publish.go)
	gate redissub.Gate
	// lastAdded is the id of the last entry Redis confirmed; unsure tells
	// that a round trip with entries failed after it was written. Both are
	// owned by the outbox's flusher.
	lastAdded string
	unsure    bool
	rd        *reader

	startOnce sync.Once
	stopOnce  sync.Once

	reqs *clusterreq.Table // requests and broadcasts with acks waiting for answers
	recv clusteradapter.Receiver
}

// New returns the factory of the adapter, wire-compatible with Node's
// createAdapter of npm @socket.io/redis-streams-adapter 0.3.x:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	srv := socketio.NewServer(&socketio.Options{
//		Adapter:                 redisstreamsadapter.New(rdb, nil),
//		ConnectionStateRecovery: &socketio.RecoveryOptions{},
//	})
//
// client runs every command; each namespace adapter also holds one of its
// connections for reading the stream and one for its subscription. The
// client is not closed by the adapters.
func New(client redis.UniversalClient, opts *Options) func(adapter.Namespace) adapter.Adapter {
	o := opts.withDefaults()
	return func(nsp adapter.Namespace) adapter.Adapter { return newAdapter(nsp, client, o) }
}

func newAdapter(nsp adapter.Namespace, client redis.UniversalClient, o Options) *Adapter {
	name := nsp.Name()
	a := &Adapter{
		nsp:    nsp,
		name:   name,
		client: client,
		opts:   o,
		log:    o.Logger,
		uid:    randomHex(8),
		mem:    adapter.NewMemory(nsp, nil),
		stream: streamFor(name, &o),
		reqs:   clusterreq.New("redisstreamsadapter", ErrClosed),
	}
	if r, ok := nsp.(adapter.RecoveryAware); ok {
		a.recovery = r.RecoveryDuration()
	}
	a.recv = clusteradapter.Receiver{
		Nsp: nsp, Name: name, Mem: a.mem, Reqs: a.reqs, Log: a.log, Prefix: "redisstreamsadapter",
		Respond: a.respond, Offset: a.withOffset,
	}
	a.publicChannel = o.ChannelPrefix + "#" + name + "#"
	a.privateChannel = a.publicChannel + a.uid + "#"
	a.sub = redissub.New(client, o.UseShardedPubSub, a.log, "redisstreamsadapter", name, a.onPubSub)
	a.sub.Subscribe(false, a.publicChannel, a.privateChannel)
	a.out = a.newOutbox()
	a.rd = newReader(a)
	return a
}

// UID returns the server's id in the cluster for this namespace.
func (a *Adapter) UID() string { return a.uid }

// Stream returns the name of the namespace's stream.
func (a *Adapter) Stream() string { return a.stream }

// Init implements adapter.Adapter: it subscribes, starts reading the
// stream, and waits until Redis confirms the subscription and the reader
// knows where the stream ends, for RequestsTimeout at most. When Redis cannot be reached it returns the
// error and keeps trying in the background.
func (a *Adapter) Init() error {
	var wait <-chan error
	a.startOnce.Do(func() {
		wait = a.sub.Start()
		a.rd.start()
	})
	if wait == nil {
		return nil
	}
	timer := time.NewTimer(a.opts.RequestsTimeout)
	defer timer.Stop()
	select {
	case err := <-wait:
		if err != nil {
			return fmt.Errorf("redisstreamsadapter: namespace %q: cannot subscribe to Redis (retrying in the background): %w", a.name, err)
		}
	case <-timer.C:
		return fmt.Errorf("redisstreamsadapter: namespace %q: Redis did not confirm the subscription within %v (retrying in the background)", a.name, a.opts.RequestsTimeout)
	}
	// The reader knows where the stream ends: entries added from now on
	// are read.
	select {
	case <-a.rd.pinned:
	case <-timer.C:
		return fmt.Errorf("redisstreamsadapter: namespace %q: the stream could not be read within %v (retrying in the background)", a.name, a.opts.RequestsTimeout)
	}
	return nil
}

// Healthy reports whether the adapter is subscribed and reads the stream.
func (a *Adapter) Healthy() bool { return a.sub.Healthy() && a.rd.healthy() }

// Close implements adapter.Adapter: what waits in the outbox gets
// RequestsTimeout to go out (sessions of sockets closed by a shutdown among
// them), then the subscription and the reader stop and waiting requests
// fail with ErrClosed.
func (a *Adapter) Close() error {
	a.stopOnce.Do(func() {
		a.out.Close(a.opts.RequestsTimeout)
		a.sub.Close()
		a.rd.stop()
		a.reqs.Close()
		_ = a.mem.Close()
	})
	return nil
}

// --- local room index ---

// AddAll implements adapter.Adapter.
func (a *Adapter) AddAll(s adapter.Socket, rooms ...adapter.Room) { a.mem.AddAll(s, rooms...) }

// Del implements adapter.Adapter.
func (a *Adapter) Del(id adapter.SocketID, room adapter.Room) { a.mem.Del(id, room) }

// DelAll implements adapter.Adapter.
func (a *Adapter) DelAll(id adapter.SocketID) { a.mem.DelAll(id) }

// SocketRooms implements adapter.Adapter.
func (a *Adapter) SocketRooms(id adapter.SocketID) []adapter.Room { return a.mem.SocketRooms(id) }

// Rooms implements adapter.Adapter: the rooms of this server.
func (a *Adapter) Rooms() []adapter.Room { return a.mem.Rooms() }

// --- operations ---

// withOffset reports whether a broadcast gets its stream entry id as an
// offset (Node's addOffsetIfNecessary).
func (a *Adapter) withOffset(p *sioparser.Packet, opts *adapter.BroadcastOptions) bool {
	return a.recovery > 0 && p.Type == sioparser.Event && !p.HasID && !opts.Flags.Volatile
}

// Broadcast implements adapter.Adapter: the packet goes into the stream
// (XADD). Local sockets get it at once, or, with connection state recovery,
// once Redis gave the entry its id, which they get as the offset (as in
// Node: all clients see the same offset). A socket's own emit under
// recovery (Flags.Direct) goes into the stream too, so that another server
// can replay it.
func (a *Adapter) Broadcast(p *sioparser.Packet, opts *adapter.BroadcastOptions) error {
	if opts.Flags.Local && !opts.Flags.Direct {
		a.mem.BroadcastLocal(p, opts)
		return nil
	}
	data, err := a.entryData(wire.MsgBroadcast, func(w *wire.Writer) { wire.WriteBroadcastData(w, p, true, opts, "") })
	if err != nil {
		a.mem.BroadcastLocal(p, opts)
		return fmt.Errorf("redisstreamsadapter: broadcast: %w", err)
	}
	m := outMsg{kind: kindXAdd, typ: wire.MsgBroadcast, data: data}
	if a.withOffset(p, opts) {
		pkt, o := *p, *opts
		m.local = func(offset string) {
			q := pkt
			if offset != "" {
				q.Data = adapter.AppendOffset(pkt.Data, offset)
			}
			a.mem.BroadcastLocal(&q, &o)
		}
	} else {
		a.mem.BroadcastLocal(p, opts)
	}
	return a.push("broadcast", m)
}

// BroadcastWithAck implements adapter.Adapter: the request goes through
// pub/sub, as in Node; the other servers report their client counts and
// forward acknowledgements (first argument only) until the broadcast's
// Timeout, or RequestsTimeout without one. It fails at once with
// ErrUnavailable while Redis is down (the local part is done).
func (a *Adapter) BroadcastWithAck(p *sioparser.Packet, opts *adapter.BroadcastOptions, clientCount func(int), ack func(adapter.AckResponse)) error {
	if opts.Flags.Local {
		return a.mem.BroadcastWithAck(p, opts, clientCount, ack)
	}
	if !a.sub.Healthy() || a.out.Down() {
		_ = a.mem.BroadcastWithAck(p, opts, clientCount, ack)
		return fmt.Errorf("redisstreamsadapter: broadcast with acknowledgements: %w", ErrUnavailable)
	}
	requestID := randomHex(8)
	w := wire.ClusterMessage(wire.MsgBroadcast, a.uid, a.name, func(w *wire.Writer) {
		wire.WriteBroadcastData(w, p, false, opts, requestID)
	})
	payload, err := w.Encode(true)
	if err != nil {
		return fmt.Errorf("redisstreamsadapter: broadcast: %w", err)
	}
	keep := opts.Flags.Timeout
	if keep <= 0 {
		keep = a.opts.RequestsTimeout
	}
	if err := a.reqs.AddAck(requestID, keep, clientCount, ack); err != nil {
		return err
	}

	clientCount(a.mem.BroadcastWithAckLocal(p, opts, ack))
	if err := a.out.Push(outMsg{kind: kindPublish, target: a.publicChannel, payload: payload}, len(payload), true); err != nil {
		a.reqs.DropAck(requestID)
		return a.pushError("broadcast with acknowledgements", err)
	}
	return nil
}

// AddSockets implements adapter.Adapter: local sockets join at once, those
// of the other servers when they read the entry.
func (a *Adapter) AddSockets(opts *adapter.BroadcastOptions, rooms []adapter.Room) error {
	return a.roomsOp("socketsJoin", wire.MsgSocketsJoin, opts, rooms, a.mem.AddSockets)
}

// DelSockets implements adapter.Adapter.
func (a *Adapter) DelSockets(opts *adapter.BroadcastOptions, rooms []adapter.Room) error {
	return a.roomsOp("socketsLeave", wire.MsgSocketsLeave, opts, rooms, a.mem.DelSockets)
}

func (a *Adapter) roomsOp(op string, typ int, opts *adapter.BroadcastOptions, rooms []adapter.Room, local func(*adapter.BroadcastOptions, []adapter.Room) error) error {
	_ = local(opts, rooms)
	if opts.Flags.Local {
		return nil
	}
	data, _ := a.entryData(typ, func(w *wire.Writer) {
		w.Key("opts")
		wire.WriteBroadcastOptions(w, opts, true)
		w.Key("rooms")
		w.Strings(rooms)
	})
	return a.push(op, outMsg{kind: kindXAdd, typ: typ, data: data})
}

// DisconnectSockets implements adapter.Adapter.
func (a *Adapter) DisconnectSockets(opts *adapter.BroadcastOptions, close bool) error {
	_ = a.mem.DisconnectSockets(opts, close)
	if opts.Flags.Local {
		return nil
	}
	data, _ := a.entryData(wire.MsgDisconnectSockets, func(w *wire.Writer) {
		w.Key("opts")
		wire.WriteBroadcastOptions(w, opts, true)
		w.Key("close")
		w.Bool(close)
	})
	return a.push("disconnectSockets", outMsg{kind: kindXAdd, typ: wire.MsgDisconnectSockets, data: data})
}

// ServerSideEmit implements adapter.Adapter (pub/sub, as in Node).
func (a *Adapter) ServerSideEmit(data []byte, attachments [][]byte) error {
	payload, err := a.serverSideEmitMessage(data, attachments, "")
	if err != nil {
		return fmt.Errorf("redisstreamsadapter: serverSideEmit: %w", err)
	}
	return a.push("serverSideEmit", outMsg{kind: kindPublish, target: a.publicChannel, payload: payload})
}

func (a *Adapter) serverSideEmitMessage(data []byte, atts [][]byte, requestID string) ([]byte, error) {
	return wire.ClusterMessage(wire.MsgServerSideEmit, a.uid, a.name, func(w *wire.Writer) {
		if requestID != "" {
			w.Key("requestId")
			w.String(requestID)
		}
		w.Key("packet")
		w.Raw(data, atts)
	}).Encode(true)
}

// ServerSideEmitWithAck implements adapter.Adapter: one answer (the first
// argument of the handler's acknowledgement) per other server, until
// RequestsTimeout or ctx is done.
func (a *Adapter) ServerSideEmitWithAck(ctx context.Context, data []byte, attachments [][]byte) ([]adapter.AckResponse, error) {
	r, err := a.ask(ctx, "serverSideEmit", wire.MsgServerSideEmit, a.opts.RequestsTimeout, func(id string) ([]byte, error) {
		return a.serverSideEmitMessage(data, attachments, id)
	})
	if r == nil {
		return nil, err
	}
	return r.Responses, err
}

// FetchSockets implements adapter.Adapter. Sockets of other servers come
// with their handshake, rooms and data as those servers sent them (data as
// a json.RawMessage). It waits for Flags.Timeout, or RequestsTimeout.
func (a *Adapter) FetchSockets(ctx context.Context, opts *adapter.BroadcastOptions) ([]adapter.SocketInfo, error) {
	local, _ := a.mem.FetchSockets(ctx, opts)
	if opts.Flags.Local {
		return local, nil
	}
	timeout := opts.Flags.Timeout
	if timeout <= 0 {
		timeout = a.opts.RequestsTimeout
	}
	r, err := a.ask(ctx, "fetchSockets", wire.MsgFetchSockets, timeout, func(id string) ([]byte, error) {
		return wire.ClusterMessage(wire.MsgFetchSockets, a.uid, a.name, func(w *wire.Writer) {
			w.Key("opts")
			wire.WriteBroadcastOptions(w, opts, true)
			w.Key("requestId")
			w.String(id)
		}).Encode(true)
	})
	if r == nil {
		return local, err
	}
	return append(local, r.Sockets...), err
}

// SocketIDs implements adapter.Adapter: the ids of the sockets in any of
// rooms across the cluster (from FetchSockets answers).
func (a *Adapter) SocketIDs(ctx context.Context, rooms []adapter.Room) ([]adapter.SocketID, error) {
	infos, err := a.FetchSockets(ctx, &adapter.BroadcastOptions{Rooms: rooms})
	ids := make([]adapter.SocketID, len(infos))
	for i, s := range infos {
		ids[i] = s.ID
	}
	return ids, err
}

// ServerCount implements adapter.Adapter: the servers subscribed to the
// namespace's channel (PUBSUB NUMSUB, or SHARDNUMSUB), this one included.
func (a *Adapter) ServerCount(ctx context.Context) (int, error) {
	n, err := a.serverCount(ctx)
	if err != nil {
		return 0, fmt.Errorf("redisstreamsadapter: server count: %w", err)
	}
	return n, nil
}

func (a *Adapter) serverCount(ctx context.Context) (int, error) {
	if !a.sub.Healthy() || a.out.Down() {
		return 0, ErrUnavailable
	}
	n, err := a.countServers(ctx)
	if err == nil {
		a.gate.Note(int64(n))
	}
	return n, err
}

func (a *Adapter) countCmd(ctx context.Context, c redis.Cmdable) *redis.MapStringIntCmd {
	if a.opts.UseShardedPubSub {
		return c.PubSubShardNumSub(ctx, a.publicChannel)
	}
	return c.PubSubNumSub(ctx, a.publicChannel)
}

func (a *Adapter) countServers(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, a.opts.RequestsTimeout)
	defer cancel()
	if cc, ok := a.client.(*redis.ClusterClient); ok {
		var mu sync.Mutex
		var total int64
		err := cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			m, err := a.countCmd(ctx, node).Result()
			mu.Lock()
			total += m[a.publicChannel]
			mu.Unlock()
			return err
		})
		return int(total), err
	}
	m, err := a.countCmd(ctx, a.client).Result()
	return int(m[a.publicChannel]), err
}

// ask publishes a request and waits for the answers of the other servers:
// as many as there are other servers subscribed, counted before publishing
// (as Node does). It returns the request with what arrived, or nil when
// there was nothing to wait for or it could not be sent.
func (a *Adapter) ask(ctx context.Context, op string, kind int, timeout time.Duration, encode func(requestID string) ([]byte, error)) (*clusterreq.Request, error) {
	servers, err := a.serverCount(ctx)
	if err != nil {
		return nil, fmt.Errorf("redisstreamsadapter: %s: counting servers: %w", op, err)
	}
	if servers <= 1 {
		return nil, nil
	}
	id := randomHex(8)
	payload, err := encode(id)
	if err != nil {
		return nil, fmt.Errorf("redisstreamsadapter: %s: %w", op, err)
	}
	r, err := a.reqs.Add(id, kind, servers-1)
	if err != nil {
		return nil, err
	}
	if err := a.publishWait(ctx, payload); err != nil {
		a.reqs.Forget(id)
		return nil, fmt.Errorf("redisstreamsadapter: %s: %w: %w", op, ErrPublish, err)
	}
	return r, a.reqs.Wait(ctx, id, r, timeout, op)
}

// Pending returns the numbers of requests and of broadcasts with
// acknowledgements waiting for answers.
func (a *Adapter) Pending() (requests, acks int) { return a.reqs.Pending() }

// OutboxStats implements adapter.OutboxReporter.
func (a *Adapter) OutboxStats() adapter.OutboxStats { return a.out.Stats() }

// randomHex returns 2n hexadecimal digits, as Node's randomBytes(n).toString("hex").
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// typeString is a message type as stream entries carry it.
func typeString(typ int) string { return strconv.Itoa(typ) }

var (
	_ adapter.Adapter        = (*Adapter)(nil)
	_ adapter.OutboxReporter = (*Adapter)(nil)
)
