package socketio

import (
	"encoding/json"
	"errors"
	"fmt"
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
	sockets      []*Socket   // guarded by mu; one per namespace (few: a slice is lighter than a map)
	connectTimer *time.Timer // guarded by mu
	closed       bool        // guarded by mu
}

func newClient(s *Server, conn *engineio.Conn) *client {
	c := &client{srv: s, conn: conn}
	c.decoder.MaxAttachments = s.opts.MaxAttachments
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
	p, err := c.decoder.Add(data, binary)
	if err != nil {
		c.onDecodeError(err)
		return
	}
	if p == nil {
		return // waiting for attachments
	}
	c.mu.Lock()
	s := c.socketLocked(p.Namespace)
	c.mu.Unlock()
	switch {
	case s == nil && p.Type == sioparser.Connect:
		c.connect(p)
	case s != nil && p.Type != sioparser.Connect && p.Type != sioparser.ConnectError:
		s.onPacket(p)
	default:
		// A packet for a namespace the client is not in, or a second
		// CONNECT: the reference server closes the connection.
		c.close()
	}
}

func (c *client) connect(p *sioparser.Packet) {
	var auth map[string]any
	if p.Data != nil {
		if err := json.Unmarshal(p.Data, &auth); err != nil {
			c.onDecodeError(err)
			return
		}
	}
	n := c.srv.namespaceFor(p.Namespace, auth)
	if n == nil {
		c.sendPacket(&sioparser.Packet{Type: sioparser.ConnectError, Namespace: p.Namespace, Data: []byte(`{"message":"Invalid namespace"}`)}, false)
		return
	}
	n.add(c, auth)
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
	}
	c.mu.Unlock()
}

// sendPacket encodes and queues one packet.
func (c *client) sendPacket(p *sioparser.Packet, volatile bool) {
	_ = newPrepared(p).sendNow(c.conn, volatile)
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
	return fmt.Errorf("socketio: handler panicked: %v", r)
}

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
