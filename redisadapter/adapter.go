package redisadapter

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/internal/clusterreq"
	"github.com/socketio-go/socketio/internal/outbox"
	"github.com/socketio-go/socketio/internal/redissub"
	"github.com/socketio-go/socketio/redisadapter/wire"
	"github.com/socketio-go/socketio/sioparser"
)

// Errors of the adapters. Failures to reach Redis are returned wrapped with
// the operation's name; errors.Is(err, ErrPublish) tells them apart.
var (
	// ErrPublish wraps the error of a message that could not be published
	// (a request while Redis is down, a message refused by a full outbox):
	// the operation's local part was done, the other servers were not
	// reached.
	ErrPublish = errors.New("redisadapter: not published to the other servers")
	// ErrClosed is returned by operations on a closed adapter.
	ErrClosed = errors.New("redisadapter: adapter closed")
	// ErrUnavailable is returned (wrapped) by requests while the adapter is
	// not subscribed to Redis or cannot publish: at start when Redis cannot
	// be reached, and from the loss of the connection until it is back.
	// Requests then fail at once instead of waiting on Redis; local
	// delivery goes on, and fire-and-forget messages wait in the outbox.
	ErrUnavailable = errors.New("redisadapter: Redis unavailable")
)

// Adapter is the adapter of one namespace on a Redis cluster, classic (New)
// or sharded (NewSharded). It keeps the namespace's local rooms in an
// adapter.Memory, publishes every operation that is not Local for the other
// servers, and applies theirs.
//
// All methods are safe for concurrent use. Messages from Redis are handled
// on the goroutine that reads the subscriber connection, in order:
// broadcasts, joins and leaves from one server apply in the order it sent
// them. Handlers of server-side events (Namespace.On) run on that goroutine
// too and must not block. Operations never wait on Redis for longer than
// Options.RequestsTimeout (or their context).
type Adapter struct {
	nsp     adapter.Namespace
	name    string
	client  redis.UniversalClient
	opts    Options
	log     *slog.Logger
	sharded bool
	uid     string
	mem     *adapter.Memory

	// Channels. Classic: channel (broadcasts, PSUBSCRIBEd with "*"),
	// requestChannel, responseChannel, ownResponseChannel. Sharded: channel
	// (everything) and ownResponseChannel.
	channel, requestChannel, responseChannel, ownResponseChannel string

	subsMu  sync.Mutex
	subs    map[int]*redissub.Subscriber // guarded by subsMu; by hash-slot group
	started bool                         // guarded by subsMu; Init ran
	stopped bool                         // guarded by subsMu; Close ran

	reqs *clusterreq.Table // requests and broadcasts with acks waiting for answers

	roomsMu  sync.Mutex      // serializes joins and leaves in the dynamic sharded modes
	roomSubs map[string]bool // guarded by roomsMu; rooms with a channel of their own

	out *outbox.Queue[pubMsg] // everything published, in order (publish.go)

	gate redissub.Gate // when the outbox may publish again after an outage
}

const (
	reqFetch = iota
	reqSockets
	reqAllRooms
	reqServerSideEmit
)

func newAdapter(nsp adapter.Namespace, client redis.UniversalClient, o Options, sharded bool) *Adapter {
	name := nsp.Name()
	a := &Adapter{
		nsp:      nsp,
		name:     name,
		client:   client,
		opts:     o,
		log:      o.Logger,
		sharded:  sharded,
		mem:      adapter.NewMemory(nsp, nil),
		subs:     make(map[int]*redissub.Subscriber),
		reqs:     clusterreq.New("redisadapter", ErrClosed),
		roomSubs: make(map[string]bool),
	}
	a.out = a.newOutbox()
	if sharded {
		a.uid = randomHex(8)
		a.channel = o.Key + "#" + name + "#"
		a.ownResponseChannel = a.channel + a.uid + "#"
	} else {
		a.uid = randomID(6)
		a.channel = o.Key + "#" + name + "#"
		a.requestChannel = o.Key + "-request#" + name + "#"
		a.responseChannel = o.Key + "-response#" + name + "#"
		a.ownResponseChannel = a.responseChannel + a.uid + "#"
	}
	return a
}

// UID returns the server's id in the cluster for this namespace (a new one
// per namespace and process, as in Node).
func (a *Adapter) UID() string { return a.uid }

// Init implements adapter.Adapter: it subscribes to the namespace's
// channels and waits until Redis confirms, for RequestsTimeout at most. When
// Redis cannot be reached it returns the error, and keeps trying in the
// background: the namespace works locally meanwhile and joins the cluster
// as soon as Redis answers.
func (a *Adapter) Init() error {
	a.subsMu.Lock()
	if a.started || a.stopped {
		a.subsMu.Unlock()
		return nil
	}
	if a.sharded {
		a.subscribeLocked(a.channel, a.ownResponseChannel)
	} else {
		s := a.newSubscriber()
		s.Subscribe(true, escapeGlob(a.channel)+"*")
		s.Subscribe(false, a.requestChannel, a.responseChannel, a.ownResponseChannel)
		a.subs[0] = s
	}
	var waits []<-chan error
	for _, s := range a.subs {
		waits = append(waits, s.Start())
	}
	a.started = true
	a.subsMu.Unlock()

	timer := time.NewTimer(a.opts.RequestsTimeout)
	defer timer.Stop()
	for _, w := range waits {
		select {
		case err := <-w:
			if err != nil {
				return fmt.Errorf("redisadapter: namespace %q: cannot subscribe to Redis (retrying in the background): %w", a.name, err)
			}
		case <-timer.C:
			return fmt.Errorf("redisadapter: namespace %q: Redis did not confirm the subscription within %v (retrying in the background)", a.name, a.opts.RequestsTimeout)
		}
	}
	return nil
}

func (a *Adapter) newSubscriber() *redissub.Subscriber {
	handle := a.onClassicMessage
	if a.sharded {
		handle = a.onShardedMessage
	}
	return redissub.New(a.client, a.sharded, a.log, "redisadapter", a.name, handle)
}

// subscribeLocked adds channels to the subscriber of their hash-slot group
// (sharded mode; one group unless the client is a Redis Cluster client).
func (a *Adapter) subscribeLocked(channels ...string) {
	if a.stopped {
		return
	}
	for _, ch := range channels {
		g := a.group(ch)
		s := a.subs[g]
		if s == nil {
			s = a.newSubscriber()
			a.subs[g] = s
			s.Subscribe(false, ch)
			if a.started {
				s.Start()
			}
			continue
		}
		s.Subscribe(false, ch)
	}
}

func (a *Adapter) unsubscribeLocked(channels ...string) {
	for _, ch := range channels {
		if s := a.subs[a.group(ch)]; s != nil {
			s.Unsubscribe(ch)
		}
	}
}

// group is the subscriber group of a sharded channel: its hash slot on a
// Redis Cluster, where each shard channel lives on the node owning its slot.
func (a *Adapter) group(channel string) int {
	if _, ok := a.client.(*redis.ClusterClient); ok && a.sharded {
		return int(hashSlot(channel))
	}
	return 0
}

// Healthy reports whether the adapter's subscriptions are in place: the
// adapter publishes only then (see ErrUnavailable).
func (a *Adapter) Healthy() bool {
	a.subsMu.Lock()
	defer a.subsMu.Unlock()
	if len(a.subs) == 0 {
		return false
	}
	for _, s := range a.subs {
		if !s.Healthy() {
			return false
		}
	}
	return true
}

// Close implements adapter.Adapter: it unsubscribes, fails the requests
// still waiting with ErrClosed and forgets the local rooms.
func (a *Adapter) Close() error {
	a.subsMu.Lock()
	if a.stopped {
		a.subsMu.Unlock()
		return nil
	}
	a.stopped = true
	a.subsMu.Unlock()
	// What waits in the outbox gets RequestsTimeout to go out.
	a.out.Close(a.opts.RequestsTimeout)
	a.subsMu.Lock()
	subs := make([]*redissub.Subscriber, 0, len(a.subs))
	for _, s := range a.subs {
		subs = append(subs, s)
	}
	a.subsMu.Unlock()
	for _, s := range subs {
		s.Close()
	}

	a.reqs.Close()
	return a.mem.Close()
}

// --- local room index ---

// roomBatch bounds the rooms handled per hold of roomsMu, which every socket
// of the namespace needs to join or leave: one socket joining thousands of
// rooms lets the others in between.
const roomBatch = 256

// AddAll implements adapter.Adapter.
func (a *Adapter) AddAll(s adapter.Socket, rooms ...adapter.Room) {
	if !a.dynamic() {
		a.mem.AddAll(s, rooms...)
		return
	}
	for first := true; first || len(rooms) > 0; first = false {
		n := min(len(rooms), roomBatch)
		a.addDynamic(s, rooms[:n])
		rooms = rooms[n:]
	}
}

// addDynamic joins rooms and subscribes to the channels of the new ones.
func (a *Adapter) addDynamic(s adapter.Socket, rooms []adapter.Room) {
	a.roomsMu.Lock()
	defer a.roomsMu.Unlock()
	a.mem.AddAll(s, rooms...)
	id := s.ID()
	var add []string
	for _, r := range rooms {
		private := r == id
		if a.roomSubs[r] || (private && a.opts.SubscriptionMode != DynamicPrivate) {
			continue
		}
		a.roomSubs[r] = true
		add = append(add, a.channel+r+"#")
	}
	if len(add) > 0 {
		a.subsMu.Lock()
		a.subscribeLocked(add...)
		a.subsMu.Unlock()
	}
}

// Del implements adapter.Adapter.
func (a *Adapter) Del(id adapter.SocketID, room adapter.Room) {
	if !a.dynamic() {
		a.mem.Del(id, room)
		return
	}
	a.roomsMu.Lock()
	defer a.roomsMu.Unlock()
	a.mem.Del(id, room)
	a.dropRoomChannelsLocked([]string{room})
}

// DelAll implements adapter.Adapter.
func (a *Adapter) DelAll(id adapter.SocketID) {
	if !a.dynamic() {
		a.mem.DelAll(id)
		return
	}
	rooms := a.mem.SocketRooms(id)
	a.mem.DelAll(id)
	for len(rooms) > 0 {
		n := min(len(rooms), roomBatch)
		a.roomsMu.Lock()
		a.dropRoomChannelsLocked(rooms[:n])
		a.roomsMu.Unlock()
		rooms = rooms[n:]
	}
}

// dropRoomChannelsLocked unsubscribes from the channels of rooms left empty.
func (a *Adapter) dropRoomChannelsLocked(rooms []string) {
	var del []string
	for _, r := range rooms {
		if a.roomSubs[r] && !a.mem.HasRoom(r) {
			delete(a.roomSubs, r)
			del = append(del, a.channel+r+"#")
		}
	}
	if len(del) > 0 {
		a.subsMu.Lock()
		a.unsubscribeLocked(del...)
		a.subsMu.Unlock()
	}
}

func (a *Adapter) dynamic() bool { return a.sharded && a.opts.SubscriptionMode != Static }

// SocketRooms implements adapter.Adapter.
func (a *Adapter) SocketRooms(id adapter.SocketID) []adapter.Room { return a.mem.SocketRooms(id) }

// Rooms implements adapter.Adapter: the rooms of this server.
func (a *Adapter) Rooms() []adapter.Room { return a.mem.Rooms() }

// ServerCount implements adapter.Adapter: the number of servers subscribed
// to the namespace (PUBSUB NUMSUB of the request channel, or SHARDNUMSUB of
// the namespace channel), this one included.
func (a *Adapter) ServerCount(ctx context.Context) (int, error) {
	n, err := a.serverCount(ctx)
	if err != nil {
		return 0, fmt.Errorf("redisadapter: server count: %w", err)
	}
	return n, nil
}

func (a *Adapter) serverCount(ctx context.Context) (int, error) {
	if !a.Healthy() || a.out.Down() {
		return 0, ErrUnavailable
	}
	n, err := a.countServers(ctx)
	if err == nil {
		a.gate.Note(int64(n))
	}
	return n, err
}

// countServers asks Redis for the number of servers of the namespace.
func (a *Adapter) countServers(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, a.opts.RequestsTimeout)
	defer cancel()
	count := func(ctx context.Context, c redis.UniversalClient) (int64, error) {
		m, err := a.countCmd(ctx, c).Result()
		return m[a.countKey()], err
	}
	if cc, ok := a.client.(*redis.ClusterClient); ok {
		var mu sync.Mutex
		var total int64
		err := cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			n, err := count(ctx, node)
			mu.Lock()
			total += n
			mu.Unlock()
			return err
		})
		return int(total), err
	}
	n, err := count(ctx, a.client)
	return int(n), err
}

// --- operations ---

// Broadcast implements adapter.Adapter: local sockets get the packet first;
// an error means the other servers were not reached.
func (a *Adapter) Broadcast(p *sioparser.Packet, opts *adapter.BroadcastOptions) error {
	a.mem.BroadcastLocal(p, opts)
	if opts.Flags.Local {
		return nil
	}
	channel, payload, err := a.encodeBroadcast(p, opts, "")
	if err != nil {
		return fmt.Errorf("redisadapter: broadcast: %w", err)
	}
	return a.push("broadcast", channel, payload)
}

// BroadcastWithAck implements adapter.Adapter. The other servers report
// their client counts and forward acknowledgements (first argument only)
// until the broadcast's Timeout, or RequestsTimeout without one.
func (a *Adapter) BroadcastWithAck(p *sioparser.Packet, opts *adapter.BroadcastOptions, clientCount func(int), ack func(adapter.AckResponse)) error {
	if opts.Flags.Local {
		return a.mem.BroadcastWithAck(p, opts, clientCount, ack)
	}
	requestID := a.newRequestID()
	channel, payload, err := a.encodeBroadcast(p, opts, requestID)
	if err != nil {
		return fmt.Errorf("redisadapter: broadcast: %w", err)
	}
	if !a.Healthy() || a.out.Down() {
		_ = a.mem.BroadcastWithAck(p, opts, clientCount, ack)
		return fmt.Errorf("redisadapter: broadcast with acknowledgements: %w", ErrUnavailable)
	}
	keep := opts.Flags.Timeout
	if keep <= 0 {
		keep = a.opts.RequestsTimeout
	}
	if err := a.reqs.AddAck(requestID, keep, clientCount, ack); err != nil {
		return err
	}

	clientCount(a.mem.BroadcastWithAckLocal(p, opts, ack))
	if err := a.out.Push(pubMsg{channel: channel, payload: payload}, len(payload), true); err != nil {
		a.reqs.DropAck(requestID)
		if errors.Is(err, outbox.ErrDown) {
			err = ErrUnavailable
		}
		return publishError("broadcast with acknowledgements", err)
	}
	return nil
}

// AddSockets implements adapter.Adapter: local sockets join at once, the
// other servers' when they get the message.
func (a *Adapter) AddSockets(opts *adapter.BroadcastOptions, rooms []adapter.Room) error {
	_ = a.mem.AddSockets(opts, rooms)
	if opts.Flags.Local {
		return nil
	}
	channel, payload := a.encodeRoomsOp(opts, rooms, true)
	return a.push("socketsJoin", channel, payload)
}

// DelSockets implements adapter.Adapter.
func (a *Adapter) DelSockets(opts *adapter.BroadcastOptions, rooms []adapter.Room) error {
	_ = a.mem.DelSockets(opts, rooms)
	if opts.Flags.Local {
		return nil
	}
	channel, payload := a.encodeRoomsOp(opts, rooms, false)
	return a.push("socketsLeave", channel, payload)
}

// DisconnectSockets implements adapter.Adapter.
func (a *Adapter) DisconnectSockets(opts *adapter.BroadcastOptions, close bool) error {
	_ = a.mem.DisconnectSockets(opts, close)
	if opts.Flags.Local {
		return nil
	}
	channel, payload := a.encodeDisconnect(opts, close)
	return a.push("disconnectSockets", channel, payload)
}

// FetchSockets implements adapter.Adapter. Sockets of other servers come
// with their handshake, rooms and data as those servers sent them (data
// decoded into generic values: map[string]any, []any, string, float64,
// bool, nil, []byte). It fails when Redis cannot be reached or a server
// does not answer in time, returning the sockets found so far with the
// error.
func (a *Adapter) FetchSockets(ctx context.Context, opts *adapter.BroadcastOptions) ([]adapter.SocketInfo, error) {
	local, _ := a.mem.FetchSockets(ctx, opts)
	if opts.Flags.Local {
		return local, nil
	}
	r, err := a.ask(ctx, "fetchSockets", reqFetch, func(id string) (string, []byte, error) {
		ch, p := a.encodeFetch(opts, id)
		return ch, p, nil
	})
	if r == nil {
		return local, err
	}
	return append(local, r.Sockets...), err
}

// SocketIDs implements adapter.Adapter: the ids of the sockets in any of
// rooms across the cluster (Node's 8.x adapter answers with the local ones
// only).
func (a *Adapter) SocketIDs(ctx context.Context, rooms []adapter.Room) ([]adapter.SocketID, error) {
	ids, _ := a.mem.SocketIDs(ctx, rooms)
	if a.sharded {
		r, err := a.ask(ctx, "socketIDs", reqFetch, func(id string) (string, []byte, error) {
			ch, p := a.encodeFetch(&adapter.BroadcastOptions{Rooms: rooms}, id)
			return ch, p, nil
		})
		if r != nil {
			for _, s := range r.Sockets {
				ids = append(ids, s.ID)
			}
		}
		return ids, err
	}
	r, err := a.ask(ctx, "socketIDs", reqSockets, func(id string) (string, []byte, error) {
		return a.requestChannel, a.classicSocketsRequest(id, rooms), nil
	})
	if r != nil {
		ids = append(ids, r.IDs...)
	}
	return ids, err
}

// AllRooms returns the rooms of the namespace on every server, socket-id
// rooms included, as Node's adapter.allRooms() (classic adapter). With the
// sharded adapter, which has no such request in Node, it asks for the
// sockets and collects their rooms: Node servers answer that too.
func (a *Adapter) AllRooms(ctx context.Context) ([]string, error) {
	set := make(map[string]struct{})
	for _, r := range a.mem.Rooms() {
		set[r] = struct{}{}
	}
	var r *clusterreq.Request
	var err error
	if a.sharded {
		r, err = a.ask(ctx, "allRooms", reqFetch, func(id string) (string, []byte, error) {
			ch, p := a.encodeFetch(&adapter.BroadcastOptions{}, id)
			return ch, p, nil
		})
		if r != nil {
			for _, s := range r.Sockets {
				for _, room := range s.Rooms {
					set[room] = struct{}{}
				}
			}
		}
	} else {
		r, err = a.ask(ctx, "allRooms", reqAllRooms, func(id string) (string, []byte, error) {
			return a.requestChannel, a.classicAllRoomsRequest(id), nil
		})
		if r != nil {
			for room := range r.Rooms {
				set[room] = struct{}{}
			}
		}
	}
	out := make([]string, 0, len(set))
	for room := range set {
		out = append(out, room)
	}
	slices.Sort(out)
	return out, err
}

// ServerSideEmit implements adapter.Adapter.
func (a *Adapter) ServerSideEmit(data []byte, attachments [][]byte) error {
	channel, payload, err := a.encodeServerSideEmit(data, attachments, "")
	if err != nil {
		return fmt.Errorf("redisadapter: serverSideEmit: %w", err)
	}
	return a.push("serverSideEmit", channel, payload)
}

// ServerSideEmitWithAck implements adapter.Adapter: one answer (the first
// argument of the handler's acknowledgement) per other server, until
// RequestsTimeout or ctx is done; on timeout the answers so far come with
// an error wrapping adapter.ErrTimeout.
func (a *Adapter) ServerSideEmitWithAck(ctx context.Context, data []byte, attachments [][]byte) ([]adapter.AckResponse, error) {
	r, err := a.ask(ctx, "serverSideEmit", reqServerSideEmit, func(id string) (string, []byte, error) {
		return a.encodeServerSideEmit(data, attachments, id)
	})
	if r == nil {
		return nil, err
	}
	return r.Responses, err
}

// PersistSession implements adapter.Adapter. Connection state recovery is
// not supported by the Redis adapters (nor by Node's): nothing is kept.
func (a *Adapter) PersistSession(*adapter.Session) {}

// RestoreSession implements adapter.Adapter: no session can be restored.
func (a *Adapter) RestoreSession(string, string) (*adapter.Session, error) { return nil, nil }

// ask publishes a request to the other servers and waits for their answers:
// as many as there are other servers subscribed (counted before
// publishing, as Node does). It returns the request with what arrived, or
// nil when there was nothing to wait for or the request could not be sent.
func (a *Adapter) ask(ctx context.Context, op string, kind int, encode func(requestID string) (string, []byte, error)) (*clusterreq.Request, error) {
	servers, err := a.serverCount(ctx)
	if err != nil {
		return nil, fmt.Errorf("redisadapter: %s: counting servers: %w", op, err)
	}
	if servers <= 1 {
		return nil, nil
	}
	id := a.newRequestID()
	channel, payload, err := encode(id)
	if err != nil {
		return nil, fmt.Errorf("redisadapter: %s: %w", op, err)
	}
	r, err := a.reqs.Add(id, kind, servers-1)
	if err != nil {
		return nil, err
	}
	if err := a.publishWait(ctx, channel, payload); err != nil {
		a.reqs.Forget(id)
		return nil, publishError(op, err)
	}
	return r, a.reqs.Wait(ctx, id, r, a.opts.RequestsTimeout, op)
}

func (a *Adapter) newRequestID() string {
	if a.sharded {
		return randomHex(8)
	}
	return randomID(6)
}

// --- receiving: parts shared by both protocols ---

// deliver broadcasts a packet from another server to the local sockets.
func (a *Adapter) deliver(data []byte, atts [][]byte, opts *adapter.BroadcastOptions) {
	if len(data) == 0 || data[0] != '[' {
		return
	}
	p := &sioparser.Packet{Type: sioparser.Event, Namespace: a.name, Data: data, Attachments: atts}
	a.mem.BroadcastLocal(p, opts)
}

// broadcastWithAckLocal broadcasts a packet from another server asking for
// acknowledgements, and reports to it.
func (a *Adapter) broadcastWithAckLocal(data []byte, atts [][]byte, opts *adapter.BroadcastOptions, count func(int), ack func(adapter.AckResponse)) {
	if len(data) == 0 || data[0] != '[' {
		count(0)
		return
	}
	p := &sioparser.Packet{Type: sioparser.Event, Namespace: a.name, Data: data, Attachments: atts}
	count(a.mem.BroadcastWithAckLocal(p, opts, ack))
}

// serverSideEmitLocal hands a server-side event to the namespace; reply,
// when not nil, gets the first argument of the first acknowledgement.
func (a *Adapter) serverSideEmitLocal(data []byte, atts [][]byte, reply func(value []byte, atts [][]byte)) {
	if len(data) == 0 || data[0] != '[' {
		return
	}
	var ack func(adapter.AckResponse)
	if reply != nil {
		var once sync.Once
		ack = func(r adapter.AckResponse) {
			once.Do(func() {
				v, vatts := wire.FirstArg(r)
				reply(v, vatts)
			})
		}
	}
	a.nsp.OnServerSideEmit(data, atts, ack)
}

// --- helpers ---

// randomID returns n characters of [A-Za-z0-9_-], the alphabet of uid2.
func randomID(n int) string {
	b := make([]byte, (n*6+7)/8)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// randomHex returns 2n hexadecimal digits, as Node's randomBytes(n).toString("hex").
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// escapeGlob escapes the characters PSUBSCRIBE patterns give a meaning to.
func escapeGlob(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

var _ adapter.Adapter = (*Adapter)(nil)

// writeSocketInfo writes a local socket as a FetchSockets answer.
func (a *Adapter) writeSocketInfo(w *wire.Writer, info adapter.SocketInfo) {
	if err := wire.WriteSocketInfo(w, info); err != nil {
		a.log.Warn("redisadapter: socket data cannot be encoded for other servers", "namespace", a.name, "sid", info.ID, "err", err)
	}
}
