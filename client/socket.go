package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/internal/event"
	"github.com/socketio-go/socketio/sioparser"
)

// Socket is the client side of one namespace, multiplexed with the other
// namespaces of its Manager over one connection (the JavaScript client's
// Socket).
//
// Concurrency: every method is safe to call from any goroutine. Handlers
// run on the Manager's handler goroutine, one at a time, in the order the
// events arrived (see the package documentation).
type Socket struct {
	m          *Manager
	nsp        string
	auth       any
	retries    int
	ackTimeout time.Duration

	// All the fields below are guarded by m.mu.
	active     bool  // wants to be connected (subscribed to the Manager)
	connecting *link // the connection a CONNECT was sent on
	connected  bool
	recovered  bool
	id         string
	pid        string // session id for connection state recovery
	lastOffset string // offset of the last event received, for recovery
	lastErr    error  // why the last connection attempt failed
	changed    chan struct{}

	handlers       map[string][]*event.Handler
	anyIn          []func(event string, args Args)
	anyOut         []func(event string, args Args)
	onConnect      []func()
	onDisconnect   []func(reason DisconnectReason, err error)
	onConnectError []func(err error)
	onError        []func(err error)

	acks     map[uint64]*pendingAck
	nextAck  uint64
	sendBuf  []*sioparser.Packet // emitted while not connected
	recvBuf  []*sioparser.Packet // events received before the CONNECT answer
	queue    []*queuedEmit       // emits with retries, one in flight at a time
	queueSeq uint64
}

// pendingAck waits for the acknowledgement of one emitted packet. deliver
// is called once, with m.mu held: with the arguments, or with ErrTimeout
// or ErrDisconnected.
type pendingAck struct {
	deliver func(args Args, err error)
	timer   *time.Timer
}

// queuedEmit is an emit sent with retries.
type queuedEmit struct {
	seq     uint64
	data    []byte
	atts    [][]byte
	flags   emitFlags
	done    func(args Args, err error) // the emit's own acknowledgement; may be nil
	pending bool
	tries   int
}

type emitFlags struct {
	volatile bool
	timeout  time.Duration
}

func newSocket(m *Manager, nsp string, o SocketOptions) *Socket {
	return &Socket{
		m:          m,
		nsp:        nsp,
		auth:       o.Auth,
		retries:    o.Retries,
		ackTimeout: o.AckTimeout,
		changed:    make(chan struct{}),
		acks:       make(map[uint64]*pendingAck),
		handlers:   make(map[string][]*event.Handler),
	}
}

// Manager returns the socket's Manager (the JavaScript client's socket.io).
func (s *Socket) Manager() *Manager { return s.m }

// Namespace returns the socket's namespace.
func (s *Socket) Namespace() string { return s.nsp }

// ID returns the socket id given by the server, "" while not connected.
func (s *Socket) ID() string {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.id
}

// Connected reports whether the socket is connected.
func (s *Socket) Connected() bool {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.connected
}

// Active reports whether the socket is connected or trying to be
// (reconnecting included): false after Disconnect, a refusal by the server
// (connect_error) or a disconnection by the server.
func (s *Socket) Active() bool {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.active
}

// Recovered reports whether the last connection resumed the previous
// session through connection state recovery: same id, rooms, and the
// events missed in between delivered.
func (s *Socket) Recovered() bool {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.recovered
}

// On registers a handler for an event. The handler is a function whose
// parameters receive the event's arguments decoded from JSON (a parameter
// of type Args receives them undecoded; []byte receives binary data), and
// whose optional last parameter, of function type, is the acknowledgement
// callback: calling it answers the server with its arguments.
//
//	s.On("chat", func(msg ChatMessage) { ... })
//	s.On("ask", func(q string, ack func(string)) { ack("yes") })
//
// "connect" (no arguments), "disconnect" (the reason as a string) and
// "connect_error" (a func(error)) are the lifecycle events, as in
// JavaScript; see also OnConnect, OnDisconnect and OnConnectError. A
// handler may return an error, which goes to the OnError handlers.
func (s *Socket) On(ev string, handler any) error {
	switch ev {
	case "connect_error":
		fn, ok := handler.(func(error))
		if !ok {
			return fmt.Errorf("client: a connect_error handler must be a func(error), not %T", handler)
		}
		s.OnConnectError(fn)
		return nil
	case "connect", "disconnect":
		h, err := event.NewHandler(handler, false)
		if err != nil {
			return err
		}
		if ev == "connect" {
			s.OnConnect(func() { s.reportErr(h.Call(Args{}, nil)) })
			return nil
		}
		s.OnDisconnect(func(reason DisconnectReason, _ error) {
			raw, _, _ := event.EncodeArgs("", false, []any{string(reason)})
			s.reportErr(h.Call(event.NewArgs(raw, nil), nil))
		})
		return nil
	}
	h, err := event.NewHandler(handler, false)
	if err != nil {
		return err
	}
	s.m.mu.Lock()
	s.handlers[ev] = append(s.handlers[ev], h)
	s.m.mu.Unlock()
	return nil
}

// Off removes every handler of an event.
func (s *Socket) Off(ev string) {
	s.m.mu.Lock()
	delete(s.handlers, ev)
	s.m.mu.Unlock()
}

// OnAny registers fn for every incoming event, before its handlers.
func (s *Socket) OnAny(fn func(event string, args Args)) {
	s.m.mu.Lock()
	s.anyIn = append(s.anyIn, fn)
	s.m.mu.Unlock()
}

// OnAnyOutgoing registers fn for every event sent to the server.
func (s *Socket) OnAnyOutgoing(fn func(event string, args Args)) {
	s.m.mu.Lock()
	s.anyOut = append(s.anyOut, fn)
	s.m.mu.Unlock()
}

// OnConnect registers fn, called each time the socket connects
// (reconnections included).
func (s *Socket) OnConnect(fn func()) {
	s.m.mu.Lock()
	s.onConnect = append(s.onConnect, fn)
	s.m.mu.Unlock()
}

// OnDisconnect registers fn, called each time the socket disconnects, with
// the reason and, where there is one, the error behind it.
func (s *Socket) OnDisconnect(fn func(reason DisconnectReason, err error)) {
	s.m.mu.Lock()
	s.onDisconnect = append(s.onDisconnect, fn)
	s.m.mu.Unlock()
}

// OnConnectError registers fn, called when a connection attempt fails:
// with a *ConnectError when the server refused the namespace (the socket
// then stops trying; call Connect again, for instance with new Auth), or
// with the error of the Engine.IO connection (reconnection goes on).
func (s *Socket) OnConnectError(fn func(err error)) {
	s.m.mu.Lock()
	s.onConnectError = append(s.onConnectError, fn)
	s.m.mu.Unlock()
}

// OnError registers fn for errors of handlers: arguments that do not
// decode into a handler's parameters, a handler's returned error or panic.
// Without OnError handlers they are logged.
func (s *Socket) OnError(fn func(err error)) {
	s.m.mu.Lock()
	s.onError = append(s.onError, fn)
	s.m.mu.Unlock()
}

// reportErr passes a handler's error to the OnError handlers; it runs on
// the handler goroutine.
func (s *Socket) reportErr(err error) {
	if err == nil {
		return
	}
	s.m.mu.Lock()
	fns := s.onError
	s.m.mu.Unlock()
	if len(fns) == 0 {
		s.m.log.Warn("client: handler error", "namespace", s.nsp, "err", err)
	}
	for _, fn := range fns {
		fn(err)
	}
}

// call runs a handler on the handler goroutine, reporting its error.
func (s *Socket) call(fn func() error) {
	var err error
	if perr := safeCall(func() { err = fn() }); perr != nil {
		err = perr
	}
	s.reportErr(err)
}

// Connect connects the socket in the background (opening the Manager's
// connection if needed) and returns at once; WaitConnect waits for the
// outcome. It does nothing on a connected socket.
func (s *Socket) Connect() {
	m := s.m
	m.mu.Lock()
	if s.connected {
		m.mu.Unlock()
		return
	}
	s.active = true
	s.lastErr = nil
	if !m.reconnecting {
		m.openLocked(false)
	}
	var l *link
	if m.state == managerOpen {
		l = m.link
	}
	s.notifyLocked()
	m.mu.Unlock()
	if l != nil {
		s.sendConnect(l)
	}
}

// WaitConnect waits until the socket is connected. It returns a
// *ConnectError when the server refused the namespace, ErrReconnectFailed
// when the reconnection attempts are exhausted, the connection's error when
// it failed and no reconnection is pending, ErrNotConnecting for a socket
// that is not connecting, or the error of ctx (with the last connection
// error, if any).
func (s *Socket) WaitConnect(ctx context.Context) error {
	m := s.m
	for {
		m.mu.Lock()
		if s.connected {
			m.mu.Unlock()
			return nil
		}
		last := s.lastErr
		var err error
		switch {
		case !s.active:
			err = ErrNotConnecting
			if last != nil {
				err = last
			}
		case m.failed:
			err = ErrReconnectFailed
			if last != nil {
				err = fmt.Errorf("%w: %w", ErrReconnectFailed, last)
			}
		case m.state == managerClosed && !m.reconnecting:
			err = ErrNotConnecting
			if last != nil {
				err = last
			}
		}
		ch := s.changed
		m.mu.Unlock()
		if err != nil {
			return err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
			}
			return ctx.Err()
		}
	}
}

// notifyLocked wakes WaitConnect.
func (s *Socket) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Disconnect disconnects the socket (reason "io client disconnect") and,
// when it was the Manager's last active socket, closes the connection once
// what is queued is written (waiting a few seconds at most). There is no
// reconnection; Connect connects again.
func (s *Socket) Disconnect() {
	m := s.m
	m.mu.Lock()
	s.disconnectLocked()
	conn := m.destroyLocked()
	m.mu.Unlock()
	waitClosed(conn)
}

func (s *Socket) disconnectLocked() {
	if s.connected {
		s.sendLocked(&sioparser.Packet{Type: sioparser.Disconnect, Namespace: s.nsp})
	}
	s.active = false
	s.connecting = nil
	if s.connected {
		s.oncloseLocked(ReasonIOClientDisconnect, nil)
	}
	s.notifyLocked()
}

// authValue evaluates the auth option; it runs without m.mu held.
func (s *Socket) authValue() any {
	if fn, ok := s.auth.(func() any); ok {
		return fn()
	}
	return s.auth
}

// connectPayload is the CONNECT data: the auth object with, for connection
// state recovery, the session's pid and last offset (auth fields win).
func connectPayload(auth any, pid, offset string) ([]byte, error) {
	var obj map[string]json.RawMessage
	if auth != nil {
		raw, err := json.Marshal(auth)
		if err != nil {
			return nil, fmt.Errorf("client: cannot encode auth: %w", err)
		}
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, fmt.Errorf("client: auth must encode to a JSON object, not %s", raw)
		}
	}
	if pid != "" {
		if obj == nil {
			obj = make(map[string]json.RawMessage)
		}
		if _, ok := obj["pid"]; !ok {
			obj["pid"], _ = json.Marshal(pid)
		}
		if _, ok := obj["offset"]; !ok && offset != "" {
			obj["offset"], _ = json.Marshal(offset)
		}
	}
	if obj == nil {
		return nil, nil
	}
	return json.Marshal(obj)
}

// sendConnect asks the server to connect the socket on connection l.
func (s *Socket) sendConnect(l *link) {
	auth := s.authValue()
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.link != l || m.state != managerOpen || !s.active || s.connected || s.connecting == l {
		return
	}
	data, err := connectPayload(auth, s.pid, s.lastOffset)
	if err != nil {
		s.connectErrorLocked(err)
		s.notifyLocked()
		return
	}
	s.connecting = l
	s.sendLocked(&sioparser.Packet{Type: sioparser.Connect, Namespace: s.nsp, Data: data})
}

// sendLocked writes a packet on the open connection; it reports false when
// there is none.
func (s *Socket) sendLocked(p *sioparser.Packet) bool {
	conn := s.m.connLocked()
	if conn == nil {
		return false
	}
	return conn.Send(false, packetMessages(p)...) == nil
}

// packetMessages encodes a packet into Engine.IO messages: its text, then
// one binary message per attachment.
func packetMessages(p *sioparser.Packet) []*engineio.Message {
	buf := make([]byte, engineio.Headroom, engineio.Headroom+1+p.TextLen())
	buf = append(buf, '4')
	buf = p.AppendText(buf)
	msgs := make([]*engineio.Message, 0, 1+len(p.Attachments))
	msgs = append(msgs, engineio.NewTextMessageInPlace(buf))
	for _, a := range p.Attachments {
		msgs = append(msgs, engineio.NewBinaryMessage(a))
	}
	return msgs
}

// connectErrorLocked reports a failed connection attempt.
func (s *Socket) connectErrorLocked(err error) {
	s.lastErr = err
	s.connecting = nil
	for _, fn := range s.onConnectError {
		s.m.post(func() { fn(err) })
	}
}

// oncloseLocked handles the loss of the socket's connection.
func (s *Socket) oncloseLocked(reason DisconnectReason, err error) {
	was := s.connected
	s.connected = false
	s.connecting = nil
	s.id = ""
	if was {
		for _, fn := range s.onDisconnect {
			s.m.post(func() { fn(reason, err) })
		}
	}
	s.clearAcksLocked()
	s.notifyLocked()
}

// clearAcksLocked fails the acknowledgements of packets already sent; those
// of packets still in the send buffer wait for the next connection.
func (s *Socket) clearAcksLocked() {
	buffered := make(map[uint64]bool, len(s.sendBuf))
	for _, p := range s.sendBuf {
		if p.HasID {
			buffered[p.ID] = true
		}
	}
	for id, pa := range s.acks {
		if buffered[id] {
			continue
		}
		delete(s.acks, id)
		if pa.timer != nil {
			pa.timer.Stop()
		}
		pa.deliver(Args{}, ErrDisconnected)
	}
}

// onPacketLocked handles a packet for this socket. It returns a connection
// to close, if the socket's end closed it.
func (s *Socket) onPacketLocked(l *link, p *sioparser.Packet) *engineio.ClientConn {
	m := s.m
	switch p.Type {
	case sioparser.Connect:
		var d struct {
			SID string `json:"sid"`
			PID string `json:"pid"`
		}
		if json.Unmarshal(p.Data, &d) != nil || d.SID == "" {
			s.connectErrorLocked(errors.New("client: the server answered CONNECT without a sid (a Socket.IO v2 server? this client speaks v5)"))
			s.notifyLocked()
			return nil
		}
		s.onconnectLocked(d.SID, d.PID)
	case sioparser.Event:
		s.oneventLocked(p)
	case sioparser.Ack:
		s.onackLocked(p)
	case sioparser.Disconnect:
		s.active = false
		s.oncloseLocked(ReasonIOServerDisconnect, nil)
		return m.destroyLocked()
	case sioparser.ConnectError:
		s.active = false
		s.connectErrorLocked(connectErrorFrom(s.nsp, p.Data))
		s.notifyLocked()
		return m.destroyLocked()
	}
	return nil
}

func (s *Socket) onconnectLocked(id, pid string) {
	s.id = id
	s.recovered = pid != "" && s.pid == pid
	s.pid = pid
	s.connected = true
	s.connecting = nil
	s.lastErr = nil
	// Buffered events first, then buffered emits, then the queue, then the
	// connect handlers, as in JavaScript.
	recv := s.recvBuf
	s.recvBuf = nil
	for _, p := range recv {
		s.oneventLocked(p)
	}
	sends := s.sendBuf
	s.sendBuf = nil
	for _, p := range sends {
		s.notifyOutgoingLocked(p)
		s.sendLocked(p)
	}
	s.drainQueueLocked(true)
	for _, fn := range s.onConnect {
		s.m.post(fn)
	}
	s.notifyLocked()
}

func (s *Socket) oneventLocked(p *sioparser.Packet) {
	if !s.connected {
		s.recvBuf = append(s.recvBuf, p)
		return
	}
	name, args, err := event.SplitEvent(p.Data, p.Attachments)
	if err != nil {
		s.m.log.Debug("client: invalid event", "namespace", s.nsp, "err", err)
		return
	}
	var ack event.AckSender
	if p.HasID {
		id := p.ID
		ack = func(vals []any) { s.sendAck(id, vals) }
	}
	if s.pid != "" && args.Len() > 0 {
		// With recovery on, the server appends the event's offset.
		var off string
		if json.Unmarshal(args.Raw(args.Len()-1), &off) == nil {
			s.lastOffset = off
		}
	}
	s.m.post(func() { s.runEvent(name, args, ack) })
}

// runEvent calls the handlers of an event on the handler goroutine.
func (s *Socket) runEvent(name string, args Args, ack event.AckSender) {
	s.m.mu.Lock()
	anyIn := s.anyIn
	hs := s.handlers[name]
	s.m.mu.Unlock()
	for _, fn := range anyIn {
		s.call(func() error { fn(name, args); return nil })
	}
	for _, h := range hs {
		s.call(func() error { return h.Call(args, ack) })
	}
}

// sendAck answers an event's acknowledgement.
func (s *Socket) sendAck(id uint64, vals []any) {
	data, atts, err := event.EncodeArgs("", false, vals)
	if err != nil {
		s.reportErr(err)
		return
	}
	s.m.mu.Lock()
	s.sendLocked(&sioparser.Packet{Type: sioparser.Ack, Namespace: s.nsp, ID: id, HasID: true, Data: data, Attachments: atts})
	s.m.mu.Unlock()
}

func (s *Socket) onackLocked(p *sioparser.Packet) {
	pa := s.acks[p.ID]
	if pa == nil {
		return
	}
	delete(s.acks, p.ID)
	if pa.timer != nil {
		pa.timer.Stop()
	}
	pa.deliver(event.NewArgs(p.Data, p.Attachments), nil)
}

// notifyOutgoingLocked passes an emitted event to the OnAnyOutgoing
// handlers.
func (s *Socket) notifyOutgoingLocked(p *sioparser.Packet) {
	if len(s.anyOut) == 0 || p.Type != sioparser.Event {
		return
	}
	name, args, err := event.SplitEvent(p.Data, p.Attachments)
	if err != nil {
		return
	}
	for _, fn := range s.anyOut {
		s.m.post(func() { fn(name, args) })
	}
}
