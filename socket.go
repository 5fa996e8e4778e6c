package socketio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/socketio-go/socketio/internal/eioseam"
	ev "github.com/socketio-go/socketio/internal/event"
	"github.com/socketio-go/socketio/internal/wellformed"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/internal/id"
	"github.com/socketio-go/socketio/sioparser"
)

// Handshake describes the request that opened a socket's connection.
type Handshake = adapter.Handshake

// Event is an incoming event as socket middlewares see it.
type Event struct {
	Name string
	Args Args
}

// Socket is one client connected to one namespace.
//
// Concurrency: every method is safe to call from any goroutine. Handlers of
// one socket run one at a time, in the order the packets arrived, on the
// goroutine that reads the client's connection; a handler that blocks for
// long delays the socket's other events and heartbeats. To wait for an
// acknowledgement inside a handler (EmitWithAck), do it in a new goroutine.
type Socket struct {
	id        string
	pid       string
	nsp       *Namespace
	client    *client
	auth      map[string]any
	created   int64                     // UnixNano
	handshake atomic.Pointer[Handshake] // built on first use
	// held, while onConnect runs, keeps the broadcasts for the socket
	// until its CONNECT and missed packets are queued, so that they come
	// after those, in their order, as in Node.
	held      atomic.Pointer[heldSends]
	recovered bool

	mu           sync.Mutex
	connected    bool                            // guarded by mu
	closed       bool                            // guarded by mu; cleanup done
	handlers     []eventHandler                  // guarded by mu; few per socket: a slice beats a map
	onDisconnect []func(DisconnectReason, error) // guarded by mu
	hooks        atomic.Pointer[socketHooks]     // allocated by the first hook, under mu; its fields guarded by mu
	acks         map[uint64]*pendingAck          // guarded by mu
	data         any                             // guarded by mu
}

// socketHooks holds the handlers most sockets never get, so that those
// sockets stay small.
type socketHooks struct {
	anyIn         []func(event string, args Args)
	anyOut        []func(event string, args Args)
	middlewares   []func(*Event) error
	disconnecting []func(DisconnectReason, error)
	onError       []func(error)
}

// hooksLocked returns the hooks, allocating them; s.mu must be held.
func (s *Socket) hooksLocked() *socketHooks {
	h := s.hooks.Load()
	if h == nil {
		h = new(socketHooks)
		s.hooks.Store(h)
	}
	return h
}

// eventHandler is a handler registered with On.
type eventHandler struct {
	event string
	h     *ev.Handler
}

// pendingAck waits for the acknowledgement of one emitted packet.
type pendingAck struct {
	onAck func(data []byte, attachments [][]byte)
	onErr func(error) // nil: dropped silently on disconnect
	timer *time.Timer
	sent  int64 // UnixNano, when observers time acknowledgements
}

// newSocket makes the socket of a connecting client, resuming its earlier
// session when connection state recovery finds it (returned too, for
// onConnect).
func (n *Namespace) newSocket(c *client, auth map[string]any) (*Socket, *adapter.Session) {
	s := &Socket{nsp: n, client: c}
	if rec := n.srv.opts.ConnectionStateRecovery; rec != nil {
		pid, _ := auth["pid"].(string)
		offset, _ := auth["offset"].(string)
		if pid != "" && offset != "" {
			session, err := n.adapter.RestoreSession(pid, offset)
			if err != nil {
				n.srv.log.Debug("socketio: session restore failed", "err", err)
			}
			if session != nil {
				s.id, s.pid, s.data, s.recovered = session.SID, session.PID, session.Data, true
				s.auth, s.created = auth, time.Now().UnixNano()
				return s, session
			}
		}
		s.pid = id.New()
	}
	if c.isV3() {
		s.id = v3SocketID(n.name, c.conn.ID())
	} else {
		s.id = id.New()
	}
	s.auth, s.created = auth, time.Now().UnixNano()
	return s, nil
}

// Handshake describes the connection request. It is built on first use
// (most of it comes from the handshake request, kept by the connection) and
// must not be modified.
func (s *Socket) Handshake() *Handshake {
	if h := s.handshake.Load(); h != nil {
		return h
	}
	r := s.client.conn.Request()
	q, _ := url.ParseQuery(r.URL.RawQuery)
	auth := s.auth
	if auth == nil {
		auth = map[string]any{}
	}
	h := &Handshake{
		Headers: r.Header,
		Time:    time.Unix(0, s.created),
		Address: s.client.conn.RemoteAddr(),
		XDomain: r.Header.Get("Origin") != "",
		Secure:  r.TLS != nil,
		Issued:  s.created / int64(time.Millisecond),
		URL:     r.URL.RequestURI(),
		Query:   q,
		Auth:    auth,
	}
	if s.handshake.CompareAndSwap(nil, h) {
		return h
	}
	return s.handshake.Load()
}

// ID returns the socket id, unique in the namespace and different from the
// Engine.IO session id.
func (s *Socket) ID() string { return s.id }

// Namespace returns the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.nsp }

// Request returns the HTTP request that opened the connection.
func (s *Socket) Request() *http.Request { return s.client.conn.Request() }

// Conn returns the Engine.IO connection the socket is multiplexed on (Node's
// socket.conn): its ID, Transport and RemoteAddr, shared by the sockets of
// the client's other namespaces. Its callbacks belong to the server; do not
// set them.
func (s *Socket) Conn() *engineio.Conn { return s.client.conn }

// Transport returns the transport in use: "polling" or "websocket".
func (s *Socket) Transport() string { return s.client.conn.Transport() }

// Recovered reports whether the socket resumed an earlier session with
// connection state recovery.
func (s *Socket) Recovered() bool { return s.recovered }

// Connected reports whether the socket is connected.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Data returns the value stored with SetData (also visible to FetchSockets
// on other servers, where it must survive a JSON or msgpack trip).
func (s *Socket) Data() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

// SetData stores an application value with the socket.
func (s *Socket) SetData(v any) {
	s.mu.Lock()
	s.data = v
	s.mu.Unlock()
	if o := s.nsp.obs.Load(); o != nil {
		o.dataChanged(s)
	}
}

// On registers a handler for an event. The handler is a function whose
// parameters receive the event's arguments decoded from JSON, and whose
// optional last parameter, of function type, is the acknowledgement
// callback: calling it answers the client with its arguments (once).
//
//	s.On("chat", func(msg ChatMessage) { ... })
//	s.On("join", func(room string, ack func([]string)) {
//		s.Join(room)
//		if ack != nil { // nil when the client asked for no acknowledgement
//			ack(s.Rooms())
//		}
//	})
//	s.On("raw", func(args socketio.Args, ack func(...any)) { ... })
//	s.On("any", func(vals ...any) { ... }) // the ack, if asked for, is the last value, a func(...any)
//
// Parameters are decoded like encoding/json (struct tags, case-insensitive
// names); []byte receives binary data, anywhere in a value; a parameter of
// type Args receives the arguments undecoded. Missing arguments leave zero
// values, extra ones are ignored. A handler returns nothing or an error,
// which goes to the OnError handlers: answers go through the
// acknowledgement callback.
//
// Arguments that do not decode into the parameters (a number for a
// string, say) are not handed to the handler: the error, wrapping
// ErrInvalidArguments, is logged as a warning and passed to the OnError
// handlers, and no acknowledgement is sent.
//
// "disconnect" and "disconnecting" handlers receive the DisconnectReason
// (see also OnDisconnect). On panics if fn is not a function of that shape,
// as a mistake in the program, like net/http does for a bad pattern.
func (s *Socket) On(event string, fn any) {
	h := mustHandler("Socket.On", event, fn)
	switch event {
	case "disconnect", "disconnecting":
		cb := func(reason DisconnectReason, _ error) {
			raw, _, _ := ev.EncodeArgs("", false, []any{string(reason)})
			s.callHandler(h, event, ev.NewArgs(raw, nil), nil)
		}
		s.mu.Lock()
		if event == "disconnect" {
			s.onDisconnect = append(s.onDisconnect, cb)
		} else {
			h := s.hooksLocked()
			h.disconnecting = append(h.disconnecting, cb)
		}
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	s.handlers = append(s.handlers, eventHandler{event: event, h: h})
	s.mu.Unlock()
}

// mustHandler validates a handler at registration: a function that cannot
// be called with event arguments is a mistake in the program, which must
// not go unnoticed (a handler silently left unregistered), so it panics.
func mustHandler(method, event string, fn any) *ev.Handler {
	h, err := ev.NewHandler(fn, false)
	if err != nil {
		panic(fmt.Sprintf("%s(%q, %T): %v", method, event, fn, err))
	}
	return h
}

// The common raw shapes skip reflection. The AckSenders handlers get send
// only once already (a socket's, and the namespace's per handler), so the
// callback is handed on as it is.
func init() {
	ev.RegisterFast(func(Args) {}, func(fn any, a ev.Args, _ ev.AckSender) error { fn.(func(Args))(Args(a)); return nil })
	ev.RegisterFast(func(Args, func(...any)) {}, func(fn any, a ev.Args, ack ev.AckSender) error {
		fn.(func(Args, func(...any)))(Args(a), ack)
		return nil
	})
}

// Off removes every handler of an event.
func (s *Socket) Off(event string) {
	s.mu.Lock()
	s.handlers = slices.DeleteFunc(s.handlers, func(e eventHandler) bool { return e.event == event })
	s.mu.Unlock()
}

// OnAny registers fn for every incoming event, before its handlers.
func (s *Socket) OnAny(fn func(event string, args Args)) {
	s.mu.Lock()
	h := s.hooksLocked()
	h.anyIn = append(h.anyIn, fn)
	s.mu.Unlock()
}

// OnAnyOutgoing registers fn for every event sent to the client, broadcasts
// included.
func (s *Socket) OnAnyOutgoing(fn func(event string, args Args)) {
	s.mu.Lock()
	h := s.hooksLocked()
	h.anyOut = append(h.anyOut, fn)
	s.mu.Unlock()
}

// Use registers a middleware for incoming events: returning an error drops
// the event and passes the error to the OnError handlers.
func (s *Socket) Use(mw func(*Event) error) {
	s.mu.Lock()
	h := s.hooksLocked()
	h.middlewares = append(h.middlewares, mw)
	s.mu.Unlock()
}

// OnDisconnect registers fn, called once when the socket disconnects, with
// the reason and, where there is one, the underlying error.
func (s *Socket) OnDisconnect(fn func(reason DisconnectReason, err error)) {
	s.mu.Lock()
	s.onDisconnect = append(s.onDisconnect, fn)
	s.mu.Unlock()
}

// OnDisconnecting registers fn, called when the socket is about to
// disconnect, while it is still in its rooms.
func (s *Socket) OnDisconnecting(fn func(reason DisconnectReason, err error)) {
	s.mu.Lock()
	h := s.hooksLocked()
	h.disconnecting = append(h.disconnecting, fn)
	s.mu.Unlock()
}

// OnError registers fn for errors of the socket: a middleware refusing an
// event, a handler's error or panic, arguments that do not decode.
func (s *Socket) OnError(fn func(error)) {
	s.mu.Lock()
	h := s.hooksLocked()
	h.onError = append(h.onError, fn)
	s.mu.Unlock()
}

// Emit sends an event to the client. A trailing function argument asks for
// an acknowledgement and receives its arguments, decoded like a handler's
// parameters; after Timeout, its first parameter must be an error (ErrTimeout
// when the client did not answer in time).
func (s *Socket) Emit(event string, args ...any) error {
	return s.emit(event, args, emitFlags{})
}

// Send emits a "message" event (Node's socket.send), which the client
// receives with socket.on("message", ...).
func (s *Socket) Send(args ...any) error { return s.Emit("message", args...) }

// EmitWithAck sends an event and waits for the client's acknowledgement, or
// for ctx to be done.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	return s.emitWithAck(ctx, event, args, emitFlags{})
}

// Timeout returns an emitter whose acknowledgements time out after d.
func (s *Socket) Timeout(d time.Duration) *SocketEmitter {
	return &SocketEmitter{s: s, flags: emitFlags{timeout: d}}
}

// Volatile returns an emitter whose events are dropped when the client is
// not ready to receive them.
func (s *Socket) Volatile() *SocketEmitter {
	return &SocketEmitter{s: s, flags: emitFlags{volatile: true}}
}

// Compress returns an emitter whose events are sent with WebSocket
// compression (true, the default) or without it (false), as Node's
// socket.compress(false). Compression applies when the server has
// Engine.PerMessageDeflate set and the client accepted it, to events from
// its threshold on.
func (s *Socket) Compress(compress bool) *SocketEmitter {
	return &SocketEmitter{s: s, flags: emitFlags{noCompress: !compress}}
}

// SocketEmitter emits to one socket with flags (Timeout, Volatile,
// Compress).
type SocketEmitter struct {
	s     *Socket
	flags emitFlags
}

// Timeout sets the acknowledgement timeout.
func (e *SocketEmitter) Timeout(d time.Duration) *SocketEmitter {
	f := e.flags
	f.timeout = d
	return &SocketEmitter{s: e.s, flags: f}
}

// Volatile makes the events volatile.
func (e *SocketEmitter) Volatile() *SocketEmitter {
	f := e.flags
	f.volatile = true
	return &SocketEmitter{s: e.s, flags: f}
}

// Compress sets whether the events are sent with WebSocket compression.
func (e *SocketEmitter) Compress(compress bool) *SocketEmitter {
	f := e.flags
	f.noCompress = !compress
	return &SocketEmitter{s: e.s, flags: f}
}

// Emit is Socket.Emit with the emitter's flags.
func (e *SocketEmitter) Emit(event string, args ...any) error {
	return e.s.emit(event, args, e.flags)
}

// EmitWithAck is Socket.EmitWithAck with the emitter's flags.
func (e *SocketEmitter) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	return e.s.emitWithAck(ctx, event, args, e.flags)
}

type emitFlags struct {
	volatile   bool
	noCompress bool
	timeout    time.Duration
}

func checkEventName(event string) error {
	if sioparser.IsReservedEvent(event) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	return nil
}

func (s *Socket) emit(event string, args []any, f emitFlags) error {
	if err := checkEventName(event); err != nil {
		return err
	}
	args, cb := ev.SplitCallback(args)
	var h *ev.Handler
	if cb != nil {
		var err error
		if h, err = ev.NewHandler(cb, true); err != nil {
			return fmt.Errorf("socketio: acknowledgement callback: %w", err)
		}
		if f.timeout > 0 && !h.ErrFirst() {
			return fmt.Errorf("socketio: with a Timeout, the acknowledgement callback's first parameter must be an error")
		}
	}
	p := &sioparser.Packet{Type: sioparser.Event, Namespace: s.nsp.name}
	if h != nil {
		p.ID, p.HasID = s.nsp.nextAckID(), true
		pa := &pendingAck{
			onAck: func(d []byte, a [][]byte) { s.reportErr(h.CallAck(ev.NewArgs(d, a), nil)) },
		}
		if h.ErrFirst() {
			pa.onErr = func(err error) { s.reportErr(h.CallAck(ev.Args{}, err)) }
		}
		s.registerAck(p.ID, pa, f.timeout)
	}
	if err := s.sendEvent(p, event, args, f); err != nil {
		if h != nil {
			s.dropAck(p.ID)
		}
		return err
	}
	return nil
}

func (s *Socket) emitWithAck(ctx context.Context, event string, args []any, f emitFlags) (Args, error) {
	if err := checkEventName(event); err != nil {
		return Args{}, err
	}
	type result struct {
		args Args
		err  error
	}
	ch := make(chan result, 1)
	p := &sioparser.Packet{Type: sioparser.Event, Namespace: s.nsp.name}
	p.ID, p.HasID = s.nsp.nextAckID(), true
	s.registerAck(p.ID, &pendingAck{
		onAck: func(d []byte, a [][]byte) { ch <- result{args: Args(ev.NewArgs(d, a))} },
		onErr: func(err error) { ch <- result{err: err} },
	}, f.timeout)
	if err := s.sendEvent(p, event, args, f); err != nil {
		s.dropAck(p.ID)
		return Args{}, err
	}
	select {
	case r := <-ch:
		return r.args, r.err
	case <-ctx.Done():
		s.dropAck(p.ID)
		return Args{}, ctx.Err()
	}
}

// sendEvent encodes and writes an EVENT packet to the client. With
// connection state recovery on, it goes through the adapter so that it gets
// an offset and is kept for replay, as in Node.
func (s *Socket) sendEvent(p *sioparser.Packet, event string, args []any, f emitFlags) error {
	volatile := f.volatile
	if o := s.nsp.obs.Load(); o != nil {
		o.eventSent()
	}
	if s.nsp.srv.opts.ConnectionStateRecovery != nil {
		data, atts, err := ev.EncodeArgs(event, true, args)
		if err != nil {
			return err
		}
		p.Data, p.Attachments = data, atts
		return s.nsp.adapter.Broadcast(p, &adapter.BroadcastOptions{
			Rooms: []string{s.id},
			Flags: adapter.BroadcastFlags{Volatile: volatile, Local: true, Direct: true, NoCompress: f.noCompress},
		})
	}
	if pr := s.nsp.srv.opts.Parser; pr != nil {
		data, atts, err := ev.EncodeArgs(event, true, args)
		if err != nil {
			return err
		}
		p.Data, p.Attachments = data, atts
		m, err := encodeWith(pr, p)
		if err != nil {
			return err
		}
		if f.noCompress {
			m = m.Uncompressed()
		}
		s.notifyOutgoing(p)
		return sendMessage(s.client.conn, m, volatile)
	}
	buf, err := ev.EncodePacket(p, event, true, args, engineio.Headroom)
	if err != nil {
		return err
	}
	s.notifyOutgoing(p)
	return sendEncoded(s.client.conn, buf, p.Attachments, f)
}

func (s *Socket) registerAck(ackID uint64, pa *pendingAck, timeout time.Duration) {
	s.mu.Lock()
	if s.acks == nil {
		s.acks = make(map[uint64]*pendingAck)
	}
	s.acks[ackID] = pa
	obs := s.nsp.obs.Load()
	if obs != nil {
		pa.sent = time.Now().UnixNano()
	}
	if timeout > 0 {
		pa.timer = time.AfterFunc(timeout, func() {
			if !s.takeAck(ackID, pa) {
				return
			}
			if obs != nil {
				obs.ackTimedOut()
			}
			if pa.onErr != nil {
				pa.onErr(ErrTimeout)
			}
		})
	}
	s.mu.Unlock()
}

// takeAck removes the pending ack if it is still pa.
func (s *Socket) takeAck(ackID uint64, pa *pendingAck) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.acks[ackID] != pa {
		return false
	}
	delete(s.acks, ackID)
	return true
}

func (s *Socket) dropAck(ackID uint64) {
	s.mu.Lock()
	if pa := s.acks[ackID]; pa != nil {
		delete(s.acks, ackID)
		if pa.timer != nil {
			pa.timer.Stop()
		}
	}
	s.mu.Unlock()
}

// Join adds the socket to rooms.
func (s *Socket) Join(rooms ...string) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if !closed {
		s.nsp.adapter.AddAll(s.forAdapter(), rooms...)
	}
}

// Leave removes the socket from rooms.
func (s *Socket) Leave(rooms ...string) {
	for _, r := range rooms {
		s.nsp.adapter.Del(s.id, r)
	}
}

// Rooms returns the rooms the socket is in, its own id room included.
func (s *Socket) Rooms() []string { return s.nsp.adapter.SocketRooms(s.id) }

func (s *Socket) operator() *BroadcastOperator {
	return &BroadcastOperator{nsp: s.nsp, opts: adapter.BroadcastOptions{Except: []string{s.id}}}
}

// Broadcast selects every socket of the namespace but this one.
func (s *Socket) Broadcast() *BroadcastOperator { return s.operator() }

// To selects the sockets in rooms, except this one.
func (s *Socket) To(rooms ...string) *BroadcastOperator { return s.operator().To(rooms...) }

// In is To.
func (s *Socket) In(rooms ...string) *BroadcastOperator { return s.operator().To(rooms...) }

// Except selects the sockets not in rooms, except this one.
func (s *Socket) Except(rooms ...string) *BroadcastOperator { return s.operator().Except(rooms...) }

// Local selects the sockets of this server, except this one.
func (s *Socket) Local() *BroadcastOperator { return s.operator().Local() }

// Disconnect removes the socket from the namespace, telling the client
// (reason "server namespace disconnect"). With close, the whole connection
// is closed: every socket on it disconnects.
func (s *Socket) Disconnect(close bool) {
	if !s.Connected() {
		return
	}
	if close {
		s.client.disconnectAll()
		return
	}
	s.client.sendPacket(&sioparser.Packet{Type: sioparser.Disconnect, Namespace: s.nsp.name}, false)
	s.onClose(ReasonServerNamespaceDisconnect, nil)
}

// heldSends are the broadcasts that reached a socket while it connected.
type heldSends struct {
	mu       sync.Mutex
	released bool // guarded by mu
	sends    []heldSend
}

type heldSend struct {
	pp       *prepared
	volatile bool
}

// hold keeps a broadcast for later and reports true, or reports false once
// the socket's CONNECT is out (the caller sends it then).
func (h *heldSends) hold(pp *prepared, volatile bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released {
		return false
	}
	h.sends = append(h.sends, heldSend{pp, volatile})
	return true
}

// onConnect joins the socket's rooms and tells the client: CONNECT, the
// packets it missed if its session was restored, then the broadcasts that
// reached it meanwhile.
func (s *Socket) onConnect(restored *adapter.Session) {
	s.mu.Lock()
	s.connected = true
	s.mu.Unlock()
	h := new(heldSends)
	s.held.Store(h)
	defer func() {
		h.mu.Lock()
		for _, m := range h.sends {
			_ = m.pp.send(s.client.conn, m.volatile)
		}
		h.sends, h.released = nil, true
		h.mu.Unlock()
		s.held.Store(nil)
	}()
	s.nsp.adapter.AddAll(s.forAdapter(), s.id)
	if r := restored; r != nil && len(r.Rooms) > 0 {
		// Back in its rooms before the client hears it is connected, as in
		// Node: a broadcast that follows the CONNECT reaches it.
		s.nsp.adapter.AddAll(s.forAdapter(), r.Rooms...)
	}
	var data []byte
	if !s.client.isV3() { // v3 clients take the Engine.IO id: no payload
		// {"sid":…,"pid":…}, Node's keys in Node's order, without a map
		// and reflection per connection.
		data = make([]byte, 0, 64)
		data = append(data, `{"sid":`...)
		data = wellformed.AppendJSONString(data, s.id)
		if s.pid != "" {
			data = append(data, `,"pid":`...)
			data = wellformed.AppendJSONString(data, s.pid)
		}
		data = append(data, '}')
	}
	s.client.sendPacket(&sioparser.Packet{Type: sioparser.Connect, Namespace: s.nsp.name, Data: data}, false)
	if r := restored; r != nil {
		for _, m := range r.MissedPackets {
			pp := s.nsp.srv.prepare(&sioparser.Packet{Type: sioparser.Event, Namespace: s.nsp.name, Data: m.Data, Attachments: m.Attachments})
			_ = pp.send(s.client.conn, false)
		}
	}
}

// onPacket handles a packet for this socket.
func (s *Socket) onPacket(p *sioparser.Packet) {
	switch p.Type {
	case sioparser.Event:
		s.onEvent(p)
	case sioparser.Ack:
		s.mu.Lock()
		pa := s.acks[p.ID]
		delete(s.acks, p.ID)
		s.mu.Unlock()
		if pa != nil {
			if pa.timer != nil {
				pa.timer.Stop()
			}
			if o := s.nsp.obs.Load(); o != nil && pa.sent != 0 {
				o.ackReceived(time.Duration(time.Now().UnixNano() - pa.sent))
			}
			pa.onAck(p.Data, p.Attachments)
		}
	case sioparser.Disconnect:
		s.onClose(ReasonClientNamespaceDisconnect, nil)
	}
}

func (s *Socket) onEvent(p *sioparser.Packet) {
	name, raw, err := ev.SplitEvent(p.Data, p.Attachments)
	if err != nil {
		return
	}
	if o := s.nsp.obs.Load(); o != nil {
		o.eventReceived()
	}
	args := raw.WithAck(p.HasID)
	var ack ev.AckSender
	if p.HasID {
		// One answer per event, whichever of its handlers gives it.
		ackID := p.ID
		var sent atomic.Bool
		ack = func(vals ...any) {
			if sent.CompareAndSwap(false, true) {
				s.sendAck(ackID, vals)
			}
		}
	}
	var buf [4]*ev.Handler
	hs := buf[:0]
	s.mu.Lock()
	var anyIn []func(string, Args)
	var mws []func(*Event) error
	if h := s.hooks.Load(); h != nil {
		anyIn, mws = h.anyIn, h.middlewares
	}
	hooked := len(anyIn) > 0 || len(mws) > 0
	connected := s.connected
	if !hooked {
		hs = s.handlersLocked(name, hs)
	}
	s.mu.Unlock()
	if hooked {
		// Only hooks see an Event (they may keep it).
		e := &Event{Name: name, Args: Args(args)}
		if !s.runEventHooks(e, anyIn, mws) {
			return
		}
		name, args = e.Name, ev.Args(e.Args)
		s.mu.Lock()
		connected = s.connected
		hs = s.handlersLocked(name, hs)
		s.mu.Unlock()
	}
	if !connected {
		return
	}
	for _, h := range hs {
		s.callHandler(h, name, args, ack)
	}
}

// handlersLocked appends the handlers of an event to hs.
func (s *Socket) handlersLocked(event string, hs []*ev.Handler) []*ev.Handler {
	for _, eh := range s.handlers {
		if eh.event == event {
			hs = append(hs, eh.h)
		}
	}
	return hs
}

// runEventHooks runs the OnAny handlers and the middlewares of an incoming
// event; false means a middleware refused it.
func (s *Socket) runEventHooks(e *Event, anyIn []func(string, Args), mws []func(*Event) error) bool {
	for _, fn := range anyIn {
		s.reportErr(safeCall(s.nsp.srv, func() error { fn(e.Name, e.Args); return nil }))
	}
	for _, mw := range mws {
		var err error
		if perr := safeCall(s.nsp.srv, func() error { err = mw(e); return nil }); perr != nil {
			err = perr
		}
		if err != nil {
			s.reportErr(err)
			return false
		}
	}
	return true
}

// callHandler runs an event handler, turning a panic into an error for the
// OnError handlers (and a log with the stack). Arguments that do not fit
// the handler's parameters are reported and the handler is not called; an
// acknowledgement the client asked for is then not sent (the client's own
// timeout, if it set one, tells it).
func (s *Socket) callHandler(h *ev.Handler, event string, args ev.Args, ack ev.AckSender) {
	defer func() {
		if r := recover(); r != nil {
			s.reportErr(fmt.Errorf("event %q: %w", event, panicError(s.nsp.srv, r)))
		}
	}()
	if err := h.Call(args, ack); err != nil {
		s.reportErr(fmt.Errorf("event %q: %w", event, err))
	}
}

// sendAck answers an event's acknowledgement.
func (s *Socket) sendAck(ackID uint64, vals []any) {
	p := sioparser.Packet{Type: sioparser.Ack, Namespace: s.nsp.name, ID: ackID, HasID: true}
	var buf []byte
	var bp *[]byte
	var m *engineio.Message
	var err error
	if pr := s.nsp.srv.opts.Parser; pr != nil {
		m, err = encodeAckWith(pr, p, vals) // p copied: it stays on the stack here
	} else {
		// Into a pooled buffer, which comes back when the answer is
		// written at once (the usual case): an ack then costs no buffer.
		bp = ackBufs.Get().(*[]byte)
		buf, err = ev.EncodePacketTo(*bp, &p, "", false, vals, engineio.Headroom)
		if err != nil || unsafe.SliceData(buf) != unsafe.SliceData(*bp) {
			ackBufs.Put(bp) // too small for this one, and still free
			bp = nil
		}
	}
	if err != nil {
		// The client waits for this answer in vain: say so loudly, not
		// only to OnError handlers.
		err = fmt.Errorf("socketio: acknowledgement %d not sent: %w", ackID, err)
		s.nsp.srv.log.Error("socketio: cannot encode an acknowledgement", "namespace", s.nsp.name, "sid", s.id, "err", err)
		s.reportErr(err)
		return
	}
	if m != nil {
		_ = sendMessage(s.client.conn, m, false)
		return
	}
	if bp != nil && len(p.Attachments) == 0 {
		_ = eioseam.SendTextNow(s.client.conn, buf)
		ackBufs.Put(bp)
		return
	}
	_ = sendEncoded(s.client.conn, buf, p.Attachments, emitFlags{})
}

// ackBufs recycles the buffers of acknowledgements written at once; a
// larger acknowledgement gets a buffer of its own.
var ackBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// sendEncoded writes a packet encoded by ev.EncodePacket to one
// connection, at once when its writer is idle.
func sendEncoded(conn *engineio.Conn, buf []byte, attachments [][]byte, f emitFlags) error {
	text := engineio.NewTextMessageInPlace(buf)
	if f.noCompress {
		text = text.Uncompressed()
	}
	if len(attachments) == 0 {
		if f.volatile {
			return conn.Send(true, text)
		}
		return conn.SendNow(text)
	}
	msgs := make([]*engineio.Message, 0, 1+len(attachments))
	msgs = append(msgs, text)
	for _, a := range attachments {
		m := engineio.NewBinaryMessage(a)
		if f.noCompress {
			m = m.Uncompressed()
		}
		msgs = append(msgs, m)
	}
	if f.volatile {
		return conn.Send(true, msgs...)
	}
	return conn.SendNow(msgs...)
}

// reportErr hands err to the OnError handlers. Arguments that do not fit a
// handler are logged as warnings in any case (they are the client's
// mistake, or the application's, and must not go unseen); other errors are
// logged as errors when there is no OnError handler to take them.
func (s *Socket) reportErr(err error) {
	if err == nil {
		return
	}
	s.mu.Lock()
	var fns []func(error)
	if h := s.hooks.Load(); h != nil {
		fns = h.onError
	}
	s.mu.Unlock()
	switch log := s.nsp.srv.log; {
	case errors.Is(err, ErrInvalidArguments):
		log.Warn("socketio: arguments do not fit the handler", "namespace", s.nsp.name, "sid", s.id, "err", err)
	case len(fns) == 0 && !errors.Is(err, errPanicked):
		log.Error("socketio: socket error (no OnError handler)", "namespace", s.nsp.name, "sid", s.id, "err", err)
	}
	for _, fn := range fns {
		fn(err)
	}
}

func (s *Socket) notifyOutgoing(p *sioparser.Packet) {
	h := s.hooks.Load()
	if h == nil {
		return // no hooks (most sockets): no lock taken per packet
	}
	s.mu.Lock()
	fns := h.anyOut
	s.mu.Unlock()
	if len(fns) == 0 {
		return
	}
	name, args, err := ev.SplitEvent(p.Data, p.Attachments)
	if err != nil {
		return
	}
	for _, fn := range fns {
		fn(name, Args(args))
	}
}

// onClose disconnects the socket: disconnecting handlers, session kept for
// recovery, rooms left, disconnect handlers.
func (s *Socket) onClose(reason DisconnectReason, cause error) {
	s.mu.Lock()
	if !s.connected {
		s.mu.Unlock()
		return
	}
	var before []func(DisconnectReason, error)
	if h := s.hooks.Load(); h != nil {
		before = h.disconnecting
	}
	s.mu.Unlock()
	for _, fn := range before {
		fn(reason, cause)
	}
	if s.nsp.srv.opts.ConnectionStateRecovery != nil && reason.recoverable() {
		s.nsp.adapter.PersistSession(&adapter.Session{SID: s.id, PID: s.pid, Rooms: s.Rooms(), Data: s.Data()})
	}
	if o := s.nsp.obs.Load(); o != nil {
		o.disconnected(s, reason, cause)
	}
	s.cleanup()
	s.client.removeSocket(s)
	s.mu.Lock()
	s.connected = false
	acks := s.acks
	s.acks = nil
	after := s.onDisconnect
	s.mu.Unlock()
	for _, pa := range acks {
		if pa.timer != nil {
			pa.timer.Stop()
		}
		if pa.onErr != nil {
			pa.onErr(ErrDisconnected)
		}
	}
	for _, fn := range after {
		fn(reason, cause)
	}
}

// cleanup leaves every room and the namespace.
func (s *Socket) cleanup() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.nsp.adapter.DelAll(s.id)
	s.nsp.remove(s)
}

// --- adapter.Socket ---

// adapterSocket is the socket as the adapter sees it (adapter.Socket):
// plumbing between the packages, kept out of the Socket's API.
type adapterSocket Socket

func (s *Socket) forAdapter() *adapterSocket { return (*adapterSocket)(s) }

func (a *adapterSocket) ID() string { return a.id }

// Send writes a packet prepared by the namespace (a broadcast).
func (a *adapterSocket) Send(p adapter.Prepared, flags adapter.BroadcastFlags) {
	s := (*Socket)(a)
	pp := p.(*prepared)
	if flags.NoCompress {
		pp = pp.uncompressed()
	}
	if o := s.nsp.obs.Load(); o != nil && !flags.Direct {
		o.delivered() // a Direct one was counted by Socket.Emit
	}
	s.notifyOutgoing(pp.packet)
	if h := s.held.Load(); h != nil && h.hold(pp, flags.Volatile) {
		return
	}
	_ = pp.send(s.client.conn, flags.Volatile)
}

// SendWithAck writes a prepared packet and waits for its acknowledgement.
func (a *adapterSocket) SendWithAck(p adapter.Prepared, flags adapter.BroadcastFlags, ackID uint64, ack func(adapter.AckResponse)) {
	(*Socket)(a).registerAck(ackID, &pendingAck{
		onAck: func(d []byte, at [][]byte) { ack(adapter.AckResponse{Data: d, Attachments: at}) },
	}, 0)
	a.Send(p, flags)
}

func (a *adapterSocket) Join(rooms ...string)  { (*Socket)(a).Join(rooms...) }
func (a *adapterSocket) Leave(room string)     { (*Socket)(a).Leave(room) }
func (a *adapterSocket) Disconnect(close bool) { (*Socket)(a).Disconnect(close) }

// Info describes the socket for FetchSockets.
func (a *adapterSocket) Info() adapter.SocketInfo {
	s := (*Socket)(a)
	return adapter.SocketInfo{ID: s.id, Handshake: s.Handshake(), Rooms: s.Rooms(), Data: s.Data()}
}

var _ adapter.Socket = (*adapterSocket)(nil)
