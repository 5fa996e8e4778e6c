package engineio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/socketio-go/socketio/eioparser"
	"github.com/socketio-go/socketio/internal/websocket"
)

// The transports of ClientConn: long-polling requests, the WebSocket reader
// and writer, and the upgrade from the first to the second.

// clientRequestError describes a failed long-polling request.
type clientRequestError struct {
	status  int
	message string
	err     error
}

func (e *clientRequestError) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	s := fmt.Sprintf("HTTP %d", e.status)
	if e.message != "" {
		s += ": " + e.message
	}
	return s
}

func (e *clientRequestError) Unwrap() error { return e.err }

// serverMessage extracts the message of an Engine.IO error body
// ({"code":N,"message":"..."}), or returns the body's beginning.
func serverMessage(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		return e.Message
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// roundTrip sends one long-polling request and returns the body of its
// 200 answer.
func (c *ClientConn) roundTrip(ctx context.Context, method string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.requestURL(c.pollURL, Polling, true), rd)
	if err != nil {
		return nil, &clientRequestError{err: err}
	}
	for k, vs := range c.opts.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	resp, err := c.httpc.Do(req)
	if err != nil {
		return nil, &clientRequestError{err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxMessageSize+1))
	if err != nil {
		return nil, &clientRequestError{status: resp.StatusCode, err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &clientRequestError{status: resp.StatusCode, message: serverMessage(data)}
	}
	if int64(len(data)) > c.opts.MaxMessageSize {
		return nil, &clientRequestError{status: resp.StatusCode, err: errors.New("engineio: response larger than MaxMessageSize")}
	}
	return data, nil
}

// handshakePolling opens the session with a long-polling GET.
func (c *ClientConn) handshakePolling(ctx context.Context) error {
	body, err := c.roundTrip(ctx, http.MethodGet, nil)
	if err != nil {
		var re *clientRequestError
		errors.As(err, &re)
		return &DialError{Transport: Polling, StatusCode: re.status, Message: re.message, Err: re.err}
	}
	packets, err := eioparser.DecodePayload(body)
	if len(packets) == 0 {
		if err == nil {
			err = eioparser.ErrInvalidPacket
		}
		return &DialError{Transport: Polling, Message: "invalid handshake response", Err: err}
	}
	if err := c.applyHandshake(Polling, packets[0]); err != nil {
		return err
	}
	// Whatever followed the open packet is delivered by the reader; an
	// invalid packet among it ends the session there, as in the loop.
	c.pending = packets[1:]
	if err != nil {
		c.pending = append(c.pending, eioparser.Packet{Type: 255})
	}
	return nil
}

// pollLoop is the long-polling reader: one GET after the other until the
// session ends or an upgrade pauses it.
func (c *ClientConn) pollLoop() {
	if len(c.pending) > 0 {
		packets := c.pending
		c.pending = nil
		if !c.deliverPolled(packets) {
			return
		}
	}
	for {
		c.mu.Lock()
		if c.state == clientClosed || c.pausing || c.transport != Polling {
			c.polling = false
			c.signalPauseLocked()
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		body, err := c.roundTrip(c.ctx, http.MethodGet, nil)
		if err != nil {
			c.finalize(ReasonTransportError, fmt.Errorf("engineio: poll: %w", err))
			return
		}
		packets, derr := eioparser.DecodePayload(body)
		if derr != nil {
			packets = append(packets, eioparser.Packet{Type: 255})
		}
		if !c.deliverPolled(packets) {
			return
		}
	}
}

// deliverPolled delivers a long-polling payload; a packet of type 255 marks
// an undecodable rest.
func (c *ClientConn) deliverPolled(packets []eioparser.Packet) bool {
	n := len(packets)
	bad := n > 0 && packets[n-1].Type == 255
	if bad {
		packets = packets[:n-1]
	}
	if !c.deliver(packets) {
		return false
	}
	if bad {
		c.finalize(ReasonTransportError, eioparser.ErrInvalidPacket)
		return false
	}
	return true
}

// signalPauseLocked wakes an upgrade waiting for polling to go idle.
func (c *ClientConn) signalPauseLocked() {
	select {
	case c.pauseKick <- struct{}{}:
	default:
	}
}

// writeLoop writes what is queued on the current transport, then exits.
// During a graceful close it ends the session once the queue is empty.
func (c *ClientConn) writeLoop() {
	for {
		c.mu.Lock()
		if c.state == clientClosed || c.pausing {
			c.writing = false
			c.signalPauseLocked()
			c.mu.Unlock()
			return
		}
		if len(c.queue) == 0 {
			c.writing = false
			closing := c.state == clientClosing
			transport := c.transport
			c.signalPauseLocked()
			c.mu.Unlock()
			if closing {
				if transport == Polling {
					// Best effort: the server ends the session either way.
					ctx, cancel := context.WithTimeout(c.ctx, clientGraceTimeout)
					_, _ = c.roundTrip(ctx, http.MethodPost, eioparser.AppendPacket(nil, clientMessagePacket(clientClose)))
					cancel()
				}
				c.finalize(ReasonForcedClose, nil)
			}
			return
		}
		if c.transport == WebSocket {
			msgs := c.queue
			c.queue = nil
			ws := c.ws
			c.mu.Unlock()
			for _, m := range msgs {
				op := websocket.OpText
				if m.Binary() {
					op = websocket.OpBinary
				}
				if err := ws.WriteMessage(op, m.Data()); err != nil {
					c.finalize(ReasonTransportError, fmt.Errorf("engineio: websocket write: %w", err))
					c.mu.Lock()
					c.writing = false
					c.mu.Unlock()
					return
				}
			}
			continue
		}
		msgs := c.takePayloadLocked()
		c.mu.Unlock()
		buf := make([]byte, 0, 64)
		for i, m := range msgs {
			if i > 0 {
				buf = append(buf, eioparser.Separator)
			}
			buf = eioparser.AppendPacket(buf, clientMessagePacket(m))
		}
		if _, err := c.roundTrip(c.ctx, http.MethodPost, buf); err != nil {
			c.finalize(ReasonTransportError, fmt.Errorf("engineio: post: %w", err))
			c.mu.Lock()
			c.writing = false
			c.mu.Unlock()
			return
		}
	}
}

// takePayloadLocked removes from the queue the messages of the next
// long-polling POST: as many as fit in the server's maxPayload (at least
// one), as the reference client does.
func (c *ClientConn) takePayloadLocked() []*Message {
	n := len(c.queue)
	if c.maxPayload > 0 && n > 1 {
		size := int64(0)
		for i, m := range c.queue {
			p := clientMessagePacket(m)
			size += int64(eioparser.EncodedLen(p))
			if i > 0 {
				size++ // separator
			}
			if i > 0 && size > c.maxPayload {
				n = i
				break
			}
		}
	}
	msgs := c.queue[:n:n]
	c.queue = c.queue[n:]
	if len(c.queue) == 0 {
		c.queue = nil
	}
	return msgs
}

// wsHeader returns the header of a WebSocket handshake: the user's fields
// and the cookies of the HTTP client's jar.
func (c *ClientConn) wsHeader() http.Header {
	h := c.opts.Header.Clone()
	if c.httpc.Jar != nil {
		if h == nil {
			h = http.Header{}
		}
		if u, err := http.NewRequest(http.MethodGet, c.pollURL, nil); err == nil {
			for _, ck := range c.httpc.Jar.Cookies(u.URL) {
				h.Add("Cookie", ck.String())
			}
		}
	}
	return h
}

// dialWebSocket opens a WebSocket for the session (or for a new one when
// the sid is not known yet).
func (c *ClientConn) dialWebSocket(ctx context.Context) (*websocket.Conn, error) {
	_, deflate := c.opts.PerMessageDeflate.withDefaults()
	ws, resp, err := websocket.Dial(ctx, c.requestURL(c.wsURL, WebSocket, false), &websocket.DialOptions{
		Header:    c.wsHeader(),
		TLSConfig: c.opts.TLSConfig,
		NetDial:   c.opts.NetDial,
		Deflate:   deflate,
	})
	if err != nil {
		de := &DialError{Transport: WebSocket, Err: err}
		var he *websocket.HandshakeError
		if errors.As(err, &he) && resp != nil {
			de.StatusCode = he.Status
			de.Message = serverMessage([]byte(he.Message))
			de.Err = nil
		}
		return nil, de
	}
	ws.SetReadLimit(c.opts.MaxMessageSize)
	if c.httpc.Jar != nil && resp != nil {
		c.httpc.Jar.SetCookies(resp.Request.URL, resp.Cookies())
	}
	return ws, nil
}

// readWithContext reads one message, giving up when ctx is done.
func readWithContext(ctx context.Context, ws *websocket.Conn) (websocket.Opcode, []byte, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = ws.SetReadDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = ws.SetReadDeadline(time.Unix(1, 0)) })
	op, data, err := ws.ReadMessage()
	if !stop() || ctx.Err() != nil {
		if err == nil {
			err = ctx.Err()
		} else {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return 0, nil, err
	}
	_ = ws.SetReadDeadline(time.Time{})
	return op, data, err
}

// handshakeWebSocket opens the session on a WebSocket: the server's first
// message is the open packet.
func (c *ClientConn) handshakeWebSocket(ctx context.Context) (*websocket.Conn, error) {
	ws, err := c.dialWebSocket(ctx)
	if err != nil {
		return nil, err
	}
	op, data, err := readWithContext(ctx, ws)
	if err != nil {
		ws.Close(websocket.CloseNormal, "")
		return nil, &DialError{Transport: WebSocket, Message: "no open packet", Err: err}
	}
	p, err := eioparser.DecodePacket(data, op == websocket.OpBinary)
	if err == nil {
		err = c.applyHandshake(WebSocket, p)
	}
	if err != nil {
		ws.Close(websocket.CloseProtocolError, "")
		var de *DialError
		if !errors.As(err, &de) {
			err = &DialError{Transport: WebSocket, Message: "invalid open packet", Err: err}
		}
		return nil, err
	}
	return ws, nil
}

// clientCloseReason maps a WebSocket read error to the reference client's
// reasons: the end of the connection, clean or not, is a "transport close"
// (the browser's close event); anything else a "transport error".
func clientCloseReason(err error) string {
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return ReasonTransportClose
	}
	return ReasonTransportError
}

// readWebSocket is the WebSocket reader.
func (c *ClientConn) readWebSocket(ws *websocket.Conn) {
	for {
		op, data, err := ws.ReadMessage()
		if err != nil {
			c.finalize(clientCloseReason(err), err)
			return
		}
		p, err := eioparser.DecodePacket(data, op == websocket.OpBinary)
		if err != nil {
			c.finalize(ReasonTransportError, err)
			return
		}
		if !c.deliver([]eioparser.Packet{p}) {
			return
		}
	}
}

// upgrade probes a WebSocket for the long-polling session and moves the
// session onto it: ping "probe", pong "probe", pause polling, upgrade
// packet. On failure the session stays on long-polling.
func (c *ClientConn) upgrade() {
	ctx, cancel := context.WithTimeout(c.ctx, clientUpgradeTimeout)
	defer cancel()
	fail := func(ws *websocket.Conn, why string, err error) {
		c.log.Debug("engineio: client upgrade failed", "sid", c.sid, "why", why, "err", err)
		c.mu.Lock()
		if c.probeWS == ws {
			c.probeWS = nil
		}
		if c.pausing {
			c.pausing = false
			if c.state == clientOpen && !c.polling {
				c.polling = true
				c.goLocked(c.pollLoop)
			}
			c.kickLocked()
		}
		c.mu.Unlock()
		if ws != nil {
			ws.Close(websocket.CloseNormal, "")
		}
	}
	ws, err := c.dialWebSocket(ctx)
	if err != nil {
		fail(nil, "dial", err)
		return
	}
	c.mu.Lock()
	if c.state != clientOpen {
		c.mu.Unlock()
		ws.Close(websocket.CloseNormal, "")
		return
	}
	c.probeWS = ws
	c.mu.Unlock()

	if err := ws.WriteMessage(websocket.OpText, clientProbe.Data()); err != nil {
		fail(ws, "probe write", err)
		return
	}
	op, data, err := readWithContext(ctx, ws)
	if err != nil || op != websocket.OpText || string(data) != "3probe" {
		fail(ws, "probe answer "+string(data), err)
		return
	}

	// Pause polling: no new GET or POST; wait for those under way.
	c.mu.Lock()
	if c.state != clientOpen || c.probeWS != ws {
		c.mu.Unlock()
		fail(ws, "session closing", nil)
		return
	}
	c.pausing = true
	for c.polling || c.writing {
		c.mu.Unlock()
		select {
		case <-c.pauseKick:
		case <-ctx.Done():
			fail(ws, "pause", ctx.Err())
			return
		}
		c.mu.Lock()
		if c.state != clientOpen || c.probeWS != ws {
			c.mu.Unlock()
			fail(ws, "session closing", nil)
			return
		}
	}
	c.mu.Unlock()

	if err := ws.WriteMessage(websocket.OpText, clientUpgrade.Data()); err != nil {
		fail(ws, "upgrade write", err)
		return
	}
	c.mu.Lock()
	if c.state != clientOpen || c.probeWS != ws {
		c.mu.Unlock()
		fail(ws, "session closing", nil)
		return
	}
	c.probeWS = nil
	c.ws = ws
	c.transport = WebSocket
	c.pausing = false
	c.kickLocked()
	c.mu.Unlock()
	c.log.Debug("engineio: client upgraded", "sid", c.sid)
	if c.opts.OnUpgrade != nil {
		c.opts.OnUpgrade(WebSocket)
	}
	c.readWebSocket(ws)
}
