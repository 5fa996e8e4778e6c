package clusteradapter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/internal/clusterreq"
	"github.com/socketio-go/socketio/internal/outbox"
	"github.com/socketio-go/socketio/redisadapter/wire"
	"github.com/socketio-go/socketio/sioparser"
)

// ResumeWait bounds the wait for the other servers to listen again after
// an outage: the backlog goes out once each server known before it was
// heard from again, or this long after this server listens again.
const ResumeWait = 3 * time.Second

// sweepEvery is how often servers whose heartbeats stopped are forgotten
// (Node checks every second).
const sweepEvery = time.Second

// Out is a message for the other servers.
type Out struct {
	Type int
	// JSON is the whole message, {type, data?, uid, nsp}, with
	// placeholders indexing Atts.
	JSON []byte
	Atts [][]byte
	// To is the server a response is for ("" for every server): a broker
	// may route it there only.
	To string
	// Seq numbers the messages of this adapter that go through the outbox
	// (from 1): with the uid, an id a broker can deduplicate retries by.
	Seq uint64
	// local, for a broadcast under connection state recovery, delivers
	// it to the local sockets with the offset the broker gave it.
	local func(offset string)
	done  chan error // requests: gets the outcome (1-buffered)
}

// Size is what the message counts for in the outbox.
func (m *Out) Size() int {
	n := len(m.JSON) + 64
	for _, a := range m.Atts {
		n += len(a)
	}
	return n
}

// Sent completes a message the broker took (err == nil) or refused for a
// reason of its own (it is not retried): offset is its position in a
// stream, "" when the broker has none.
func (m *Out) Sent(offset string, err error) {
	if m.local != nil {
		m.local(offset)
	}
	if m.done != nil {
		m.done <- err
	}
}

// Broker is how a Core reaches the other servers of its namespace.
type Broker interface {
	// Send publishes batch in order and completes each message it handled
	// (Out.Sent). It returns how many of the first messages it handled,
	// and the error that stopped it: the broker could not be reached (see
	// outbox.Config.Send). It is called by the outbox's flusher, and for
	// heartbeats on other goroutines: it must be safe for concurrent use.
	Send(ctx context.Context, batch []Out) (int, error)
}

// Config configures a Core.
type Config struct {
	Namespace adapter.Namespace
	Broker    Broker
	// Prefix starts log messages and errors: the adapter's package.
	Prefix string
	// HeartbeatInterval and HeartbeatTimeout: Node's heartbeatInterval
	// (5 s) and heartbeatTimeout (10 s).
	HeartbeatInterval, HeartbeatTimeout time.Duration
	// RequestsTimeout bounds requests without a timeout of their own
	// (5 s, Node's).
	RequestsTimeout time.Duration
	Outbox          adapter.OutboxOptions
	Logger          *slog.Logger
	// The adapter's errors: ErrPublish wraps what was not published,
	// ErrUnavailable fails requests during an outage, ErrClosed follows
	// Close.
	ErrPublish, ErrUnavailable, ErrClosed error
	// Offsets: the broker gives each message an offset (Send passes it to
	// Out.Sent, received messages come with theirs), which broadcasts
	// carry for connection state recovery when it is on.
	Offsets bool
}

// Core is socket.io-adapter's ClusterAdapterWithHeartbeat over a Broker:
// the adapter of one namespace, minus Init and Close, which the broker's
// package adds (it starts listening, calls SetListening and Receive, and
// Stop). Its methods are safe for concurrent use.
type Core struct {
	Receiver
	cfg      Config
	uid      string
	out      *outbox.Queue[Out]
	recovery time.Duration // connection state recovery on (with Offsets)

	seq        atomic.Uint64 // of the last message queued
	listening  atomic.Bool
	everListen atomic.Bool
	wg         sync.WaitGroup // heartbeats sent outside the outbox

	mu          sync.Mutex
	nodes       map[string]time.Time // guarded by mu; other servers by uid: last heard
	listenSince time.Time            // guarded by mu
	outageAt    time.Time            // guarded by mu; the outbox found the broker down
	outageKnown int                  // guarded by mu; servers known then
	resync      bool                 // guarded by mu; listening was lost: publish after ready
	beat        *time.Timer          // guarded by mu; the next heartbeat
	sweep       *time.Timer          // guarded by mu
	stopped     bool                 // guarded by mu
}

// New returns the core of one namespace's adapter.
func New(cfg Config) *Core {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	name := cfg.Namespace.Name()
	c := &Core{cfg: cfg, uid: RandomHex(8), nodes: make(map[string]time.Time)}
	c.Receiver = Receiver{
		Nsp:    cfg.Namespace,
		Name:   name,
		Mem:    adapter.NewMemory(cfg.Namespace, nil),
		Reqs:   clusterreq.New(cfg.Prefix, cfg.ErrClosed),
		Log:    cfg.Logger,
		Prefix: cfg.Prefix,
		Respond: func(requester string, typ int, data func(w *wire.Writer)) {
			c.respond(requester, typ, data)
		},
	}
	if r, ok := cfg.Namespace.(adapter.RecoveryAware); ok && cfg.Offsets {
		c.recovery = r.RecoveryDuration()
		c.Offset = c.withOffset
	}
	c.out = outbox.New(outbox.Config[Out]{
		Limits:      cfg.Outbox,
		Logger:      cfg.Logger,
		LogPrefix:   cfg.Prefix,
		Namespace:   name,
		SendTimeout: cfg.RequestsTimeout,
		Send:        c.send,
		Ready:       c.ready,
		Drop: func(m Out, reason error) {
			if m.local != nil {
				m.local("") // the local sockets get it all the same
			}
			if m.done != nil {
				if errors.Is(reason, outbox.ErrDown) {
					reason = cfg.ErrUnavailable
				}
				m.done <- reason
			}
		},
	})
	return c
}

// RandomHex returns 2n hexadecimal digits, as Node's
// randomBytes(n).toString("hex") (uids and request ids).
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// UID returns the server's id in the cluster for this namespace.
func (c *Core) UID() string { return c.uid }

// RecoveryDuration is how long sessions are kept for connection state
// recovery across servers, 0 when it is off (or the broker has no
// offsets).
func (c *Core) RecoveryDuration() time.Duration { return c.recovery }

// Start arms the heartbeat and the sweep of silent servers; the broker's
// package calls it from Init.
func (c *Core) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped || c.sweep != nil {
		return
	}
	c.beat = time.AfterFunc(c.cfg.HeartbeatInterval, c.heartbeat)
	c.sweep = time.AfterFunc(sweepEvery, c.sweepNodes)
}

// SetListening tells whether this server receives the namespace's
// messages. When it starts listening (again) it announces itself
// (INITIAL_HEARTBEAT), so that the others answer with a heartbeat: Node
// announces once, whether it listens yet or not.
func (c *Core) SetListening(on bool) {
	if c.listening.Swap(on) == on {
		return
	}
	if !on {
		// What is published until the others listen again may be lost
		// for them: the outbox holds it (see send and ready).
		c.mu.Lock()
		c.resync = true
		if c.outageAt.IsZero() {
			c.outageAt, c.outageKnown = time.Now(), len(c.nodes)
		}
		c.mu.Unlock()
		return
	}
	c.mu.Lock()
	c.listenSince = time.Now()
	c.mu.Unlock()
	if c.everListen.Swap(true) {
		c.cfg.Logger.Info(c.cfg.Prefix+": listening again", "namespace", c.Name)
	}
	c.sendAsync(MsgInitialHeartbeat)
}

// Listening reports whether this server receives the namespace's messages.
func (c *Core) Listening() bool { return c.listening.Load() }

// Healthy reports whether the server listens and can publish.
func (c *Core) Healthy() bool { return c.listening.Load() && !c.out.Down() }

// Stop closes the adapter: it says goodbye (ADAPTER_CLOSE), gives what
// waits in the outbox RequestsTimeout to go out, and fails the requests
// still waiting. The broker's package stops listening after it.
func (c *Core) Stop() {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	c.stopped = true
	if c.beat != nil {
		c.beat.Stop()
		c.sweep.Stop()
	}
	c.mu.Unlock()
	if c.listening.Load() {
		c.push("close", c.message(MsgAdapterClose, nil), false)
	}
	c.out.Close(c.cfg.RequestsTimeout)
	c.wg.Wait()
	c.Reqs.Close()
	_ = c.Mem.Close()
}

// --- heartbeats and the servers they make known ---

// message builds a message of this server; data nil leaves data out (the
// heartbeat types).
func (c *Core) message(typ int, data func(w *wire.Writer)) Out {
	w := new(wire.Writer)
	w.BeginObject()
	w.Key("type")
	w.Int(int64(typ))
	if data != nil {
		w.Key("data")
		w.BeginObject()
		data(w)
		w.EndObject()
	}
	w.Key("uid")
	w.String(c.uid)
	w.Key("nsp")
	w.String(c.Name)
	w.EndObject()
	js, atts, err := w.JSON()
	if err != nil {
		c.cfg.Logger.Error(c.cfg.Prefix+": cannot encode a message", "namespace", c.Name, "type", typ, "err", err)
	}
	return Out{Type: typ, JSON: js, Atts: atts}
}

// sendAsync sends a heartbeat outside the outbox (it must not wait behind
// a backlog, which may be waiting for it), while this server listens:
// others take a heartbeat as proof that it does.
func (c *Core) sendAsync(typ int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.sendNow(typ)
	}()
}

func (c *Core) sendNow(typ int) {
	if !c.listening.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.RequestsTimeout)
	defer cancel()
	if _, err := c.cfg.Broker.Send(ctx, []Out{c.message(typ, nil)}); err != nil {
		c.cfg.Logger.Debug(c.cfg.Prefix+": heartbeat not sent", "namespace", c.Name, "err", err)
	}
}

// heartbeat runs heartbeatInterval after the last message published.
func (c *Core) heartbeat() {
	c.sendNow(MsgHeartbeat)
	c.rearm()
}

// rearm puts the next heartbeat heartbeatInterval from now.
func (c *Core) rearm() {
	c.mu.Lock()
	if !c.stopped && c.beat != nil {
		c.beat.Reset(c.cfg.HeartbeatInterval)
	}
	c.mu.Unlock()
}

// sweepNodes forgets the servers silent for heartbeatTimeout.
func (c *Core) sweepNodes() {
	now := time.Now()
	var gone []string
	c.mu.Lock()
	for uid, at := range c.nodes {
		if now.Sub(at) > c.cfg.HeartbeatTimeout {
			delete(c.nodes, uid)
			gone = append(gone, uid)
		}
	}
	if !c.stopped {
		c.sweep.Reset(sweepEvery)
	}
	c.mu.Unlock()
	for _, uid := range gone {
		c.cfg.Logger.Info(c.cfg.Prefix+": server gone silent", "namespace", c.Name, "uid", uid)
		c.Reqs.Gone(uid)
	}
}

// nodeUIDs returns the other servers known now.
func (c *Core) nodeUIDs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.nodes))
	for uid := range c.nodes {
		out = append(out, uid)
	}
	return out
}

// ready is the outbox's check after a failure: publish again once this
// server listens and has heard from as many servers as it knew when the
// outage was found (they listen again: they announce themselves when they
// do), or ResumeWait after it listens, if some did not come back.
func (c *Core) ready(context.Context) bool {
	if !c.listening.Load() {
		return false
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.outageAt.IsZero() {
		c.outageAt, c.outageKnown = now, len(c.nodes)
	}
	heard := 0
	for _, at := range c.nodes {
		if at.After(c.outageAt) {
			heard++
		}
	}
	since := c.listenSince
	if since.Before(c.outageAt) {
		since = c.outageAt
	}
	if heard >= c.outageKnown || now.Sub(since) >= ResumeWait {
		c.outageAt, c.resync = time.Time{}, false
		return true
	}
	return false
}

// --- receiving ---

// Receive handles a message received by the broker's package (JSON with
// placeholders for atts). A message without nsp (Node's emitters send
// none) is for this namespace: the broker's package routes by channel.
// offset is its position in a stream, "" when none.
func (c *Core) Receive(js []byte, atts [][]byte, offset string) {
	env, d, ok := Decode(js)
	if !ok || env.UID == c.uid || env.Nsp != "" && env.Nsp != c.Name {
		return
	}
	if env.UID != wire.EmitterUID && env.UID != "" {
		c.mu.Lock()
		_, known := c.nodes[env.UID]
		if env.Type != MsgAdapterClose {
			c.nodes[env.UID] = time.Now()
		}
		c.mu.Unlock()
		if !known && env.Type != MsgAdapterClose {
			c.cfg.Logger.Debug(c.cfg.Prefix+": new server", "namespace", c.Name, "uid", env.UID)
		}
	}
	switch env.Type {
	case MsgInitialHeartbeat:
		c.sendAsync(MsgHeartbeat)
	case MsgHeartbeat:
	case MsgAdapterClose:
		c.mu.Lock()
		delete(c.nodes, env.UID)
		c.mu.Unlock()
		c.Reqs.Gone(env.UID)
	default:
		c.Handle(env.Type, env.UID, &d, atts, offset)
	}
}

// --- publishing ---

// errNotListening holds the outbox while this server does not listen, and
// after it lost its listening connection until the others listen again
// (ready): a broker restart between two publishes is seen only by the
// listening connections, and what is published meanwhile is lost for the
// servers not listening yet.
var errNotListening = errors.New("not listening")

func (c *Core) send(ctx context.Context, batch []Out) (int, error) {
	c.mu.Lock()
	resync := c.resync
	c.mu.Unlock()
	if resync || !c.listening.Load() {
		return 0, errNotListening
	}
	n, err := c.cfg.Broker.Send(ctx, batch)
	if n > 0 {
		c.rearm()
	}
	return n, err
}

// push queues a message; op names the operation in errors.
func (c *Core) push(op string, m Out, failFast bool) error {
	m.Seq = c.seq.Add(1)
	if err := c.out.Push(m, m.Size(), failFast); err != nil {
		if m.local != nil {
			m.local("")
		}
		return c.pushError(op, err)
	}
	return nil
}

func (c *Core) pushError(op string, err error) error {
	switch {
	case errors.Is(err, outbox.ErrClosed):
		return c.cfg.ErrClosed
	case errors.Is(err, outbox.ErrDown):
		err = c.cfg.ErrUnavailable
	}
	return fmt.Errorf("%s: %s: %w: %w", c.cfg.Prefix, op, c.cfg.ErrPublish, err)
}

// Enqueue queues a message of the broker's own (a stored session, ...)
// behind those before it, as fire-and-forget: op names the operation in
// errors. Its Type should be negative (no ClusterAdapter type).
func (c *Core) Enqueue(op string, m Out) error { return c.push(op, m, false) }

// respond publishes a response for requester; during an outage it is
// dropped (the requester has given up).
func (c *Core) respond(requester string, typ int, data func(w *wire.Writer)) {
	m := c.message(typ, data)
	m.To, m.Seq = requester, c.seq.Add(1)
	if err := c.out.Push(m, m.Size(), true); err != nil && !errors.Is(err, outbox.ErrClosed) {
		c.cfg.Logger.Warn(c.cfg.Prefix+": cannot publish a response", "namespace", c.Name, "type", typ, "err", err)
	}
}

// publishWait queues a request and waits until it is published; it fails
// at once while the broker is known to be down.
func (c *Core) publishWait(ctx context.Context, m Out) error {
	m.done, m.Seq = make(chan error, 1), c.seq.Add(1)
	if err := c.out.Push(m, m.Size(), true); err != nil {
		switch {
		case errors.Is(err, outbox.ErrDown):
			return c.cfg.ErrUnavailable
		case errors.Is(err, outbox.ErrClosed):
			return c.cfg.ErrClosed
		}
		return err
	}
	select {
	case err := <-m.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// OutboxStats implements adapter.OutboxReporter.
func (c *Core) OutboxStats() adapter.OutboxStats { return c.out.Stats() }

// Pending returns the numbers of requests and of broadcasts with
// acknowledgements waiting for answers.
func (c *Core) Pending() (requests, acks int) { return c.Reqs.Pending() }

// --- operations (adapter.Adapter) ---

// AddAll implements adapter.Adapter.
func (c *Core) AddAll(s adapter.Socket, rooms ...adapter.Room) { c.Mem.AddAll(s, rooms...) }

// Del implements adapter.Adapter.
func (c *Core) Del(id adapter.SocketID, room adapter.Room) { c.Mem.Del(id, room) }

// DelAll implements adapter.Adapter.
func (c *Core) DelAll(id adapter.SocketID) { c.Mem.DelAll(id) }

// SocketRooms implements adapter.Adapter.
func (c *Core) SocketRooms(id adapter.SocketID) []adapter.Room { return c.Mem.SocketRooms(id) }

// Rooms implements adapter.Adapter: the rooms of this server.
func (c *Core) Rooms() []adapter.Room { return c.Mem.Rooms() }

// withOffset reports whether a broadcast carries its offset (Node's
// addOffsetIfNecessary).
func (c *Core) withOffset(p *sioparser.Packet, opts *adapter.BroadcastOptions) bool {
	return c.recovery > 0 && p.Type == sioparser.Event && !p.HasID && !opts.Flags.Volatile
}

// Broadcast implements adapter.Adapter: local sockets get the packet at
// once (with an offset, once the broker gave it one), the others when the
// outbox published it.
func (c *Core) Broadcast(p *sioparser.Packet, opts *adapter.BroadcastOptions) error {
	keep := c.recovery > 0 && opts.Flags.Direct
	if opts.Flags.Local && !keep {
		c.Mem.BroadcastLocal(p, opts)
		return nil
	}
	m := c.message(wire.MsgBroadcast, func(w *wire.Writer) { wire.WriteBroadcastData(w, p, c.recovery > 0, opts, "") })
	if m.JSON == nil {
		c.Mem.BroadcastLocal(p, opts)
		return fmt.Errorf("%s: broadcast: cannot encode", c.cfg.Prefix)
	}
	if c.withOffset(p, opts) {
		pkt, o := *p, *opts
		m.local = func(offset string) {
			q := pkt
			if offset != "" {
				q.Data = adapter.AppendOffset(pkt.Data, offset)
			}
			c.Mem.BroadcastLocal(&q, &o)
		}
	} else {
		c.Mem.BroadcastLocal(p, opts)
	}
	return c.push("broadcast", m, false)
}

// BroadcastWithAck implements adapter.Adapter: the other servers report
// their client counts and forward acknowledgements (first argument only)
// until the broadcast's Timeout, or RequestsTimeout without one. It fails
// at once with ErrUnavailable during an outage (the local part is done).
func (c *Core) BroadcastWithAck(p *sioparser.Packet, opts *adapter.BroadcastOptions, clientCount func(int), ack func(adapter.AckResponse)) error {
	if opts.Flags.Local {
		return c.Mem.BroadcastWithAck(p, opts, clientCount, ack)
	}
	if !c.Healthy() {
		_ = c.Mem.BroadcastWithAck(p, opts, clientCount, ack)
		return fmt.Errorf("%s: broadcast with acknowledgements: %w", c.cfg.Prefix, c.cfg.ErrUnavailable)
	}
	requestID := RandomHex(8)
	m := c.message(wire.MsgBroadcast, func(w *wire.Writer) { wire.WriteBroadcastData(w, p, false, opts, requestID) })
	keep := opts.Flags.Timeout
	if keep <= 0 {
		keep = c.cfg.RequestsTimeout
	}
	if err := c.Reqs.AddAck(requestID, keep, clientCount, ack); err != nil {
		return err
	}
	clientCount(c.Mem.BroadcastWithAckLocal(p, opts, ack))
	if err := c.push("broadcast with acknowledgements", m, true); err != nil {
		c.Reqs.DropAck(requestID)
		return err
	}
	return nil
}

// AddSockets implements adapter.Adapter: local sockets join at once, the
// other servers' when they get the message.
func (c *Core) AddSockets(opts *adapter.BroadcastOptions, rooms []adapter.Room) error {
	return c.roomsOp("socketsJoin", wire.MsgSocketsJoin, opts, rooms, c.Mem.AddSockets)
}

// DelSockets implements adapter.Adapter.
func (c *Core) DelSockets(opts *adapter.BroadcastOptions, rooms []adapter.Room) error {
	return c.roomsOp("socketsLeave", wire.MsgSocketsLeave, opts, rooms, c.Mem.DelSockets)
}

func (c *Core) roomsOp(op string, typ int, opts *adapter.BroadcastOptions, rooms []adapter.Room, local func(*adapter.BroadcastOptions, []adapter.Room) error) error {
	_ = local(opts, rooms)
	if opts.Flags.Local {
		return nil
	}
	return c.push(op, c.message(typ, func(w *wire.Writer) {
		w.Key("opts")
		wire.WriteBroadcastOptions(w, opts, true)
		w.Key("rooms")
		w.Strings(rooms)
	}), false)
}

// DisconnectSockets implements adapter.Adapter.
func (c *Core) DisconnectSockets(opts *adapter.BroadcastOptions, close bool) error {
	_ = c.Mem.DisconnectSockets(opts, close)
	if opts.Flags.Local {
		return nil
	}
	return c.push("disconnectSockets", c.message(wire.MsgDisconnectSockets, func(w *wire.Writer) {
		w.Key("opts")
		wire.WriteBroadcastOptions(w, opts, true)
		w.Key("close")
		w.Bool(close)
	}), false)
}

func (c *Core) serverSideEmitMessage(data []byte, atts [][]byte, requestID string) Out {
	return c.message(wire.MsgServerSideEmit, func(w *wire.Writer) {
		if requestID != "" {
			w.Key("requestId")
			w.String(requestID)
		}
		w.Key("packet")
		w.Raw(data, atts)
	})
}

// ServerSideEmit implements adapter.Adapter.
func (c *Core) ServerSideEmit(data []byte, attachments [][]byte) error {
	return c.push("serverSideEmit", c.serverSideEmitMessage(data, attachments, ""), false)
}

// ServerSideEmitWithAck implements adapter.Adapter: one answer (the first
// argument of the handler's acknowledgement) from each other server known,
// until RequestsTimeout or ctx is done.
func (c *Core) ServerSideEmitWithAck(ctx context.Context, data []byte, attachments [][]byte) ([]adapter.AckResponse, error) {
	r, err := c.ask(ctx, "serverSideEmit", wire.MsgServerSideEmit, c.cfg.RequestsTimeout, func(id string) Out {
		return c.serverSideEmitMessage(data, attachments, id)
	})
	if r == nil {
		return nil, err
	}
	return r.Responses, err
}

// FetchSockets implements adapter.Adapter. Sockets of other servers come
// with their handshake, rooms and data as those servers sent them (data as
// a json.RawMessage). It waits for Flags.Timeout, or RequestsTimeout.
func (c *Core) FetchSockets(ctx context.Context, opts *adapter.BroadcastOptions) ([]adapter.SocketInfo, error) {
	local, _ := c.Mem.FetchSockets(ctx, opts)
	if opts.Flags.Local {
		return local, nil
	}
	timeout := opts.Flags.Timeout
	if timeout <= 0 {
		timeout = c.cfg.RequestsTimeout
	}
	r, err := c.ask(ctx, "fetchSockets", wire.MsgFetchSockets, timeout, func(id string) Out {
		return c.message(wire.MsgFetchSockets, func(w *wire.Writer) {
			w.Key("opts")
			wire.WriteBroadcastOptions(w, opts, true)
			w.Key("requestId")
			w.String(id)
		})
	})
	if r == nil {
		return local, err
	}
	return append(local, r.Sockets...), err
}

// SocketIDs implements adapter.Adapter: the ids of the sockets in any of
// rooms across the cluster (from FetchSockets answers).
func (c *Core) SocketIDs(ctx context.Context, rooms []adapter.Room) ([]adapter.SocketID, error) {
	infos, err := c.FetchSockets(ctx, &adapter.BroadcastOptions{Rooms: rooms})
	ids := make([]adapter.SocketID, len(infos))
	for i, s := range infos {
		ids[i] = s.ID
	}
	return ids, err
}

// ServerCount implements adapter.Adapter: this server and those heard
// from within HeartbeatTimeout. It fails with ErrUnavailable while this
// server does not listen.
func (c *Core) ServerCount(context.Context) (int, error) {
	if !c.listening.Load() {
		return 0, fmt.Errorf("%s: server count: %w", c.cfg.Prefix, c.cfg.ErrUnavailable)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return 1 + len(c.nodes), nil
}

// ask publishes a request and waits for an answer from each other server
// known when it was sent (one that goes silent or closes is no longer
// waited for). It returns the request with what arrived, or nil when there
// was nothing to wait for or it could not be sent.
func (c *Core) ask(ctx context.Context, op string, kind int, timeout time.Duration, encode func(requestID string) Out) (*clusterreq.Request, error) {
	if !c.Healthy() {
		return nil, fmt.Errorf("%s: %s: %w", c.cfg.Prefix, op, c.cfg.ErrUnavailable)
	}
	uids := c.nodeUIDs()
	if len(uids) == 0 {
		return nil, nil
	}
	id := RandomHex(8)
	m := encode(id)
	r, err := c.Reqs.AddFrom(id, kind, uids)
	if err != nil {
		return nil, err
	}
	if err := c.publishWait(ctx, m); err != nil {
		c.Reqs.Forget(id)
		return nil, fmt.Errorf("%s: %s: %w: %w", c.cfg.Prefix, op, c.cfg.ErrPublish, err)
	}
	return r, c.Reqs.Wait(ctx, id, r, timeout, op)
}
