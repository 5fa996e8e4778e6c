package engineio

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/socketio-go/socketio/eioparser"
	"github.com/socketio-go/socketio/internal/netpoll"
	"github.com/socketio-go/socketio/internal/websocket"
)

// serveWebSocket reads the session's WebSocket from now on: through the
// shared epoll poller when possible, so that an idle connection holds no
// goroutine, else with a goroutine of its own. It returns at once.
func (c *Conn) serveWebSocket(ws *websocket.Conn) {
	ws.SetReadLimit(c.srv.opts.MaxHTTPBufferSize)
	if !c.srv.opts.DisablePoller && netpoll.Supported() {
		if rc, ok := ws.RawConn(); ok {
			if p, err := netpoll.Default(); err == nil {
				c.mu.Lock()
				c.ws = ws
				c.mu.Unlock()
				// The client answers the handshake at once (a Socket.IO
				// CONNECT): read it here, briefly waiting on the runtime
				// poller, before handing the connection to ours.
				c.readMu.Lock()
				stopped, err := c.readAvailable(ws, firstReadLinger, true)
				c.readMu.Unlock()
				if err != nil {
					c.finalize(wsCloseReason(err), err)
					return
				}
				if stopped {
					return
				}
				c.mu.Lock()
				if c.state == stateClosed {
					c.mu.Unlock()
					return
				}
				reg, err := p.Add(rc, (*pollTarget)(c))
				c.reg = reg
				c.mu.Unlock()
				if err != nil {
					c.finalize(ReasonTransportError, err)
				}
				return
			}
		}
	}
	// A fresh goroutine holds the connection from now on, so that the
	// (deeper) stack of the HTTP handler goroutine is released.
	go c.readLoop(ws)
}

// firstReadLinger bounds the wait for the client's first message after the
// handshake or the upgrade.
const firstReadLinger = 20 * time.Millisecond

// A polled WebSocket whose data comes often keeps its reader: readLinger is
// how long the reader then waits for more before handing the connection
// back to the poller, and busyGap the largest gap between two readiness
// events that counts as often. Busy connections so skip the poller's extra
// system calls; quiet ones (one message, then silence: most of them) cost
// no goroutine between messages.
const (
	readLinger = time.Second
	busyGap    = 50 * time.Millisecond
)

// pollTarget is a Conn as the poller sees it (no closure per session).
type pollTarget Conn

func (t *pollTarget) OnReadable() { (*Conn)(t).onReadable() }

// onReadable runs when the polled WebSocket has data: it reads and handles
// everything available, then re-arms the poller.
func (c *Conn) onReadable() {
	if !c.readMu.TryLock() {
		return // another run is reading; it re-arms when done
	}
	c.mu.Lock()
	ws, reg := c.ws, c.reg
	c.mu.Unlock()
	p, _ := netpoll.Default()
	linger := time.Duration(0)
	if time.Now().UnixNano()-c.lastReadable < int64(busyGap) {
		linger = readLinger
	}
	stopped, err := c.readAvailable(ws, linger, false)
	c.readMu.Unlock()
	switch {
	case err != nil:
		c.finalize(wsCloseReason(err), err)
	case !stopped:
		if rerr := p.Rearm(reg); rerr != nil {
			c.finalize(ReasonTransportError, rerr)
		}
	}
}

// readAvailable handles the messages the WebSocket has, waiting up to
// linger for more (with first, only for the first message); stopped
// reports that the session ended because of one. The caller holds readMu.
func (c *Conn) readAvailable(ws *websocket.Conn, linger time.Duration, first bool) (stopped bool, err error) {
	got := false
	handle := func(op websocket.Opcode, data []byte) {
		got = true
		if stopped {
			return
		}
		pkt, err := c.decodeFrame(data, op == websocket.OpBinary)
		if err != nil {
			stopped = true
			c.finalize(ReasonParseError, err)
			return
		}
		if !c.handlePacket(pkt) {
			stopped = true
		}
	}
	if first {
		err = ws.ReadFirst(handle, linger)
	} else {
		err = ws.ReadAvailable(handle, linger)
	}
	if got {
		c.lastReadable = time.Now().UnixNano()
	}
	return stopped, err
}

// readLoop reads the session's WebSocket until it fails or the session ends.
// It runs on the goroutine that owns the WebSocket's reading side.
func (c *Conn) readLoop(ws *websocket.Conn) {
	ws.SetReadLimit(c.srv.opts.MaxHTTPBufferSize)
	for {
		op, data, err := ws.ReadMessage()
		if err != nil {
			c.finalize(wsCloseReason(err), err)
			return
		}
		p, err := c.decodeFrame(data, op == websocket.OpBinary)
		if err != nil {
			c.finalize(ReasonParseError, err)
			return
		}
		if !c.handlePacket(p) {
			return
		}
	}
}

// wsCloseReason maps a read error to Node's reasons: a clean end of the
// connection is a "transport close", anything else a "transport error".
func wsCloseReason(err error) string {
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce):
		switch ce.Code {
		case websocket.CloseNormal, websocket.CloseGoingAway, websocket.CloseNoStatus:
			return ReasonTransportClose
		}
		return ReasonTransportError
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return ReasonTransportClose
	}
	return ReasonTransportError
}

// bufsPool recycles the slices handed to writev by flushers.
var bufsPool = sync.Pool{New: func() any { b := make(net.Buffers, 0, 16); return &b }}

// flushWebSocket writes everything queued, in as few system calls as the
// kernel allows, then exits; Send starts it again when needed. During a
// graceful close it ends the session once the queue is empty.
func (c *Conn) flushWebSocket() {
	bp := bufsPool.Get().(*net.Buffers)
	defer bufsPool.Put(bp)
	for {
		c.mu.Lock()
		if c.state == stateClosed {
			c.flushing = false
			c.mu.Unlock()
			return
		}
		if len(c.queue) == 0 {
			c.flushing = false
			closing := c.state == stateClosing
			if cap(c.queue) > 64 {
				c.queue = nil
			}
			c.mu.Unlock()
			if closing {
				c.finalize(ReasonForcedClose, nil)
			}
			return
		}
		batch := c.queue
		c.queue, c.queued = nil, 0
		ws := c.ws
		b64 := c.v3flags&v3WSB64 != 0
		c.mu.Unlock()

		bufs := (*bp)[:0]
		threshold := c.srv.deflateThreshold()
		for _, m := range batch {
			bufs = append(bufs, c.wsFrameFor(m, ws, threshold, b64))
		}
		*bp = bufs
		bufs, jp := joinSmall(bufs)
		_ = ws.SetWriteDeadline(time.Now().Add(c.srv.opts.WriteTimeout))
		err := ws.WriteFrames(bufs)
		clear(*bp)
		putJoined(jp)
		if err != nil {
			c.mu.Lock()
			c.flushing = false
			c.mu.Unlock()
			c.finalize(ReasonTransportError, err)
			return
		}
		if o := c.srv.obs.Load(); o != nil {
			o.sent(batch)
		}
		// Give the slice back for the next burst unless it grew large.
		clear(batch)
		c.mu.Lock()
		if c.queue == nil && cap(batch) <= 64 {
			c.queue = batch[:0]
		}
		c.mu.Unlock()
	}
}

// handleUpgrade takes a WebSocket request for an existing long-polling
// session: it probes the new transport, then moves the session onto it.
func (c *Conn) handleUpgrade(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if c.srv.opts.Headers != nil {
		c.srv.opts.Headers(h, r)
	}
	c.mu.Lock()
	refuse := c.state != stateOpen || c.upgrading || c.upgraded || c.transport != kindPolling || c.srv.opts.DisableUpgrades
	if !refuse {
		c.upgrading = true // before the 101 goes out: a GET may follow at once
		if c.proto3 {
			c.v3flags = c.v3flags&^v3WSB64 | v3QueryFlags(r.URL.RawQuery, WebSocket)
		}
	}
	c.mu.Unlock()
	ws, err := websocket.AcceptWith(w, r, &websocket.AcceptOptions{Header: h, Deflate: c.srv.wsDeflate})
	if err != nil {
		if !refuse {
			c.endUpgrade(nil)
		}
		c.srv.rejectWebSocket(w, r, err)
		return
	}
	if refuse {
		// Like Node: complete the handshake, then close at once.
		_ = ws.Close(websocket.CloseNormal, "")
		return
	}
	c.mu.Lock()
	if c.state != stateOpen {
		c.upgrading = false
		c.mu.Unlock()
		_ = ws.Close(websocket.CloseNormal, "")
		return
	}
	c.upgradeWS = ws
	timer := time.AfterFunc(c.srv.opts.UpgradeTimeout, func() { c.abortUpgrade(ws) })
	c.mu.Unlock()
	go c.probe(ws, timer)
}

// probe runs the upgrade handshake on ws ("2probe", "3probe", "5") and then
// becomes the session's reader.
func (c *Conn) probe(ws *websocket.Conn, timer *time.Timer) {
	ws.SetReadLimit(c.srv.opts.MaxHTTPBufferSize)
	for {
		op, data, err := ws.ReadMessage()
		if err != nil {
			timer.Stop()
			c.abortUpgrade(ws)
			return
		}
		p, err := c.decodeFrame(data, op == websocket.OpBinary)
		switch {
		case err == nil && p.Type == eioparser.Ping && string(p.Data) == "probe":
			if ws.WriteMessage(websocket.OpText, probeAnswer.payload()) != nil {
				timer.Stop()
				c.abortUpgrade(ws)
				return
			}
			c.mu.Lock()
			if c.upgradeWS == ws {
				c.probed = true
				if len(c.queue) == 0 {
					c.wakePollLocked() // answers a waiting GET with a noop
				}
			}
			c.mu.Unlock()
		case err == nil && p.Type == eioparser.Upgrade:
			timer.Stop()
			c.mu.Lock()
			if c.upgradeWS != ws || c.state == stateClosed {
				c.mu.Unlock()
				_ = ws.Close(websocket.CloseNormal, "")
				return
			}
			c.upgradeWS = nil
			c.upgrading = false
			c.probed = false
			c.upgraded = true
			c.transport = kindWebSocket
			c.ws = ws
			if c.closeTimer != nil {
				c.closeTimer.Stop()
			}
			c.wakePollLocked() // a GET still waiting ends with a noop
			if !c.flushing && (len(c.queue) > 0 || c.state == stateClosing) {
				c.flushing = true
				go c.flushWebSocket()
			}
			c.mu.Unlock()
			if o := c.srv.obs.Load(); o != nil {
				o.upgraded(c)
			}
			if fn := c.upgradeCallback(); fn != nil {
				fn(WebSocket)
			}
			c.serveWebSocket(ws)
			return
		default:
			// Anything else during an upgrade aborts it; the session goes on
			// over long-polling.
			timer.Stop()
			c.abortUpgrade(ws)
			return
		}
	}
}

// abortUpgrade drops an upgrade attempt.
func (c *Conn) abortUpgrade(ws *websocket.Conn) {
	if !c.endUpgrade(ws) {
		_ = ws.Close(websocket.CloseNormal, "")
	}
}

// endUpgrade clears the upgrade state of ws (or of a failed handshake when
// ws is nil) and reports whether ws is the session's transport, which
// happens when a timer loses the race with a completed upgrade.
func (c *Conn) endUpgrade(ws *websocket.Conn) (inUse bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ws != nil && c.ws == ws {
		return true
	}
	if c.upgradeWS == ws {
		c.upgradeWS = nil
		c.upgrading = false
		c.probed = false
		c.wakePollLocked()
	}
	return false
}
