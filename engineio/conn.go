package engineio

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/socketio-go/socketio/eioparser"
	"github.com/socketio-go/socketio/internal/eioseam"
	"github.com/socketio-go/socketio/internal/netpoll"
	"github.com/socketio-go/socketio/internal/websocket"
	"github.com/socketio-go/socketio/internal/wellformed"
)

type connState uint8

const (
	stateOpen    connState = iota
	stateClosing           // Close was called: flush what is queued, then close
	stateClosed
)

// Conn is one Engine.IO session, over long-polling, WebSocket or
// WebTransport, possibly upgraded from long-polling to one of the others
// during its life.
//
// Concurrency: Send, Close and the accessors are safe to call from any
// goroutine; Send never blocks on the network. The callbacks set with
// OnMessage, OnClose and OnUpgrade must be set inside the server's
// OnConnection function. Messages are delivered one at a time, in order, on
// the goroutine reading the transport (a WebSocket reader, or the HTTP
// handler of a long-polling POST); a callback that blocks delays that
// session's reading, and its heartbeat answers.
type Conn struct {
	id  string
	srv *Server
	req requestInfo

	// Callbacks, written before the session is served and read-only after.
	h Handler

	recvMu       sync.Mutex // serialises delivery of received messages
	readMu       sync.Mutex // held by the poller callback that reads the WebSocket
	lastReadable int64      // guarded by readMu; when that callback last handled a message (UnixNano)

	mu         sync.Mutex
	ws         *websocket.Conn          // guarded by mu; the WebSocket transport, once in use
	queue      []*Message               // guarded by mu; outbound packets not yet handed to a transport
	queued     int                      // guarded by mu; bytes in queue
	pollWake   chan struct{}            // guarded by mu; non-nil while a long-polling GET waits
	upgradeWS  *websocket.Conn          // guarded by mu; the WebSocket being probed for an upgrade
	wt         *wtTransport             // guarded by mu; the WebTransport stream in use, or being probed while polling (webtransport.go)
	hbDue      int64                    // guarded by mu; UnixNano (8 bytes, not 24): the next ping, or while awaitPong the pong deadline
	hbNext     *Conn                    // guarded by srv.hb.mu; the heartbeat slot's list
	hbPrev     *Conn                    // guarded by srv.hb.mu
	hbSlot     int64                    // guarded by srv.hb.mu; 0 when not scheduled
	closeTimer *time.Timer              // guarded by mu; bounds a graceful close over long-polling
	reg        *netpoll.Registration    // guarded by mu; nil unless polled
	done       chan struct{}            // guarded by mu; made by Done, closed when the session has ended
	post       *http.ResponseController // guarded by mu; the long-polling POST whose body is being read
	state      connState                // guarded by mu
	transport  transportKind            // guarded by mu
	flushing   bool                     // guarded by mu; a WebSocket writer (flusher or SendNow) runs
	pending    bool                     // guarded by mu; in the server's flush queue, no writer yet (flushq.go)
	closeNoop  bool                     // guarded by mu; a waiting GET ends with a noop, not a close packet
	upgrading  bool                     // guarded by mu; an upgrade request is being handled
	probed     bool                     // guarded by mu; the upgrade probe was answered
	upgraded   bool                     // guarded by mu
	awaitPong  bool                     // guarded by mu
	ready      bool                     // guarded by mu; OnConnection has returned (see Server.Close)
	v3flags    uint8                    // guarded by mu; protocol v3 transport flags (eio3.go)
	proto3     bool                     // immutable; the session speaks Engine.IO protocol v3
}

// transportKind is the transport in use (a byte rather than its name).
type transportKind uint8

const (
	kindPolling transportKind = iota
	kindWebSocket
	kindWebTransport
)

func kindOf(name string) transportKind {
	switch name {
	case WebSocket:
		return kindWebSocket
	case WebTransport:
		return kindWebTransport
	}
	return kindPolling
}

func (k transportKind) String() string {
	switch k {
	case kindWebSocket:
		return WebSocket
	case kindWebTransport:
		return WebTransport
	}
	return Polling
}

func newConn(s *Server, sid string, r *http.Request, transport string) *Conn {
	return &Conn{
		id:        sid,
		srv:       s,
		req:       newRequestInfo(r, s.opts.KeepRequestContext),
		transport: kindOf(transport),
	}
}

// ID returns the session id.
func (c *Conn) ID() string { return c.id }

// requestInfo keeps what later readers need of the handshake request, and
// not the rest (the *http.Request, its parsed URL, the HTTP connection's
// context chain): it is held for as long as the session lives.
type requestInfo struct {
	ctx context.Context // the request's values (KeepRequestContext), or nil
	// blob holds, NUL-separated, the request URI, host, remote address,
	// protocol, then the header names and values alternating: one string
	// instead of the request line and a map of strings.
	blob string
	tls  *tls.ConnectionState
}

func newRequestInfo(r *http.Request, keepContext bool) requestInfo {
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	n := len(uri) + len(r.Host) + len(r.RemoteAddr) + len(r.Proto) + 4
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 2
		}
	}
	var b strings.Builder
	b.Grow(n)
	for _, f := range [...]string{uri, r.Host, r.RemoteAddr, r.Proto} {
		b.WriteString(f)
		b.WriteByte(0)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			b.WriteString(k)
			b.WriteByte(0)
			b.WriteString(v)
			b.WriteByte(0)
		}
	}
	i := requestInfo{blob: b.String(), tls: r.TLS}
	if keepContext {
		i.ctx = context.WithoutCancel(r.Context())
	}
	return i
}

// field returns the n-th of the request's leading fields (0 URI, 1 host, 2
// remote address, 3 protocol).
func (i *requestInfo) field(n int) string {
	s := i.blob
	for ; n > 0; n-- {
		_, s, _ = strings.Cut(s, "\x00")
	}
	f, _, _ := strings.Cut(s, "\x00")
	return f
}

// header rebuilds the request's header.
func (i *requestInfo) header() http.Header {
	s := i.blob
	for range 4 {
		_, s, _ = strings.Cut(s, "\x00")
	}
	h := make(http.Header)
	for s != "" {
		var k, v string
		k, s, _ = strings.Cut(s, "\x00")
		v, s, _ = strings.Cut(s, "\x00")
		h[k] = append(h[k], v)
	}
	return h
}

// Request returns the handshake request, rebuilt from what the session
// keeps of it: method, URL, headers, host, remote address, TLS state. Its
// context carries the request's values (not its cancellation) when
// Options.KeepRequestContext is set, and is context.Background() otherwise.
// Each call returns a new *http.Request.
func (c *Conn) Request() *http.Request {
	i := &c.req
	uri, proto := i.field(0), i.field(3)
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		u = &url.URL{Path: "/"}
	}
	r := &http.Request{
		Method:     http.MethodGet,
		URL:        u,
		Proto:      proto,
		Header:     i.header(),
		Body:       http.NoBody,
		Host:       i.field(1),
		RemoteAddr: i.field(2),
		RequestURI: uri,
		TLS:        i.tls,
	}
	r.ProtoMajor, r.ProtoMinor, _ = http.ParseHTTPVersion(proto)
	if i.ctx != nil {
		r = r.WithContext(i.ctx)
	}
	return r
}

// RemoteAddr returns the IP address of the client.
func (c *Conn) RemoteAddr() string {
	addr := c.req.field(2)
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

// Protocol returns the Engine.IO protocol revision: 4, or 3 for a
// Socket.IO 2.x client (Options.AllowEIO3).
func (c *Conn) Protocol() int {
	if c.proto3 {
		return 3
	}
	return 4
}

// Transport returns the name of the transport in use: "polling",
// "websocket" or "webtransport".
func (c *Conn) Transport() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.transport.String()
}

// Done returns a channel closed when the session has ended.
func (c *Conn) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.state == stateClosed {
			close(c.done)
		}
	}
	return c.done
}

// Handler receives a session's messages and its end: an alternative to
// OnMessage and OnClose that costs no closure per session.
type Handler interface {
	// OnMessage receives each message from the client; data belongs to the
	// callee.
	OnMessage(data []byte, binary bool)
	// OnClose is called once when the session ends.
	OnClose(reason string, err error)
}

// SetHandler sets the session's handler. Like the callbacks, it must be
// set inside the server's OnConnection function.
func (c *Conn) SetHandler(h Handler) { c.h = h }

// funcHandler adapts the OnMessage, OnClose and OnUpgrade callbacks.
type funcHandler struct {
	message func(data []byte, binary bool)
	close   func(reason string, err error)
	upgrade func(transport string)
}

func (f *funcHandler) OnMessage(data []byte, binary bool) {
	if f.message != nil {
		f.message(data, binary)
	}
}

func (f *funcHandler) OnClose(reason string, err error) {
	if f.close != nil {
		f.close(reason, err)
	}
}

// funcs returns the callbacks' holder. A Handler set with SetHandler is
// kept: the callbacks then complement it.
func (c *Conn) funcs() *funcHandler {
	if f, ok := c.h.(*funcHandler); ok {
		return f
	}
	f := &funcHandler{}
	if prev := c.h; prev != nil {
		f.message, f.close = prev.OnMessage, prev.OnClose
	}
	c.h = f
	return f
}

// OnMessage sets the function that receives each message from the client.
// The data belongs to the callee.
func (c *Conn) OnMessage(fn func(data []byte, binary bool)) { c.funcs().message = fn }

// OnClose sets the function called once when the session ends, with one of
// the Reason strings and, where there is one, the error behind it.
func (c *Conn) OnClose(fn func(reason string, err error)) { c.funcs().close = fn }

// OnUpgrade sets the function called when the session moves to another
// transport.
func (c *Conn) OnUpgrade(fn func(transport string)) { c.funcs().upgrade = fn }

// upgradeCallback returns the OnUpgrade callback, if any.
func (c *Conn) upgradeCallback() func(string) {
	if f, ok := c.h.(*funcHandler); ok {
		return f.upgrade
	}
	return nil
}

// openMessages builds the handshake packet (and the initial packet). The
// JSON is written by hand, in Node's key order: this runs once per
// session, and encoding/json's reflection and copies were a tenth of the
// garbage of a WebSocket set-up that the server itself makes.
func (c *Conn) openMessages() []*Message {
	o := &c.srv.opts
	buf := make([]byte, Headroom, Headroom+128+len(c.id))
	buf = append(buf, eioparser.Open.Char())
	buf = append(buf, `{"sid":`...)
	buf = wellformed.AppendJSONString(buf, c.id)
	buf = append(buf, `,"upgrades":[`...)
	if c.transport == kindPolling && !o.DisableUpgrades {
		// Node's order (polling.upgradesTo); a client probes every upgrade
		// it knows at once, and favours WebTransport.
		n := 0
		for _, t := range [...]string{WebSocket, WebTransport} {
			if o.allows(t) {
				if n > 0 {
					buf = append(buf, ',')
				}
				buf = append(buf, '"')
				buf = append(buf, t...)
				buf = append(buf, '"')
				n++
			}
		}
	}
	buf = append(buf, `],"pingInterval":`...)
	buf = strconv.AppendInt(buf, o.PingInterval.Milliseconds(), 10)
	buf = append(buf, `,"pingTimeout":`...)
	buf = strconv.AppendInt(buf, o.PingTimeout.Milliseconds(), 10)
	buf = append(buf, `,"maxPayload":`...)
	buf = strconv.AppendInt(buf, o.MaxHTTPBufferSize, 10)
	buf = append(buf, '}')
	msgs := []*Message{newTextInPlace(buf, Headroom)}
	if o.InitialPacket != nil {
		msgs = append(msgs, NewTextMessage(o.InitialPacket))
	}
	return msgs
}

// Send queues messages for the client, in order and contiguously. With
// volatile set they are dropped, without error, when the transport is not
// ready to write at once (Node's volatile semantics). Send returns ErrClosed
// once the session is closing, and ErrSlowConsumer when the queue went over
// Options.MaxBufferedBytes, in which case the session is being closed.
func (c *Conn) Send(volatile bool, msgs ...*Message) error {
	n := 0
	for _, m := range msgs {
		n += m.size()
	}
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return ErrClosed
	}
	if volatile && !c.writableLocked() {
		c.mu.Unlock()
		if o := c.srv.obs.Load(); o != nil {
			o.dropped()
		}
		return nil
	}
	if c.queued > 0 && c.queued+n > c.srv.opts.MaxBufferedBytes {
		c.mu.Unlock()
		// Closing runs callbacks that may take locks the caller holds (a
		// broadcast iterating a room), so it happens on its own goroutine.
		go c.finalize(ReasonTransportError, ErrSlowConsumer)
		return ErrSlowConsumer
	}
	c.queue = append(c.queue, msgs...)
	c.queued += n
	c.kickLocked()
	c.mu.Unlock()
	return nil
}

// SendNow is Send for replies that want to leave at once: when the
// WebSocket writer is idle, the caller writes the frames itself, without
// waiting (a full socket buffer falls back to the queue and a flusher),
// which saves handing them to the server's flush queue. Messages already
// queued for that queue go first, with these. Broadcasts should use Send:
// the flush queue's workers batch what accumulates.
func (c *Conn) SendNow(msgs ...*Message) error {
	c.mu.Lock()
	if c.state != stateOpen || c.transport != kindWebSocket || c.ws == nil || c.flushing || (len(c.queue) > 0 && !c.pending) {
		c.mu.Unlock()
		return c.Send(false, msgs...)
	}
	if c.pending {
		// Broadcasts wait for a worker of the flush queue: they go first,
		// with the reply, now.
		c.pending = false
		msgs = append(c.queue[:len(c.queue):len(c.queue)], msgs...)
		c.queue, c.queued = nil, 0
	}
	ws := c.ws
	b64 := c.v3flags&v3WSB64 != 0
	c.flushing = true // the writer role is ours until the frames are out
	c.mu.Unlock()

	var arr [4][]byte
	bufs := arr[:0]
	threshold := c.srv.deflateThreshold()
	for _, m := range msgs {
		bufs = append(bufs, c.wsFrameFor(m, ws, threshold, b64))
	}
	done, err := ws.TryWriteFrames(bufs, c.srv.opts.WriteTimeout)
	if err != nil {
		c.mu.Lock()
		c.flushing = false
		c.mu.Unlock()
		c.finalize(ReasonTransportError, err)
		return err
	}
	if o := c.srv.obs.Load(); o != nil && done {
		o.sent(msgs) // else the flusher counts them
	}
	c.mu.Lock()
	if !done {
		n := 0
		for _, m := range msgs {
			n += m.size()
		}
		c.queue = append(append(make([]*Message, 0, len(msgs)+len(c.queue)), msgs...), c.queue...)
		c.queued += n
	}
	if len(c.queue) > 0 || c.state == stateClosing {
		go c.flushWebSocket() // c.flushing stays set for it
	} else {
		c.flushing = false
	}
	c.mu.Unlock()
	return nil
}

func init() {
	eioseam.SendTextNow = func(c any, buf []byte) error { return c.(*Conn).sendTextNow(buf) }
}

// sendTextNow is SendNow for one text packet held in buf, laid out as for
// NewTextMessageInPlace, by a caller that reuses buf (a pooled buffer):
// buf is not kept. It is written at once when the WebSocket writer is
// idle and the socket takes it whole, which is the common case of a
// reply; otherwise (long-polling, a busy or full socket, compression,
// Engine.IO v3, an observer) a copy of exactly its size takes SendNow's
// way.
func (c *Conn) sendTextNow(buf []byte) error {
	c.mu.Lock()
	ws := c.ws
	if c.state != stateOpen || c.transport != kindWebSocket || ws == nil || c.flushing || len(c.queue) > 0 ||
		c.proto3 || c.srv.obs.Load() != nil {
		c.mu.Unlock()
		return c.SendNow(copyText(buf))
	}
	if _, ok := ws.Compressor(); ok && len(buf)-Headroom >= c.srv.deflateThreshold() {
		c.mu.Unlock()
		return c.SendNow(copyText(buf))
	}
	c.flushing = true // the writer role is ours until the frame is out
	c.mu.Unlock()

	frame := [1][]byte{websocket.FrameInPlace(buf, Headroom, websocket.OpText)}
	done, err := ws.TryWriteFrames(frame[:], c.srv.opts.WriteTimeout)
	if err != nil {
		c.mu.Lock()
		c.flushing = false
		c.mu.Unlock()
		c.finalize(ReasonTransportError, err)
		return err
	}
	c.mu.Lock()
	if !done {
		m := copyText(buf)
		c.queue = append(append(make([]*Message, 0, 1+len(c.queue)), m), c.queue...)
		c.queued += m.size()
	}
	if len(c.queue) > 0 || c.state == stateClosing {
		go c.flushWebSocket() // c.flushing stays set for it
	} else {
		c.flushing = false
	}
	c.mu.Unlock()
	return nil
}

// copyText is NewTextMessageInPlace on a copy of buf.
func copyText(buf []byte) *Message {
	return NewTextMessageInPlace(append(make([]byte, 0, len(buf)), buf...))
}

// SendText queues a message packet holding text (copied).
func (c *Conn) SendText(text []byte) error { return c.Send(false, NewTextMessage(text)) }

// SendBinary queues a message packet holding binary data (not copied).
func (c *Conn) SendBinary(data []byte) error { return c.Send(false, NewBinaryMessage(data)) }

// writableLocked reports whether a packet would leave at once.
func (c *Conn) writableLocked() bool {
	if len(c.queue) > 0 {
		return false
	}
	if c.transport != kindPolling {
		return !c.flushing
	}
	return c.pollWake != nil
}

// kickLocked gets queued packets moving on the current transport.
func (c *Conn) kickLocked() {
	switch c.transport {
	case kindWebSocket:
		if !c.flushing && !c.pending && c.ws != nil {
			c.pending = true
			c.srv.flushq.push(c)
		}
	case kindWebTransport:
		if !c.flushing && c.wt != nil {
			c.flushing = true
			go c.flushWebTransport()
		}
	default:
		c.wakePollLocked()
	}
}

func (c *Conn) wakePollLocked() {
	if c.pollWake != nil {
		select {
		case c.pollWake <- struct{}{}:
		default:
		}
	}
}

// Close closes the session after the packets already queued have been
// written (Node's socket.close()). Packets sent afterwards are refused. The
// close callback runs with reason "forced close".
func (c *Conn) Close() {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return
	}
	c.state = stateClosing
	if c.upgradeWS != nil {
		ws := c.upgradeWS
		c.upgradeWS = nil
		defer ws.Close(websocket.CloseNormal, "")
	}
	if t := c.wt; t != nil && c.transport == kindPolling { // an upgrade's probe
		c.wt = nil
		defer t.close(0, "")
	}
	if c.transport == kindWebTransport {
		c.kickLocked() // its flusher ends the session once the queue is out
		c.mu.Unlock()
		return
	}
	if c.transport == kindWebSocket {
		if !c.flushing {
			c.flushing = true
			go c.flushWebSocket()
		}
		c.mu.Unlock()
		return
	}
	// Long-polling: the next GETs carry what is queued, then a close
	// packet; if they do not come, the session ends after a while anyway.
	c.wakePollLocked()
	c.closeTimer = time.AfterFunc(30*time.Second, func() { c.finalize(ReasonForcedClose, nil) })
	c.mu.Unlock()
}

// Abort ends the session at once, dropping what is queued. The close
// callback runs with the given reason.
func (c *Conn) Abort(reason string, err error) { c.finalize(reason, err) }

// finalize ends the session once: it stops timers, closes the transports,
// forgets the session and runs the close callback.
func (c *Conn) finalize(reason string, err error) {
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		return
	}
	c.state = stateClosed
	c.srv.hb.remove(c)
	if c.closeTimer != nil {
		c.closeTimer.Stop()
	}
	ws, uws := c.ws, c.upgradeWS
	wt := c.wt
	// A writer, or the rest of a partial write that its writer left to
	// the WebSocket (c.flushing is clear then).
	writing := c.flushing || (ws != nil && ws.Writing())
	if c.reg != nil {
		// Before the descriptor is closed, so that a new connection that
		// reuses its number is not mistaken for this one.
		if p, err := netpoll.Default(); err == nil {
			p.Remove(c.reg)
		}
	}
	c.upgradeWS = nil
	c.queue, c.queued = nil, 0
	c.wakePollLocked() // a waiting GET answers with a close (or noop) packet
	if c.post != nil {
		// Cut short the body being read: the POST ends with its session.
		// Under mu, which its handler takes to clear post before it
		// returns: the controller is not used past the handler's end.
		_ = c.post.SetReadDeadline(aLongTimeAgo)
	}
	if c.done != nil {
		close(c.done)
	}
	c.mu.Unlock()

	c.srv.remove(c)
	if ws != nil {
		code := websocket.CloseNormal
		if reason == ReasonTransportError || reason == ReasonParseError {
			code = websocket.CloseProtocolError
		}
		if writing {
			// Close waits for the write in flight, up to two seconds when
			// the client does not read: that must hold up neither the close
			// callback nor Server.Close, which closes sessions in turn.
			go ws.Close(code, "")
		} else {
			_ = ws.Close(code, "")
		}
	}
	if uws != nil {
		_ = uws.Close(websocket.CloseNormal, "")
	}
	if wt != nil {
		wt.close(wtCloseCode(reason), reason)
	}
	c.srv.log.Debug("engineio: session closed", "sid", c.id, "reason", reason, "err", err)
	if o := c.srv.obs.Load(); o != nil {
		o.closed(c, reason, err)
	}
	if c.h != nil {
		c.h.OnClose(reason, err)
	}
}

// startHeartbeat schedules the first ping; the same schedule then serves
// the pong deadline and the next pings.
func (c *Conn) startHeartbeat() {
	c.mu.Lock()
	switch {
	case c.state != stateOpen:
	case c.proto3:
		c.startHeartbeatV3Locked()
	default:
		c.hbDue = time.Now().Add(c.srv.opts.PingInterval).UnixNano()
		c.srv.hb.schedule(c, c.hbDue, true)
	}
	c.mu.Unlock()
}

// onHeartbeat runs when the ping is due, or, while a pong is awaited, at
// its deadline.
func (c *Conn) onHeartbeat() {
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		return
	}
	now := time.Now().UnixNano()
	if c.awaitPong {
		if now < c.hbDue {
			// Early, which a slot timer is not meant to be (the wall clock
			// moved): wait for the deadline, in a later slot.
			c.srv.hb.schedule(c, c.hbDue+1, false)
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		c.finalize(ReasonPingTimeout, nil)
		return
	}
	c.awaitPong = true
	// The client has PingTimeout from now, when the ping is queued (Node's
	// resetPingTimeout), whatever the schedule said.
	c.hbDue = now + int64(c.srv.opts.PingTimeout)
	c.srv.hb.schedule(c, c.hbDue, false)
	c.queue = append(c.queue, pingMessage)
	c.queued += pingMessage.size()
	c.kickLocked()
	c.mu.Unlock()
}

func (c *Conn) onPong() {
	c.mu.Lock()
	if c.awaitPong && c.state != stateClosed {
		c.awaitPong = false
		c.hbDue = time.Now().Add(c.srv.opts.PingInterval).UnixNano()
		c.srv.hb.schedule(c, c.hbDue, true)
	}
	c.mu.Unlock()
}

// expired ends the session if its pong is overdue, even when the timer
// has not run yet, and reports whether the session is gone. A request that
// arrives after the deadline then finds the session closed, as it would on
// a server whose timers are never late.
func (c *Conn) expired() bool {
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		return true
	}
	// Only an awaited pong can be late: a ping that has not left yet (its
	// timer is late) is not the client's fault. At the deadline itself the
	// pong is still in time.
	late := c.awaitPong && time.Now().UnixNano() > c.hbDue
	c.mu.Unlock()
	if late {
		c.finalize(ReasonPingTimeout, nil)
	}
	return late
}

// handlePacket processes a packet from the client. It reports false when
// the session ended because of it.
func (c *Conn) handlePacket(p eioparser.Packet) bool {
	switch p.Type {
	case eioparser.Message:
		c.recvMu.Lock()
		c.mu.Lock()
		open := c.state == stateOpen
		c.mu.Unlock()
		if o := c.srv.obs.Load(); o != nil && open && len(p.Data) > 0 {
			o.received(1, len(p.Data))
		}
		if open && c.h != nil {
			c.h.OnMessage(p.Data, p.Binary)
		}
		c.recvMu.Unlock()
	case eioparser.Pong:
		if c.proto3 {
			c.finalize(ReasonTransportError, ErrHeartbeatDirection)
			return false
		}
		c.onPong()
	case eioparser.Ping:
		if c.proto3 {
			c.onPingV3()
			break
		}
		c.finalize(ReasonTransportError, ErrHeartbeatDirection)
		return false
	case eioparser.Close:
		c.mu.Lock()
		c.closeNoop = true
		if c.transport == kindPolling {
			// The client's GET may be on its way on another connection:
			// let it arrive, so that it ends with a noop rather than an
			// unknown-session error.
			for i := 0; i < 20 && c.pollWake == nil; i++ {
				c.mu.Unlock()
				time.Sleep(time.Millisecond)
				c.mu.Lock()
			}
		}
		c.mu.Unlock()
		c.finalize(ReasonTransportClose, nil)
		return false
	}
	// Open, upgrade and noop packets mean nothing here and are ignored, as
	// the reference server does.
	return true
}
