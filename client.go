package socketio

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/sioparser"
)

// client is one Engine.IO connection and the sockets multiplexed on it.
type client struct {
	srv     *Server
	conn    *engineio.Conn
	decoder sioparser.Decoder // owned by the connection's reading goroutine

	mu           sync.Mutex
	sockets      []*Socket   // guarded by mu; one per namespace, in the order they connected
	more         *clientMore // guarded by mu; allocated by the first client that needs it
	connectTimer *time.Timer // guarded by mu
	closed       bool        // guarded by mu
	refused      uint16      // guarded by mu; CONNECTs refused so far (saturating)
}

// clientMore holds what most clients never need, so that they stay small.
type clientMore struct {
	// byName indexes sockets once there are more than smallSockets.
	byName map[string]*Socket
	// attTimer closes the connection when a binary packet waits too long
	// for its attachments; attDeadline is zero when none is awaited.
	attTimer    *time.Timer
	attDeadline time.Time
}

// smallSockets is how many namespaces a client may join before its sockets
// are indexed by name: few clients join more, and scanning a few beats a map.
const smallSockets = 8

// errAttachmentsTimeout ends a connection whose binary packet did not get
// its attachments within Options.AttachmentTimeout.
var errAttachmentsTimeout = errors.New("socketio: binary packet still missing attachments after AttachmentTimeout")

func newClient(s *Server, conn *engineio.Conn) *client {
	c := &client{srv: s, conn: conn}
	c.decoder.MaxAttachments = s.opts.MaxAttachments
	// A binary packet's attachments are held until the last arrives: all
	// of it may weigh no more than one message may.
	c.decoder.MaxBytes = s.engine.Options().MaxHTTPBufferSize
	c.mu.Lock()
	defer c.mu.Unlock()
	c.connectTimer = time.AfterFunc(s.opts.ConnectTimeout, func() {
		c.mu.Lock()
		idle := len(c.sockets) == 0
		c.mu.Unlock()
		if idle {
			c.close()
		}
	})
	return c
}

func (c *client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// OnMessage receives each Engine.IO message, in order (engineio.Handler).
func (c *client) OnMessage(data []byte, binary bool) {
	if pr := c.srv.opts.Parser; pr != nil {
		// One message, one packet: nothing waits for attachments.
		p, err := pr.Decode(data, binary, c.srv.limits)
		if err != nil {
			c.onDecodeError(err)
			return
		}
		c.onPacket(p)
		return
	}
	waiting := c.decoder.Pending()
	pkt := packetPool.Get().(*sioparser.Packet)
	defer putPacket(pkt)
	p, err := c.decoder.AddInto(pkt, data, binary)
	if err != nil {
		if waiting {
			c.awaitAttachments(false)
		}
		c.onDecodeError(err)
		return
	}
	if p == nil {
		if !waiting {
			c.awaitAttachments(true)
		}
		return // waiting for attachments
	}
	if waiting {
		c.awaitAttachments(false)
	}
	c.onPacket(p)
}

// packetPool recycles the packets decoded from text messages: nothing
// keeps a *Packet after onPacket returns (its slices, which refer to the
// message, may be kept).
var packetPool = sync.Pool{New: func() any { return new(sioparser.Packet) }}

func putPacket(p *sioparser.Packet) {
	*p = sioparser.Packet{}
	packetPool.Put(p)
}

// onPacket hands a decoded packet to its socket, or connects one.
func (c *client) onPacket(p *sioparser.Packet) {
	var query string
	if c.isV3() {
		p.Namespace, query = splitV3Namespace(p.Namespace)
	}
	c.mu.Lock()
	s := c.socketLocked(p.Namespace)
	c.mu.Unlock()
	switch {
	case s == nil && p.Type == sioparser.Connect:
		c.connect(p, query)
	case s != nil && p.Type != sioparser.Connect && p.Type != sioparser.ConnectError:
		s.onPacket(p)
	default:
		// A packet for a namespace the client is not in, or a second
		// CONNECT: the reference server closes the connection.
		c.close()
	}
}

// awaitAttachments starts or stops the clock of a binary packet waiting for
// its attachments.
func (c *client) awaitAttachments(start bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.moreLocked()
	if !start {
		m.attDeadline = time.Time{}
		if m.attTimer != nil {
			m.attTimer.Stop()
		}
		return
	}
	d := c.srv.opts.AttachmentTimeout
	m.attDeadline = time.Now().Add(d)
	if m.attTimer == nil {
		m.attTimer = time.AfterFunc(d, c.attachmentsLate)
	} else {
		m.attTimer.Reset(d)
	}
}

// attachmentsLate closes the connection if a binary packet is still
// incomplete at its deadline (a stale run of the timer finds none, or a
// later one).
func (c *client) attachmentsLate() {
	c.mu.Lock()
	late := c.more != nil && !c.more.attDeadline.IsZero() && !time.Now().Before(c.more.attDeadline)
	c.mu.Unlock()
	if late {
		c.onDecodeError(errAttachmentsTimeout)
	}
}

func (c *client) moreLocked() *clientMore {
	if c.more == nil {
		c.more = new(clientMore)
	}
	return c.more
}

// connect joins the namespace of a CONNECT packet; query is, for a v3
// client, the namespace's query string (its auth).
func (c *client) connect(p *sioparser.Packet, query string) {
	max := c.srv.opts.MaxNamespacesPerConnection
	c.mu.Lock()
	full := len(c.sockets) >= max || int(c.refused) >= max
	c.mu.Unlock()
	if full {
		// Before the namespace is looked up: a dynamic parent would create
		// it, which is what the bound is for. Refused CONNECTs count too:
		// a dynamic child is created before its middlewares refuse.
		c.srv.log.Debug("socketio: namespace refused: too many on one connection", "sid", c.conn.ID(), "namespace", p.Namespace)
		c.sendPacket(&sioparser.Packet{Type: sioparser.ConnectError, Namespace: p.Namespace, Data: []byte(`{"message":"Too many namespaces on this connection"}`)}, false)
		return
	}
	var auth map[string]any
	if c.isV3() {
		auth = v3Auth(query)
	} else if p.Data != nil {
		if err := json.Unmarshal(p.Data, &auth); err != nil {
			c.onDecodeError(err)
			return
		}
	}
	n := c.srv.namespaceFor(p.Namespace, auth)
	if n == nil {
		c.sendPacket(&sioparser.Packet{Type: sioparser.ConnectError, Namespace: p.Namespace, Data: []byte(`{"message":"Invalid namespace"}`)}, false)
		c.countRefusal()
		return
	}
	if !n.add(c, auth) {
		c.countRefusal()
	}
}

func (c *client) countRefusal() {
	c.mu.Lock()
	if c.refused < math.MaxUint16 {
		c.refused++
	}
	c.mu.Unlock()
}

// onDecodeError reports an undecodable packet to the sockets and closes the
// connection.
func (c *client) onDecodeError(err error) {
	c.mu.Lock()
	sockets := c.socketList()
	c.mu.Unlock()
	for _, s := range sockets {
		s.reportErr(err)
	}
	c.srv.log.Debug("socketio: invalid packet, closing the connection", "sid", c.conn.ID(), "err", err)
	// Sockets learn the reason first: closing the connection may report
	// another one from the Engine.IO layer.
	c.onClose(ReasonParseError, err)
	c.conn.Close()
}

func (c *client) socketList() []*Socket {
	return slices.Clone(c.sockets)
}

func (c *client) socketLocked(nsp string) *Socket {
	if c.more != nil && c.more.byName != nil {
		return c.more.byName[nsp]
	}
	for _, s := range c.sockets {
		if s.nsp.name == nsp {
			return s
		}
	}
	return nil
}

func (c *client) addSocket(s *Socket) {
	c.mu.Lock()
	c.sockets = append(c.sockets, s)
	if len(c.sockets) > smallSockets {
		m := c.moreLocked()
		if m.byName == nil {
			m.byName = make(map[string]*Socket, 2*smallSockets)
			for _, x := range c.sockets {
				m.byName[x.nsp.name] = x
			}
		}
		m.byName[s.nsp.name] = s
	}
	if c.connectTimer != nil {
		c.connectTimer.Stop()
		c.connectTimer = nil
	}
	c.mu.Unlock()
}

func (c *client) removeSocket(s *Socket) {
	c.mu.Lock()
	if i := slices.Index(c.sockets, s); i >= 0 {
		c.sockets = slices.Delete(c.sockets, i, i+1)
		if c.more != nil && c.more.byName[s.nsp.name] == s {
			delete(c.more.byName, s.nsp.name)
		}
	}
	c.mu.Unlock()
}

// sendPacket encodes and queues one packet.
func (c *client) sendPacket(p *sioparser.Packet, volatile bool) {
	_ = c.srv.prepare(p).sendNow(c.conn, volatile)
}

// disconnectAll disconnects every socket (telling the client) and closes
// the connection once that is written.
func (c *client) disconnectAll() {
	c.mu.Lock()
	sockets := c.socketList()
	c.mu.Unlock()
	for _, s := range sockets {
		s.Disconnect(false)
	}
	c.close()
}

// close closes the connection from the server side.
func (c *client) close() {
	c.onClose(ReasonForcedServerClose, nil)
	c.conn.Close()
}

// OnClose is the Engine.IO close callback (engineio.Handler).
func (c *client) OnClose(reason string, err error) {
	c.onClose(DisconnectReason(reason), err)
}

// onClose disconnects every socket once.
func (c *client) onClose(reason DisconnectReason, err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	if c.connectTimer != nil {
		c.connectTimer.Stop()
		c.connectTimer = nil
	}
	if c.more != nil && c.more.attTimer != nil {
		c.more.attTimer.Stop()
		c.more.attDeadline = time.Time{}
	}
	sockets := c.socketList()
	c.mu.Unlock()
	for _, s := range sockets {
		s.onClose(reason, err)
	}
	c.srv.removeClient(c)
}

// safeCall runs user code, turning a panic into an error (and a log with
// the stack), so that one bad handler does not bring the server down.
func safeCall(srv *Server, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicError(srv, r)
		}
	}()
	return fn()
}

// panicError logs a recovered panic with its stack and describes it.
func panicError(srv *Server, r any) error {
	srv.log.Error("socketio: handler panicked", "panic", r, "stack", string(debug.Stack()))
	return fmt.Errorf("%w: %v", errPanicked, r)
}

// errPanicked is wrapped by the error of a handler that panicked, which
// panicError has logged already.
var errPanicked = errors.New("socketio: handler panicked")

// mustJSON encodes a value built by this package.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		var ue *json.UnsupportedTypeError
		if errors.As(err, &ue) {
			b, _ = json.Marshal(map[string]any{"message": fmt.Sprint(v)})
			return b
		}
		b, _ = json.Marshal(map[string]string{"message": err.Error()})
	}
	return b
}
