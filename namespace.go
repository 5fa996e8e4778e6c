package socketio

import (
	"context"
	"fmt"
	ev "github.com/socketio-go/socketio/internal/event"
	"regexp"
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
	n.adapter = s.opts.Adapter(n)
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
// handled, so that handlers registered in it see every event.
func (n *Namespace) OnConnection(fn func(*Socket)) {
	n.mu.Lock()
	n.onConnection = append(n.onConnection, fn)
	n.mu.Unlock()
}

// On registers a handler of events sent by other servers of the cluster
// with ServerSideEmit (the handler model is the one of Socket.On).
func (n *Namespace) On(event string, fn any) error {
	h, err := ev.NewHandler(fn, false)
	if err != nil {
		return err
	}
	n.mu.Lock()
	if n.serverHandlers == nil {
		n.serverHandlers = make(map[string][]*ev.Handler)
	}
	n.serverHandlers[event] = append(n.serverHandlers[event], h)
	n.mu.Unlock()
	return nil
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

// Timeout sets how long a broadcast waits for acknowledgements.
func (n *Namespace) Timeout(d time.Duration) *BroadcastOperator { return n.operator().Timeout(d) }

// Emit sends an event to every socket of the namespace. A trailing
// func(error, []Args) argument asks for acknowledgements (set a Timeout).
func (n *Namespace) Emit(event string, args ...any) error { return n.operator().Emit(event, args...) }

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
		out[i] = ev.NewArgs(r.Data, r.Attachments)
	}
	return out, err
}

// --- adapter.Namespace ---

// Prepare implements adapter.Namespace: it encodes p once.
func (n *Namespace) Prepare(p *sioparser.Packet) adapter.Prepared {
	p.Namespace = n.name
	return newPrepared(p)
}

// NextAckID implements adapter.Namespace.
func (n *Namespace) NextAckID() uint64 { return n.ackIDs.Add(1) - 1 }

// OnServerSideEmit implements adapter.Namespace.
func (n *Namespace) OnServerSideEmit(data []byte, attachments [][]byte, ack func(adapter.AckResponse)) {
	event, args, err := ev.SplitEvent(data, attachments)
	if err != nil {
		return
	}
	n.mu.RLock()
	hs := n.serverHandlers[event]
	n.mu.RUnlock()
	var send ev.AckSender
	if ack != nil {
		send = func(vals []any) {
			d, atts, err := ev.EncodeArgs("", false, vals)
			if err != nil {
				n.srv.log.Error("socketio: cannot encode server-side acknowledgement", "err", err)
				return
			}
			ack(adapter.AckResponse{Data: d, Attachments: atts})
		}
	}
	for _, h := range hs {
		if err := safeCall(n.srv, func() error { return h.Call(args, send) }); err != nil {
			n.srv.log.Error("socketio: server-side event handler failed", "namespace", n.name, "event", event, "err", err)
		}
	}
}

// --- connection ---

// handlers returns the middlewares and connection handlers in force: the
// parent's first.
func (n *Namespace) handlers() ([]Middleware, []func(*Socket)) {
	var mws []Middleware
	var conns []func(*Socket)
	if n.parent != nil {
		mws, conns = n.parent.handlers()
	}
	n.mu.RLock()
	mws = append(mws, n.middlewares...)
	conns = append(conns, n.onConnection...)
	n.mu.RUnlock()
	return mws, conns
}

// add connects a client to the namespace: it builds the socket, runs the
// middlewares and, if they agree, announces the socket.
func (n *Namespace) add(c *client, auth map[string]any) {
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
				c.sendPacket(&sioparser.Packet{Type: sioparser.ConnectError, Namespace: n.name, Data: mustJSON(connectErrorPayload(err))}, false)
				return
			}
		}
	}
	if c.isClosed() {
		s.cleanup()
		return
	}
	n.mu.Lock()
	n.sockets[s.id] = s
	n.mu.Unlock()
	s.onConnect(restored)
	c.addSocket(s)
	for _, fn := range conns {
		if err := safeCall(n.srv, func() error { fn(s); return nil }); err != nil {
			n.srv.log.Error("socketio: connection handler failed", "namespace", n.name, "err", err)
		}
	}
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
	text   *engineio.Message
	all    []*engineio.Message // text then attachments; nil without attachments
}

func newPrepared(p *sioparser.Packet) *prepared {
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
	return pp
}

// send queues the prepared packet on a connection (broadcasts: the
// connection's flusher batches what accumulates).
func (pp *prepared) send(conn *engineio.Conn, volatile bool) error {
	if pp.all == nil {
		return conn.Send(volatile, pp.text)
	}
	return conn.Send(volatile, pp.all...)
}

// sendNow writes the prepared packet at once when the connection's writer
// is idle (replies and emits to one socket); volatile packets go through
// send, which may drop them.
func (pp *prepared) sendNow(conn *engineio.Conn, volatile bool) error {
	if volatile {
		return pp.send(conn, true)
	}
	if pp.all == nil {
		return conn.SendNow(pp.text)
	}
	return conn.SendNow(pp.all...)
}
