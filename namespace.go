package socketio

import (
	"context"
	"fmt"
	ev "github.com/socketio-go/socketio/internal/event"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/sioparser"
)

// Middleware runs for each socket connecting to a namespace, before its
// connection handlers. Returning an error refuses the connection: the client
// gets a connect_error with the error's text as message (and, for a
// *ConnectError or an error with a Data() method, its data).
type Middleware func(s *Socket) error

// Namespace is a communication channel multiplexed on the connections:
// sockets connect to namespaces, and each namespace has its own handlers,
// middlewares, rooms and adapter.
//
// All methods are safe for concurrent use; register middlewares and handlers
// before clients connect.
type Namespace struct {
	name    string
	srv     *Server
	adapter adapter.Adapter // nil for a parent namespace
	parent  *Namespace      // the dynamic namespace this one was created from
	ackIDs  atomic.Uint64

	// Parent (dynamic) namespaces only.
	match func(name string, auth map[string]any) bool
	re    *regexp.Regexp

	roomHooks atomic.Pointer[roomHooks]   // nil until a room listener is registered
	obs       atomic.Pointer[nsObservers] // nil without observers

	roomMu       sync.Mutex
	roomQueue    []adapter.RoomEvent // guarded by roomMu; recorded by the adapter, not delivered yet
	roomDraining bool                // guarded by roomMu; a goroutine delivers roomQueue

	mu             sync.RWMutex
	sockets        map[string]*Socket       // guarded by mu; connected sockets
	children       map[*Namespace]bool      // guarded by mu; parent namespaces only
	middlewares    []Middleware             // guarded by mu
	onConnection   []func(*Socket)          // guarded by mu
	serverHandlers map[string][]*ev.Handler // guarded by mu; events from ServerSideEmit
}

func newNamespace(s *Server, name string, parent *Namespace) *Namespace {
	n := &Namespace{
		name:    name,
		srv:     s,
		parent:  parent,
		sockets: make(map[string]*Socket),
	}
	n.adapter = s.opts.Adapter(n.forAdapter())
	return n
}

var parentCount atomic.Int64

func newParentNamespace(s *Server, match func(string, map[string]any) bool) *Namespace {
	return &Namespace{
		name:     "/_" + strconv.FormatInt(parentCount.Add(1)-1, 10),
		srv:      s,
		match:    match,
		sockets:  make(map[string]*Socket),
		children: make(map[*Namespace]bool),
	}
}

func (n *Namespace) isParent() bool { return n.match != nil }

func (n *Namespace) addChild(c *Namespace) {
	n.mu.Lock()
	n.children[c] = true
	n.mu.Unlock()
}

func (n *Namespace) childList() []*Namespace {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]*Namespace, 0, len(n.children))
	for c := range n.children {
		out = append(out, c)
	}
	return out
}

// Name returns the namespace name, such as "/" or "/chat".
func (n *Namespace) Name() string { return n.name }

// Server returns the server the namespace belongs to.
func (n *Namespace) Server() *Server { return n.srv }

// Adapter returns the namespace's adapter (nil for a dynamic parent).
func (n *Namespace) Adapter() adapter.Adapter { return n.adapter }

// Use registers a middleware.
func (n *Namespace) Use(mw Middleware) {
	n.mu.Lock()
	n.middlewares = append(n.middlewares, mw)
	n.mu.Unlock()
}

// OnConnection registers fn for each socket that connects. It runs on the
// connection's reading goroutine, before any event of the socket is
// handled, so that handlers registered in it see every event. It runs
// after the CONNECT packet has been written: a broadcast from another
// goroutine may reach a room just before fn joins the socket to it. And
// while fn runs, nothing more is read from the connection: an
// EmitWithAck that fn waits for cannot get its answer (wait in a
// goroutine).
func (n *Namespace) OnConnection(fn func(*Socket)) {
	n.mu.Lock()
	n.onConnection = append(n.onConnection, fn)
	n.mu.Unlock()
}

// On registers a handler of events sent by other servers of the cluster
// with ServerSideEmit (the handler model is the one of Socket.On; the
// acknowledgement callback is nil when the sender expects no answer). It
// panics if fn is not a function of that shape.
func (n *Namespace) On(event string, fn any) {
	h := mustHandler("Namespace.On", event, fn)
	n.mu.Lock()
	if n.serverHandlers == nil {
		n.serverHandlers = make(map[string][]*ev.Handler)
	}
	n.serverHandlers[event] = append(n.serverHandlers[event], h)
	n.mu.Unlock()
}

// Sockets returns the sockets connected to the namespace on this server.
func (n *Namespace) Sockets() []*Socket { return n.localSockets() }

// Socket returns the socket with the given id connected on this server, or
// nil.
func (n *Namespace) Socket(id string) *Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.sockets[id]
}

func (n *Namespace) localSockets() []*Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]*Socket, 0, len(n.sockets))
	for _, s := range n.sockets {
		out = append(out, s)
	}
	return out
}

// SocketIDs returns the ids of the sockets in any of rooms (every socket
// when none is given), across the cluster (Node's allSockets).
func (n *Namespace) SocketIDs(ctx context.Context, rooms ...string) ([]string, error) {
	if n.isParent() {
		return nil, ErrParentNamespace
	}
	return n.adapter.SocketIDs(ctx, rooms)
}

func (n *Namespace) operator() *BroadcastOperator { return &BroadcastOperator{nsp: n} }

// To selects the sockets in any of rooms.
func (n *Namespace) To(rooms ...string) *BroadcastOperator { return n.operator().To(rooms...) }

// In is To.
func (n *Namespace) In(rooms ...string) *BroadcastOperator { return n.operator().To(rooms...) }

// Except selects the sockets in none of rooms.
func (n *Namespace) Except(rooms ...string) *BroadcastOperator {
	return n.operator().Except(rooms...)
}

// Local restricts the next operation to this server.
func (n *Namespace) Local() *BroadcastOperator { return n.operator().Local() }

// Volatile lets the next emit be dropped for clients not ready to receive.
func (n *Namespace) Volatile() *BroadcastOperator { return n.operator().Volatile() }

// Compress sets whether the next emit uses WebSocket compression.
func (n *Namespace) Compress(compress bool) *BroadcastOperator {
	return n.operator().Compress(compress)
}

// Timeout sets how long a broadcast waits for acknowledgements.
func (n *Namespace) Timeout(d time.Duration) *BroadcastOperator { return n.operator().Timeout(d) }

// Emit sends an event to every socket of the namespace. A trailing
// func(error, []Args) argument asks for acknowledgements (set a Timeout).
func (n *Namespace) Emit(event string, args ...any) error { return n.operator().Emit(event, args...) }

// Send emits a "message" event to every socket of the namespace.
func (n *Namespace) Send(args ...any) error { return n.Emit("message", args...) }

// EmitWithAck sends an event to every socket and collects their
// acknowledgements until all arrived, the Timeout passed or ctx is done.
func (n *Namespace) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	return n.operator().EmitWithAck(ctx, event, args...)
}

// FetchSockets describes the sockets of the namespace, across the cluster.
func (n *Namespace) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return n.operator().FetchSockets(ctx)
}

// SocketsJoin makes every socket join rooms.
func (n *Namespace) SocketsJoin(rooms ...string) error { return n.operator().SocketsJoin(rooms...) }

// SocketsLeave makes every socket leave rooms.
func (n *Namespace) SocketsLeave(rooms ...string) error { return n.operator().SocketsLeave(rooms...) }

// DisconnectSockets disconnects every socket; with close their connections
// are closed too.
func (n *Namespace) DisconnectSockets(close bool) error {
	return n.operator().DisconnectSockets(close)
}

// ServerSideEmit sends an event to this namespace on the other servers of
// the cluster; their handlers registered with On receive it.
func (n *Namespace) ServerSideEmit(event string, args ...any) error {
	if n.isParent() {
		return ErrParentNamespace
	}
	if sioparser.IsReservedEvent(event) || event == "connection" || event == "new_namespace" {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	data, atts, err := ev.EncodeArgs(event, true, args)
	if err != nil {
		return err
	}
	return n.adapter.ServerSideEmit(data, atts)
}

// ServerSideEmitWithAck sends an event to the other servers and collects one
// answer from each, until all answered or ctx is done.
func (n *Namespace) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	if n.isParent() {
		return nil, ErrParentNamespace
	}
	if sioparser.IsReservedEvent(event) || event == "connection" || event == "new_namespace" {
		return nil, fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	data, atts, err := ev.EncodeArgs(event, true, args)
	if err != nil {
		return nil, err
	}
	resps, err := n.adapter.ServerSideEmitWithAck(ctx, data, atts)
	out := make([]Args, len(resps))
	for i, r := range resps {
		out[i] = Args(ev.NewArgs(r.Data, r.Attachments))
	}
	return out, err
}

// roomHooks are the room lifecycle listeners of a namespace; a new set
// replaces the old one on each registration.
type roomHooks struct {
	create, delete []func(room string)
	join, leave    []func(room, id string)
}

func (n *Namespace) addRoomHook(add func(h *roomHooks)) {
	n.mu.Lock() // serialises registrations
	defer n.mu.Unlock()
	h := new(roomHooks)
	if old := n.roomHooks.Load(); old != nil {
		*h = *old
		h.create, h.delete = slices.Clone(old.create), slices.Clone(old.delete)
		h.join, h.leave = slices.Clone(old.join), slices.Clone(old.leave)
	}
	add(h)
	n.roomHooks.Store(h)
}

// OnCreateRoom registers fn, called when a room of this server gets its
// first member (Node's adapter event "create-room"). Every socket is in the
// room named by its id, so a connecting socket creates one too.
//
// Room listeners run after the change, on the goroutine that made it (or
// one delivering earlier changes), one at a time and in the order of the
// changes; they may join and leave rooms themselves, but must not block.
// They see the rooms of this server only: the cluster adapters do not
// carry these events between servers (neither do Node's).
func (n *Namespace) OnCreateRoom(fn func(room string)) {
	n.addRoomHook(func(h *roomHooks) { h.create = append(h.create, fn) })
}

// OnDeleteRoom registers fn, called when a room of this server loses its
// last member ("delete-room"). See OnCreateRoom.
func (n *Namespace) OnDeleteRoom(fn func(room string)) {
	n.addRoomHook(func(h *roomHooks) { h.delete = append(h.delete, fn) })
}

// OnJoinRoom registers fn, called when a socket of this server joins a
// room ("join-room"), its own included. See OnCreateRoom.
func (n *Namespace) OnJoinRoom(fn func(room, id string)) {
	n.addRoomHook(func(h *roomHooks) { h.join = append(h.join, fn) })
}

// OnLeaveRoom registers fn, called when a socket of this server leaves a
// room ("leave-room"), its own included when it disconnects. See
// OnCreateRoom.
func (n *Namespace) OnLeaveRoom(fn func(room, id string)) {
	n.addRoomHook(func(h *roomHooks) { h.leave = append(h.leave, fn) })
}

// nextAckID returns a fresh acknowledgement id for a packet of the
// namespace.
func (n *Namespace) nextAckID() uint64 { return n.ackIDs.Add(1) - 1 }

// --- adapter.Namespace ---

// adapterNamespace is the namespace as its adapter sees it
// (adapter.Namespace): plumbing between the packages, kept out of the
// Namespace's API.
type adapterNamespace Namespace

func (n *Namespace) forAdapter() *adapterNamespace { return (*adapterNamespace)(n) }

func (a *adapterNamespace) Name() string { return a.name }

// Prepare encodes p once for any number of local sockets.
func (a *adapterNamespace) Prepare(p *sioparser.Packet) adapter.Prepared {
	p.Namespace = a.name
	return a.srv.prepare(p)
}

func (a *adapterNamespace) NextAckID() uint64 { return (*Namespace)(a).nextAckID() }

// RecoveryDuration implements adapter.RecoveryAware.
func (a *adapterNamespace) RecoveryDuration() time.Duration {
	if rec := a.srv.opts.ConnectionStateRecovery; rec != nil {
		return rec.MaxDisconnectionDuration
	}
	return 0
}

// RoomsWatched implements adapter.RoomWatcher.
func (a *adapterNamespace) RoomsWatched() bool { return a.roomHooks.Load() != nil }

// QueueRoomEvent implements adapter.RoomWatcher: the adapter's lock is
// held, so the event is only recorded, in order.
func (a *adapterNamespace) QueueRoomEvent(e adapter.RoomEvent) {
	a.roomMu.Lock()
	a.roomQueue = append(a.roomQueue, e)
	a.roomMu.Unlock()
}

// DeliverRoomEvents implements adapter.RoomWatcher: the recorded events go
// to the listeners, in order, by one goroutine at a time (a listener that
// joins a room adds events that the same loop delivers next).
func (a *adapterNamespace) DeliverRoomEvents() {
	n := (*Namespace)(a)
	a.roomMu.Lock()
	if a.roomDraining {
		a.roomMu.Unlock()
		return
	}
	a.roomDraining = true
	for len(a.roomQueue) > 0 {
		q := a.roomQueue
		a.roomQueue = nil
		a.roomMu.Unlock()
		h := a.roomHooks.Load()
		for _, e := range q {
			n.dispatchRoomEvent(h, e)
		}
		a.roomMu.Lock()
	}
	a.roomDraining = false
	a.roomMu.Unlock()
}

func (n *Namespace) dispatchRoomEvent(h *roomHooks, e adapter.RoomEvent) {
	call := func(fn func()) {
		_ = safeCall(n.srv, func() error { fn(); return nil }) // a panic is logged there
	}
	switch e.Kind {
	case adapter.CreateRoom:
		for _, fn := range h.create {
			call(func() { fn(e.Room) })
		}
	case adapter.DeleteRoom:
		for _, fn := range h.delete {
			call(func() { fn(e.Room) })
		}
	case adapter.JoinRoom:
		for _, fn := range h.join {
			call(func() { fn(e.Room, e.ID) })
		}
	case adapter.LeaveRoom:
		for _, fn := range h.leave {
			call(func() { fn(e.Room, e.ID) })
		}
	}
}

var _ adapter.RoomWatcher = (*adapterNamespace)(nil)

// OnServerSideEmit runs the handlers registered with Namespace.On.
func (a *adapterNamespace) OnServerSideEmit(data []byte, attachments [][]byte, ack func(adapter.AckResponse)) {
	n := (*Namespace)(a)
	event, args, err := ev.SplitEvent(data, attachments)
	if err != nil {
		return
	}
	n.mu.RLock()
	hs := n.serverHandlers[event]
	n.mu.RUnlock()
	var send ev.AckSender
	if ack != nil {
		send = func(vals ...any) {
			d, atts, err := ev.EncodeArgs("", false, vals)
			if err != nil {
				n.srv.log.Error("socketio: cannot encode server-side acknowledgement", "err", err)
				return
			}
			ack(adapter.AckResponse{Data: d, Attachments: atts})
		}
	}
	for _, h := range hs {
		once := ev.AckSender(send.Once()) // one answer per handler
		if err := safeCall(n.srv, func() error { return h.Call(args, once) }); err != nil {
			n.srv.log.Error("socketio: server-side event handler failed", "namespace", n.name, "event", event, "err", err)
		}
	}
}

// --- connection ---

// handlers returns the middlewares and connection handlers in force: the
// parent's first.
func (n *Namespace) handlers() ([]Middleware, []func(*Socket)) {
	n.mu.RLock()
	// Registration only appends, so the elements up to the current length
	// never change: without a parent the lists are handed out as they
	// are, capped so that nobody's append can reach the shared array (no
	// copy per connection).
	mws := n.middlewares[:len(n.middlewares):len(n.middlewares)]
	conns := n.onConnection[:len(n.onConnection):len(n.onConnection)]
	n.mu.RUnlock()
	if n.parent == nil {
		return mws, conns
	}
	pmws, pconns := n.parent.handlers()
	return append(pmws, mws...), append(pconns, conns...)
}

// add connects a client to the namespace: it builds the socket, runs the
// middlewares and, if they agree, announces the socket. It reports whether
// the socket connected.
func (n *Namespace) add(c *client, auth map[string]any) bool {
	s, restored := n.newSocket(c, auth)
	mws, conns := n.handlers()
	rec := n.srv.opts.ConnectionStateRecovery
	if !(s.recovered && rec != nil && !rec.RunMiddlewares) {
		for _, mw := range mws {
			var err error
			if perr := safeCall(n.srv, func() error { err = mw(s); return nil }); perr != nil {
				err = perr
			}
			if err != nil {
				s.cleanup()
				c.sendPacket(&sioparser.Packet{Type: sioparser.ConnectError, Namespace: n.name, Data: c.connectErrorData(err)}, false)
				if o := n.obs.Load(); o != nil {
					o.refused(err)
				}
				return false
			}
		}
	}
	if c.isClosed() {
		s.cleanup()
		return false
	}
	n.mu.Lock()
	n.sockets[s.id] = s
	n.mu.Unlock()
	s.onConnect(restored)
	c.addSocket(s)
	if o := n.obs.Load(); o != nil {
		o.connected(s)
	}
	for _, fn := range conns {
		if err := safeCall(n.srv, func() error { fn(s); return nil }); err != nil {
			n.srv.log.Error("socketio: connection handler failed", "namespace", n.name, "err", err)
		}
	}
	return true
}

// remove forgets a socket; a child namespace left empty may go away.
func (n *Namespace) remove(s *Socket) {
	n.mu.Lock()
	delete(n.sockets, s.id)
	empty := len(n.sockets) == 0
	n.mu.Unlock()
	if empty && n.parent != nil && n.srv.opts.CleanupEmptyChildNamespaces {
		n.parent.mu.Lock()
		delete(n.parent.children, n)
		n.parent.mu.Unlock()
		n.srv.removeNamespace(n)
		_ = n.adapter.Close()
	}
}

// prepared is a packet encoded once into Engine.IO messages.
type prepared struct {
	packet *sioparser.Packet
	text   *engineio.Message   // the first message (the only one with a parser other than the default)
	all    []*engineio.Message // text then attachments; nil without attachments
	err    error               // the packet could not be encoded: sends nothing

	plainOnce sync.Once
	plain     *prepared // the same never compressed (compress(false)), made once by uncompressed
}

// newPrepared encodes p with pr, or the default parser when pr is nil
// (see Server.prepare).
func newPrepared(p *sioparser.Packet, pr sioparser.Parser) (*prepared, error) {
	if pr != nil {
		m, err := encodeWith(pr, p)
		if err != nil {
			return nil, err
		}
		return &prepared{packet: p, text: m}, nil
	}
	buf := make([]byte, engineio.Headroom, engineio.Headroom+1+p.TextLen())
	buf = append(buf, '4')
	buf = p.AppendText(buf)
	pp := &prepared{packet: p, text: engineio.NewTextMessageInPlace(buf)}
	if len(p.Attachments) > 0 {
		pp.all = make([]*engineio.Message, 0, 1+len(p.Attachments))
		pp.all = append(pp.all, pp.text)
		for _, a := range p.Attachments {
			pp.all = append(pp.all, engineio.NewBinaryMessage(a))
		}
	}
	return pp, nil
}

// send queues the prepared packet on a connection (broadcasts: the
// connection's flusher batches what accumulates).
func (pp *prepared) send(conn *engineio.Conn, volatile bool) error {
	if pp.err != nil {
		return pp.err
	}
	if pp.all == nil {
		return conn.Send(volatile, pp.text)
	}
	return conn.Send(volatile, pp.all...)
}

// sendNow writes the prepared packet at once when the connection's writer
// is idle (replies and emits to one socket); volatile packets go through
// send, which may drop them.
func (pp *prepared) sendNow(conn *engineio.Conn, volatile bool) error {
	if volatile || pp.err != nil {
		return pp.send(conn, volatile)
	}
	if pp.all == nil {
		return conn.SendNow(pp.text)
	}
	return conn.SendNow(pp.all...)
}
