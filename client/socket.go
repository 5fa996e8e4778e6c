package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
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
	m   *Manager
	nsp string

	// All the fields below are guarded by m.mu.
	auth       any // a value, or a func() any evaluated at each CONNECT
	retries    int
	ackTimeout time.Duration
	active     bool  // wants to be connected (subscribed to the Manager)
	connecting *link // the connection a CONNECT was sent on
	connected  bool
	recovered  bool
	id         string
	pid        string // session id for connection state recovery
	lastOffset string // offset of the last event received, for recovery
	lastErr    error  // why the last connection attempt failed
	changed    chan struct{}

	// The handlers' lists are replaced, never modified in place: a copy
	// taken under m.mu stays valid after it is released.
	handlers map[string][]*listener // by event, lifecycle events included
	anyIn    []anyListener
	anyOut   []anyListener
	onError  []func(err error)

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
		handlers:   make(map[string][]*listener),
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

// OnError registers fn for errors of handlers (On, OnAny, OnConnect...,
// acknowledgement callbacks): arguments that do not decode into a
// handler's parameters (wrapping ErrInvalidArguments, also logged as a
// warning), a handler's returned error or panic, an acknowledgement that
// cannot be encoded. Without OnError handlers they are logged as errors.
// fn runs on the handler goroutine.
func (s *Socket) OnError(fn func(err error)) {
	s.m.mu.Lock()
	s.onError = append(s.onError, fn)
	s.m.mu.Unlock()
}

// reportErr passes the error of a handler of event ev to the OnError
// handlers; it runs on the handler goroutine. Arguments that do not fit a
// handler are logged as warnings in any case (the server's mistake, or the
// application's, which must not go unseen); other errors are logged as
// errors when there is no OnError handler to take them.
func (s *Socket) reportErr(ev string, err error) {
	s.m.mu.Lock()
	fns := s.onError
	s.m.mu.Unlock()
	switch log := s.m.log; {
	case errors.Is(err, ErrInvalidArguments):
		log.Warn("client: arguments do not fit the handler", "namespace", s.nsp, "event", ev, "err", err)
	case len(fns) == 0:
		log.Error("client: handler error (no OnError handler)", "namespace", s.nsp, "event", ev, "err", err)
	}
	for _, fn := range fns {
		fn(err)
	}
}

// call runs a handler of event ev on the handler goroutine, reporting its
// error or panic, prefixed with what (`what "ev": err`).
func (s *Socket) call(what, ev string, fn func() error) {
	var err error
	if perr := safeCall(func() { err = fn() }); perr != nil {
		err = perr
	}
	if err != nil {
		s.reportErr(ev, fmt.Errorf("%s %q: %w", what, ev, err))
	}
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

// SetAuth sets the auth payload of the socket's next connection requests
// (CONNECT packets, reconnections included), like assigning socket.auth in
// JavaScript: a value that encodes to a JSON object (a map or a struct), or
// a func() any called before each request (for a fresh token); nil sends
// none. A request already sent keeps the payload it had. SetAuth panics for
// a function of another type.
//
// After the server refused the namespace (a *ConnectError, say "not
// authorized"), the socket stops trying: SetAuth then Connect tries again.
func (s *Socket) SetAuth(auth any) {
	if err := checkAuth(auth); err != nil {
		panic("client: Socket.SetAuth: " + err.Error())
	}
	s.m.mu.Lock()
	s.auth = auth
	s.m.mu.Unlock()
}

// Auth returns what SetAuth (or Options.Auth, SocketOptions.Auth) set: the
// value, or the function, unevaluated.
func (s *Socket) Auth() any {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.auth
}

// checkAuth refuses an auth option that is a function other than a
// func() any, which would otherwise fail at each connection.
func checkAuth(auth any) error {
	if auth == nil || reflect.TypeOf(auth).Kind() != reflect.Func {
		return nil
	}
	if fn, ok := auth.(func() any); !ok || fn == nil {
		return fmt.Errorf("auth is a value or a non-nil func() any, not %T", auth)
	}
	return nil
}

// authValue evaluates the auth option; it runs without m.mu held, since a
// func() any may take its time (fetching a token).
func (s *Socket) authValue() any {
	s.m.mu.Lock()
	auth := s.auth
	s.m.mu.Unlock()
	if fn, ok := auth.(func() any); ok {
		return fn()
	}
	return auth
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
	return conn.Send(false, s.m.packetMessages(p)...) == nil
}

// packetMessages encodes a packet into Engine.IO messages with the
// Manager's parser: for the default one, its text then one binary message
// per attachment; for another, its one message (none if the parser
// cannot encode it, which is logged).
func (m *Manager) packetMessages(p *sioparser.Packet) []*engineio.Message {
	if pr := m.opts.Parser; pr != nil {
		buf, binary, err := event.EncodeWith(pr, p, engineio.Headroom)
		switch {
		case err != nil:
			m.log.Error("client: cannot encode a packet", "type", p.Type, "namespace", p.Namespace, "err", err)
			return nil
		case binary:
			return []*engineio.Message{engineio.NewBinaryMessageInPlace(buf)}
		}
		return []*engineio.Message{engineio.NewTextMessageInPlace(buf)}
	}
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
	s.dispatchLocked("connect_error", func(l *listener) error {
		if l.connectErr != nil {
			l.connectErr(err)
		}
		return nil
	})
}

// oncloseLocked handles the loss of the socket's connection.
func (s *Socket) oncloseLocked(reason DisconnectReason, err error) {
	was := s.connected
	s.connected = false
	s.connecting = nil
	s.id = ""
	if was {
		raw, _, _ := event.EncodeArgs("", false, []any{string(reason)})
		s.dispatchLocked("disconnect", func(l *listener) error {
			if l.disconnect != nil {
				l.disconnect(reason, err)
				return nil
			}
			return l.h.Call(event.NewArgs(raw, nil), nil)
		})
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
	s.dispatchLocked("connect", func(l *listener) error { return l.h.Call(event.Args{}, nil) })
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
	args = args.WithAck(p.HasID)
	var ack event.AckSender
	if p.HasID {
		// One answer per event, whichever of its handlers gives it.
		id := p.ID
		var sent atomic.Bool
		ack = func(vals ...any) {
			if sent.CompareAndSwap(false, true) {
				s.sendAck(name, id, vals)
			}
		}
	}
	if s.pid != "" && args.Len() > 0 {
		// With recovery on, the server appends the event's offset.
		var off string
		if json.Unmarshal(args.Raw(args.Len()-1), &off) == nil {
			s.lastOffset = off
		}
	}
	s.m.post(func() { s.runEvent(name, Args(args), ack) })
}

// runEvent calls the handlers of an event on the handler goroutine.
func (s *Socket) runEvent(name string, args Args, ack event.AckSender) {
	s.m.mu.Lock()
	anyIn := s.anyIn
	s.m.mu.Unlock()
	for _, l := range anyIn {
		s.call("OnAny handler of", name, func() error { l.fn(name, args); return nil })
	}
	for _, l := range s.takeListeners(name) {
		if l.h != nil { // not an OnDisconnect or OnConnectError handler
			s.call("event", name, func() error { return l.h.Call(event.Args(args), ack) })
		}
	}
}

// sendAck answers an event's acknowledgement.
func (s *Socket) sendAck(ev string, id uint64, vals []any) {
	data, atts, err := event.EncodeArgs("", false, vals)
	if err != nil {
		s.m.post(func() { s.reportErr(ev, fmt.Errorf("acknowledgement of %q: %w", ev, err)) })
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
	pa.deliver(Args(event.NewArgs(p.Data, p.Attachments)), nil)
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
	for _, l := range s.anyOut {
		s.m.post(func() {
			s.call("OnAnyOutgoing handler of", name, func() error { l.fn(name, Args(args)); return nil })
		})
	}
}
