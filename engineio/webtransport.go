package engineio

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/socketio-go/socketio/eioparser"
	"github.com/socketio-go/socketio/internal/id"
	"github.com/socketio-go/socketio/internal/wellformed"
	"github.com/socketio-go/socketio/internal/wtseam"
)

// Sessions over WebTransport. Package webtransport runs the HTTP/3 server
// (quic-go) and hands each session to the Server through internal/wtseam;
// this file runs it: the handshake, or the upgrade of a long-polling
// session, then the stream's reader and flusher. A session's packets travel
// on one bidirectional stream that the client opens, each framed as
// engine.io-parser's createPacketEncoderStream does: a header byte (the high
// bit set for binary data, then the length as in a WebSocket frame: up to
// 125, 126 and 16 bits, or 127 and 64 bits) and the packet ("<type><data>"
// as UTF-8, or the raw binary data).

func init() {
	wtseam.Admit = func(e any, w http.ResponseWriter, r *http.Request) bool {
		return e.(*Server).admitWebTransport(w, r)
	}
	wtseam.Serve = func(e any, s wtseam.Session, r *http.Request) {
		e.(*Server).serveWebTransport(s, r)
	}
}

const (
	// maxOpenPacket bounds the first packet of a stream: "0", or an open
	// packet naming the session to upgrade ({"sid":"..."}).
	maxOpenPacket = 4096
	// wtReadBuffer is the size of a stream's read buffer.
	wtReadBuffer = 4096
	// wtLinger is how long a session closed gracefully (Conn.Close) stays
	// open after its stream was ended, for the client to read what it
	// holds: closing a WebTransport session resets its streams, which
	// drops data the client has not read yet. Socket.IO clients close the
	// session themselves once they have read the DISCONNECT.
	wtLinger = 2 * time.Second
)

// errWTFrame: a frame of zero length, or longer than MaxHTTPBufferSize (the
// decoder of engine.io-parser yields an error packet for both).
var errWTFrame = errors.New("engineio: invalid WebTransport frame length")

// wtTransport is the WebTransport stream that a session uses, or is being
// upgraded to.
type wtTransport struct {
	sess     wtseam.Session
	st       wtseam.Stream
	br       *bufio.Reader // owned by the stream's reader
	finished atomic.Bool   // the write side was ended by a graceful close
}

// admitWebTransport checks a CONNECT request as a WebSocket handshake is
// checked, before the session is accepted.
func (s *Server) admitWebTransport(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.Headers != nil {
		s.opts.Headers(w.Header(), r)
	}
	var e *RequestError
	switch {
	case headerTooLarge(r, s.opts.MaxRequestHeaderBytes):
		e = &RequestError{Code: BadRequest, Message: "Request Header Fields Too Large", Context: "REQUEST_HEADER_TOO_LARGE", Request: r}
	case !s.opts.allows(WebTransport):
		e = &RequestError{Code: UnknownTransport, Request: r}
	case invalidHeaderValue(r.Header.Get("Origin")):
		e = &RequestError{Code: BadRequest, Context: "INVALID_ORIGIN", Request: r}
	case !s.originAllowed(r):
		e = &RequestError{Code: Forbidden, Context: originNotAllowed, Request: r}
	case s.isClosed():
		e = &RequestError{Code: BadRequest, Message: "Server closed", Request: r}
	default:
		return true
	}
	if e.Message == "" {
		e.Message = e.Code.Message()
	}
	s.refused(e)
	if e.Context == "REQUEST_HEADER_TOO_LARGE" {
		h := w.Header()
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(len(e.Message)))
		w.WriteHeader(http.StatusRequestHeaderFieldsTooLarge)
		_, _ = io.WriteString(w, e.Message)
		return false
	}
	writeJSONError(w, e.Code, e.Message)
	return false
}

// refused reports a refused request or session, as reject does, without
// answering it.
func (s *Server) refused(e *RequestError) {
	s.log.Debug("engineio: request rejected", "code", int(e.Code), "message", e.Message, "context", e.Context, "transport", WebTransport, "remote", e.Request.RemoteAddr)
	if s.onConnError != nil {
		s.onConnError(e)
	}
	if o := s.obs.Load(); o != nil {
		o.refused(e)
	}
}

// serveWebTransport runs an accepted session: it waits for the client's
// stream and its first packet (both within UpgradeTimeout, as Node), then
// opens a new Engine.IO session, or upgrades the one the packet names.
func (s *Server) serveWebTransport(sess wtseam.Session, r *http.Request) {
	deadline := time.Now().Add(s.opts.UpgradeTimeout)
	ctx, cancel := context.WithDeadline(sess.Context(), deadline)
	st, err := sess.AcceptStream(ctx)
	cancel()
	if err != nil {
		s.refused(&RequestError{Code: BadRequest, Message: BadRequest.Message(), Context: "WEBTRANSPORT_NO_STREAM", Request: r})
		sess.Close(0, "")
		return
	}
	t := &wtTransport{sess: sess, st: st, br: bufio.NewReaderSize(st, wtReadBuffer)}
	_ = st.SetReadDeadline(deadline)
	p, err := t.readPacket(min(s.opts.MaxHTTPBufferSize, maxOpenPacket))
	_ = st.SetReadDeadline(time.Time{})
	if err != nil || p.Type != eioparser.Open {
		s.refused(&RequestError{Code: BadRequest, Message: BadRequest.Message(), Context: "WEBTRANSPORT_HANDSHAKE_ERROR", Request: r})
		t.close(0, "")
		return
	}
	if p.Data == nil {
		s.handshakeWebTransport(t, r)
		return
	}
	var c *Conn
	if sid, ok := openPacketSID(p.Data); ok {
		c = s.Conn(sid)
	}
	if c == nil || c.expired() {
		s.refused(&RequestError{Code: UnknownSID, Message: UnknownSID.Message(), Request: r})
		t.close(0, "")
		return
	}
	c.upgradeWebTransport(t)
}

// openPacketSID reads the session id of an upgrade's open packet: the
// string "sid" of a JSON object (Node's parseSessionId).
func openPacketSID(data []byte) (string, bool) {
	var v map[string]any
	if json.Unmarshal(data, &v) != nil {
		return "", false
	}
	sid, ok := v["sid"].(string)
	return sid, ok
}

// handshakeWebTransport opens a session whose first transport is t.
func (s *Server) handshakeWebTransport(t *wtTransport, r *http.Request) {
	if s.opts.AllowRequest != nil {
		if err := s.opts.AllowRequest(r); err != nil {
			s.refused(&RequestError{Code: Forbidden, Message: err.Error(), Request: r})
			t.close(0, Forbidden.Message())
			return
		}
	}
	sid := ""
	if s.opts.GenerateID != nil {
		var err error
		if sid, err = s.opts.GenerateID(r); err != nil || sid == "" {
			s.refused(&RequestError{Code: BadRequest, Message: BadRequest.Message(), Context: "ID_GENERATION_ERROR", Request: r})
			t.close(0, "")
			return
		}
	} else {
		sid = id.New()
	}
	c := newConn(s, sid, r, WebTransport)
	c.wt = t
	c.flushing = true // the open packet is written below, before any flusher runs

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		t.close(0, "")
		return
	}
	s.clients[sid] = c
	s.mu.Unlock()
	obs := s.obs.Load()
	if obs != nil {
		obs.opened(c)
	}

	open := c.openMessages()
	if err := t.write(open, s.opts.WriteTimeout); err != nil {
		c.finalize(ReasonTransportError, err) // no callback is set yet
		return
	}
	if obs != nil {
		obs.sent(open)
	}
	c.mu.Lock()
	c.flushing = false
	if len(c.queue) > 0 {
		c.kickLocked()
	}
	c.mu.Unlock()
	if s.isClosed() {
		c.finalize(ReasonForcedClose, nil)
		return
	}
	if s.onConnection != nil {
		s.onConnection(c)
	}
	c.mu.Lock()
	c.ready = true
	c.mu.Unlock()
	if s.isClosed() {
		c.finalize(ReasonForcedClose, nil) // see Server.handshake
	}
	c.startHeartbeat()
	c.readWebTransport(t)
}

// upgradeWebTransport probes t for long-polling session c ("2probe",
// "3probe", then "5"), as for a WebSocket, then moves c onto it and
// becomes its reader.
func (c *Conn) upgradeWebTransport(t *wtTransport) {
	c.mu.Lock()
	// A v3 session cannot move to a v4 transport.
	if c.state != stateOpen || c.upgrading || c.upgraded || c.transport != kindPolling || c.srv.opts.DisableUpgrades || c.proto3 {
		c.mu.Unlock()
		t.close(0, "")
		return
	}
	c.upgrading = true
	c.wt = t // while polling, the stream being probed
	timer := time.AfterFunc(c.srv.opts.UpgradeTimeout, func() { c.abortWebTransportUpgrade(t) })
	c.mu.Unlock()

	max := c.srv.opts.MaxHTTPBufferSize
	for {
		p, err := t.readPacket(max)
		switch {
		case err == nil && p.Type == eioparser.Ping && string(p.Data) == "probe":
			if t.write([]*Message{probeAnswer}, c.srv.opts.WriteTimeout) != nil {
				timer.Stop()
				c.abortWebTransportUpgrade(t)
				return
			}
			c.mu.Lock()
			if c.wt == t {
				c.probed = true
				if len(c.queue) == 0 {
					c.wakePollLocked() // answers a waiting GET with a noop
				}
			}
			c.mu.Unlock()
		case err == nil && p.Type == eioparser.Upgrade:
			timer.Stop()
			c.mu.Lock()
			if c.wt != t || c.state == stateClosed {
				c.mu.Unlock()
				t.close(0, "")
				return
			}
			c.upgrading = false
			c.probed = false
			c.upgraded = true
			c.transport = kindWebTransport
			if c.closeTimer != nil {
				c.closeTimer.Stop()
			}
			c.wakePollLocked() // a GET still waiting ends with a noop
			if len(c.queue) > 0 || c.state == stateClosing {
				c.kickLocked()
			}
			c.mu.Unlock()
			if o := c.srv.obs.Load(); o != nil {
				o.upgraded(c)
			}
			if fn := c.upgradeCallback(); fn != nil {
				fn(WebTransport)
			}
			c.readWebTransport(t)
			return
		default:
			// Anything else during an upgrade aborts it; the session goes on
			// over long-polling.
			timer.Stop()
			c.abortWebTransportUpgrade(t)
			return
		}
	}
}

// abortWebTransportUpgrade drops an upgrade attempt, unless it completed
// meanwhile (a timer losing the race).
func (c *Conn) abortWebTransportUpgrade(t *wtTransport) {
	c.mu.Lock()
	inUse := c.wt == t && c.transport == kindWebTransport
	if !inUse && c.wt == t {
		c.wt = nil
		c.upgrading = false
		c.probed = false
		c.wakePollLocked()
	}
	c.mu.Unlock()
	if !inUse {
		t.close(0, "")
	}
}

// readWebTransport reads the session's stream until it fails or the
// session ends. It runs on the goroutine of the session's CONNECT request.
func (c *Conn) readWebTransport(t *wtTransport) {
	max := c.srv.opts.MaxHTTPBufferSize
	for {
		p, err := t.readPacket(max)
		if err != nil {
			c.finalize(wtCloseReason(err), err)
			return
		}
		if !c.handlePacket(p) {
			return
		}
	}
}

// wtCloseReason maps a read error to Node's reasons.
func wtCloseReason(err error) string {
	switch {
	case errors.Is(err, errWTFrame), errors.Is(err, eioparser.ErrInvalidPacket):
		return ReasonParseError
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ReasonTransportClose
	}
	return ReasonTransportError
}

// flushWebTransport writes everything queued, then exits; Send starts it
// again when needed. During a graceful close it ends the stream once the
// queue is empty, then the session.
func (c *Conn) flushWebTransport() {
	for {
		c.mu.Lock()
		if c.state == stateClosed {
			c.flushing = false
			c.mu.Unlock()
			return
		}
		t := c.wt
		if len(c.queue) == 0 {
			c.flushing = false
			closing := c.state == stateClosing
			if cap(c.queue) > 64 {
				c.queue = nil
			}
			c.mu.Unlock()
			if closing {
				t.finish()
				c.finalize(ReasonForcedClose, nil)
			}
			return
		}
		batch := c.queue
		c.queue, c.queued = nil, 0
		c.mu.Unlock()

		if err := t.write(batch, c.srv.opts.WriteTimeout); err != nil {
			c.mu.Lock()
			c.flushing = false
			c.mu.Unlock()
			c.finalize(ReasonTransportError, err)
			return
		}
		if o := c.srv.obs.Load(); o != nil {
			o.sent(batch)
		}
		clear(batch)
		c.mu.Lock()
		if c.queue == nil && cap(batch) <= 64 {
			c.queue = batch[:0]
		}
		c.mu.Unlock()
	}
}

// wtBufPool holds the buffers in which flushers gather frames: a stream
// holds none between writes.
var wtBufPool = sync.Pool{New: func() any { b := make([]byte, 0, wtGather+16); return &b }}

const (
	// wtGather: frames are gathered up to this many bytes per write.
	wtGather = 32 << 10
	// wtDirect: a payload this long is written on its own, not copied.
	wtDirect = 16 << 10
)

// emptyBinary is how an empty binary message travels: the framing cannot
// carry a zero-length packet (the reference decoder takes it for an
// error), so it goes as the base64 form of no bytes, which every decoder
// reads as an empty binary message.
var emptyBinary = []byte("b")

// write writes msgs to the stream, framed, within timeout.
func (t *wtTransport) write(msgs []*Message, timeout time.Duration) error {
	_ = t.st.SetWriteDeadline(time.Now().Add(timeout))
	bp := wtBufPool.Get().(*[]byte)
	buf := (*bp)[:0]
	var err error
	for _, m := range msgs {
		p, bin := m.payload(), m.binary
		if bin && len(p) == 0 {
			p, bin = emptyBinary, false
		}
		buf = appendWTHeader(buf, len(p), bin)
		if len(p) >= wtDirect {
			if _, err = t.st.Write(buf); err != nil {
				break
			}
			buf = buf[:0]
			if _, err = t.st.Write(p); err != nil {
				break
			}
			continue
		}
		buf = append(buf, p...)
		if len(buf) >= wtGather {
			if _, err = t.st.Write(buf); err != nil {
				break
			}
			buf = buf[:0]
		}
	}
	if err == nil && len(buf) > 0 {
		_, err = t.st.Write(buf)
	}
	if cap(buf) <= 2*wtGather {
		*bp = buf[:0]
		wtBufPool.Put(bp)
	}
	return err
}

// appendWTHeader appends the frame header of a packet of n bytes.
func appendWTHeader(dst []byte, n int, bin bool) []byte {
	var flag byte
	if bin {
		flag = 0x80
	}
	switch {
	case n < 126:
		return append(dst, flag|byte(n))
	case n < 1<<16:
		return binary.BigEndian.AppendUint16(append(dst, flag|126), uint16(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, flag|127), uint64(n))
}

// readPacket reads one framed packet of at most max bytes. Its buffer
// grows as the data arrives, so that a header announcing a large packet
// costs nothing until the packet comes.
func (t *wtTransport) readPacket(max int64) (eioparser.Packet, error) {
	h, err := t.br.ReadByte()
	if err != nil {
		return eioparser.Packet{}, err
	}
	bin := h&0x80 != 0
	n := uint64(h & 0x7f)
	var ext [8]byte
	switch n {
	case 126:
		if _, err := io.ReadFull(t.br, ext[:2]); err != nil {
			return eioparser.Packet{}, unexpected(err)
		}
		n = uint64(binary.BigEndian.Uint16(ext[:2]))
	case 127:
		if _, err := io.ReadFull(t.br, ext[:]); err != nil {
			return eioparser.Packet{}, unexpected(err)
		}
		n = binary.BigEndian.Uint64(ext[:])
	}
	if n == 0 || n > uint64(max) {
		return eioparser.Packet{}, errWTFrame
	}
	data := make([]byte, 0, min(int(n), wtGather))
	for len(data) < int(n) {
		if len(data) == cap(data) {
			data = slices.Grow(data, min(int(n)-len(data), cap(data)))
		}
		end := min(cap(data), int(n))
		k, err := io.ReadFull(t.br, data[len(data):end])
		data = data[:len(data)+k]
		if err != nil {
			return eioparser.Packet{}, unexpected(err)
		}
	}
	if bin {
		return eioparser.Packet{Type: eioparser.Message, Data: data, Binary: true}, nil
	}
	if !utf8.Valid(data) {
		// Read as the reference decoder's TextDecoder reads it.
		data = wellformed.UTF8(data)
	}
	return eioparser.DecodePacket(data, false)
}

// unexpected reports an end of stream inside a frame.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// finish ends the write side of the stream after what was written: the
// session then closes when the client closes it, or after wtLinger.
func (t *wtTransport) finish() {
	t.finished.Store(true)
	_ = t.st.Close()
}

// close closes the session: at once, or, after finish, once the client has
// had wtLinger to read what it was sent.
func (t *wtTransport) close(code uint32, reason string) {
	if !t.finished.Load() {
		t.sess.Close(code, reason)
		return
	}
	timer := time.AfterFunc(wtLinger, func() { t.sess.Close(code, reason) })
	context.AfterFunc(t.sess.Context(), func() { timer.Stop() })
}

// wtCloseCode is the session close code for a session ending for reason:
// 0, or 1 when the client broke the protocol or the transport failed.
func wtCloseCode(reason string) uint32 {
	if reason == ReasonTransportError || reason == ReasonParseError {
		return 1
	}
	return 0
}
