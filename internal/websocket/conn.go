package websocket

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"
)

// CloseError is returned by ReadMessage when the peer sent a close frame
// (Code and Reason are taken from it; Code is CloseNoStatus if the frame had
// no payload), or when the connection was closed by us because the peer
// violated the protocol (Code is then the code we sent, e.g.
// CloseProtocolError or CloseInvalidPayload).
type CloseError struct {
	Code   int
	Reason string
}

// Error implements the error interface.
func (e *CloseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("websocket: close %d", e.Code)
	}
	return fmt.Sprintf("websocket: close %d: %s", e.Code, e.Reason)
}

// ErrMessageTooBig is wrapped by the error ReadMessage returns when a message
// exceeds the read limit. Before returning it, the Conn sends a close frame
// with code CloseMessageTooBig and closes the connection. The returned error
// also wraps a *CloseError with code CloseMessageTooBig.
var ErrMessageTooBig = errors.New("websocket: message too big")

// errClientWriteFrames is returned by WriteFrames on a client Conn.
var errClientWriteFrames = errors.New("websocket: WriteFrames is only valid on a server connection")

const (
	// defaultReadLimit is the default maximum size of one message.
	defaultReadLimit = 1 << 20

	// smallBufSize is the size of the read buffer embedded in every Conn. It
	// is used while waiting for a new frame, so an idle connection needs no
	// other buffer, and it is large enough for a whole small frame.
	smallBufSize = 256

	// bufSize is the size of the pooled buffers used to receive frames that
	// do not fit the small buffer, and to build outgoing frames.
	bufSize = 4096

	// minPayloadChunk bounds the memory allocated for a frame payload
	// before the bytes actually arrive: the message buffer grows at most by
	// max(this, its current length) at a time, so a peer that declares a
	// huge frame but sends little makes us allocate little.
	minPayloadChunk = 64 << 10

	// closeWriteTimeout bounds how long Close (and the close frames sent
	// by ReadMessage) wait for the write side.
	closeWriteTimeout = 2 * time.Second
)

// bufPool holds *[bufSize]byte used for receiving and sending frames.
var bufPool = sync.Pool{New: func() any { return new([bufSize]byte) }}

// Kinds of the current read buffer.
const (
	rbufNone   = iota // no buffer (an idle polled connection)
	rbufSmall         // Conn.small
	rbufPooled        // Conn.pooled, from bufPool
	rbufOwned         // a private slice (large handshake leftovers)
)

// Conn is a WebSocket connection, server side (from Accept) or client side
// (from Dial).
//
// Concurrency contract:
//   - ReadMessage must be called from one goroutine at a time (normally a
//     single reader loop). SetReadLimit and SetReadDeadline should be called
//     from that goroutine or before reading starts.
//   - WriteMessage, WriteFrames and SetWriteDeadline may be called from any
//     number of goroutines concurrently, and concurrently with ReadMessage;
//     writes are serialised by one mutex, which also covers the pong and
//     close frames that ReadMessage sends itself.
//   - Close may be called from any goroutine at any time, any number of
//     times; it unblocks a concurrent ReadMessage, and bounds the time it
//     waits for a concurrent write.
//
// After ReadMessage has returned an error, the Conn is no longer readable and
// every later call returns the same error. A *CloseError or ErrMessageTooBig
// error means the connection is already closed; after any other error
// (EOF, I/O error, deadline) the caller should call Close.
type Conn struct {
	nc net.Conn

	// Read state, owned by the reading goroutine. rbuf[r:w] holds bytes
	// received but not yet consumed.
	rbuf    []byte
	readErr error
	rc      syscall.RawConn // server side over a socket: set by newConn, then immutable; non-blocking reads and writes
	pooled  *[bufSize]byte
	small   *[smallBufSize]byte // allocated on first use; dropped when idle in non-blocking mode
	r, w    int
	resume  int // non-blocking mode: where decoding restarts after errWouldBlock
	rkind   uint8
	nb      bool // non-blocking mode (ReadAvailable): fill never waits
	client  bool
	// inRead is the state of a lingering ReadAvailable (readLinger), which
	// holds the descriptor, as a net.Conn's Read does, while it handles
	// the messages it read: inReading while it does, closeAsked once a
	// Close has left it to close the net.Conn.
	inRead atomic.Uint32

	// dfl is the negotiated permessage-deflate, nil without: immutable
	// but for its read side, owned by the reader.
	dfl *deflateState

	readLimit atomic.Int64

	// closed is set by the first Close (or by ReadMessage when it ends the
	// connection); the net.Conn is closed by whoever set it.
	closed atomic.Bool

	// Write state, guarded by wmu.
	closeSent bool
	wmu       sync.Mutex
	writeErr  error
}

// newConn returns a Conn over nc. leftover holds bytes that were already
// read from nc (after the handshake); they are copied.
func newConn(nc net.Conn, client bool, leftover []byte) *Conn {
	c := &Conn{nc: nc, client: client}
	if !client {
		// Once, rather than a syscall.RawConn allocated per write.
		if sc, ok := nc.(syscall.Conn); ok {
			c.rc, _ = sc.SyscallConn()
		}
	}
	c.readLimit.Store(defaultReadLimit)
	if n := len(leftover); n > 0 {
		switch {
		case n <= smallBufSize:
			c.useSmall()
		case n <= bufSize:
			c.pooled = bufPool.Get().(*[bufSize]byte)
			c.rbuf = c.pooled[:]
			c.rkind = rbufPooled
		default:
			c.rbuf = make([]byte, n)
			c.rkind = rbufOwned
		}
		c.w = copy(c.rbuf, leftover)
	}
	return c
}

// NetConn returns the underlying network connection. Reading from or
// writing to it directly corrupts the WebSocket stream; it is meant for
// addresses, deadlines and similar.
func (c *Conn) NetConn() net.Conn { return c.nc }

// IsClient reports whether c is the client side of the connection (its
// frames are masked).
func (c *Conn) IsClient() bool { return c.client }

// SetReadLimit sets the maximum size in bytes of one (reassembled) message
// that ReadMessage accepts; 0 or a negative value means no limit. The
// default is 1 MiB.
func (c *Conn) SetReadLimit(n int64) {
	if n < 0 {
		n = 0
	}
	c.readLimit.Store(n)
}

// SetReadDeadline sets the deadline for reads on the underlying connection.
// A read that times out ends the Conn's reading side (see Conn).
func (c *Conn) SetReadDeadline(t time.Time) error { return c.nc.SetReadDeadline(t) }

// SetWriteDeadline sets the deadline for writes on the underlying
// connection. A write that times out leaves the stream in an unknown state,
// so every later write returns that error. Once Close has begun, the
// deadline is at most about two seconds away, as Close promises: a writer
// that sets its own after Close set the short one does not lengthen the
// wait.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	err := c.nc.SetWriteDeadline(t)
	// Close sets closed, then its own deadline: a writer that saw closed
	// unset set its deadline before Close's, which replaces it.
	if c.closed.Load() {
		if limit := time.Now().Add(closeWriteTimeout); t.IsZero() || t.After(limit) {
			err = c.nc.SetWriteDeadline(limit)
		}
	}
	return err
}

// Close sends a close frame with code and reason, if no close frame was sent
// yet, and closes the underlying connection. A code of 0 or CloseNoStatus
// sends a close frame without payload; a reason longer than 123 bytes is cut.
// Close is idempotent (later calls return nil) and safe to call from any
// goroutine, also while another goroutine is blocked in ReadMessage, which
// then returns an error. It waits at most about two seconds for a concurrent
// write to finish. After a close frame has been sent, writes return
// net.ErrClosed.
func (c *Conn) Close(code int, reason string) error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	c.sendClose(code, reason)
	if c.client {
		c.lingerClose()
	}
	return c.closeNetConn()
}

// Writing reports whether a write holds the connection now: a frame being
// written, or the rest of a partial TryWriteFrames. Close would wait for
// it.
func (c *Conn) Writing() bool {
	if c.wmu.TryLock() {
		c.wmu.Unlock()
		return false
	}
	return true
}

// clientLinger bounds how long a client's Close waits for the server to
// end the connection.
const clientLinger = time.Second

// lingerClose lets the server close first, as RFC 6455 (7.1.1) asks of a
// client: closing a socket whose receive buffer holds unread data (events
// the server sent meanwhile) makes the kernel answer with a reset, and a
// reset makes the server's kernel drop what the client sent last but the
// server has not read yet, such as the event emitted right before
// disconnecting. So the write side is shut (after the close frame) and the
// rest of the server's data is read and discarded until it closes, for at
// most clientLinger. A reader blocked in ReadMessage meanwhile gets part
// of that data, then an error, as with any Close.
func (c *Conn) lingerClose() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(clientLinger))
	var buf [512]byte
	for {
		if _, err := c.nc.Read(buf[:]); err != nil {
			return
		}
	}
}

// closeWith ends the connection from the reading side: it sends a close
// frame (if nothing was sent yet) and closes the net.Conn, unless Close got
// there first.
func (c *Conn) closeWith(code int, reason string) {
	if c.closed.CompareAndSwap(false, true) {
		c.sendClose(code, reason)
		_ = c.closeNetConn()
	}
}

// sendClose writes a close frame unless one was already sent or the write
// side is broken. It bounds the wait for a write in progress with a write
// deadline.
func (c *Conn) sendClose(code int, reason string) {
	_ = c.nc.SetWriteDeadline(time.Now().Add(closeWriteTimeout))
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent || c.writeErr != nil {
		return
	}
	c.closeSent = true
	_ = c.writeFrameLocked(finBit|byte(OpClose), closePayload(code, reason))
}

// fail ends the connection because of a protocol violation and returns the
// *CloseError that ReadMessage reports.
func (c *Conn) fail(code int, reason string) error {
	c.closeWith(code, reason)
	return &CloseError{Code: code, Reason: reason}
}

// failTooBig ends the connection because a message exceeds the read limit.
func (c *Conn) failTooBig() error {
	const reason = "Max payload size exceeded"
	c.closeWith(CloseMessageTooBig, reason)
	return fmt.Errorf("%w: %w", ErrMessageTooBig, &CloseError{Code: CloseMessageTooBig, Reason: reason})
}

// ---------------------------------------------------------------------------
// Reading

// ReadMessage returns the next complete data message: its opcode (OpText or
// OpBinary) and payload. Fragmented messages are reassembled. Pings are
// answered with pongs (serialised with the other writes), unsolicited pongs
// are ignored. When the peer sends a close frame, ReadMessage replies with a
// close frame echoing its code, closes the connection and returns a
// *CloseError.
//
// A protocol violation by the peer (wrong masking, reserved bits, unknown
// opcode, fragmented or oversized control frame, unexpected continuation or
// data frame, invalid UTF-8 in a text message or close reason, invalid close
// code) makes ReadMessage send a close frame with code CloseProtocolError or
// CloseInvalidPayload, close the connection and return a *CloseError with
// that code. A message larger than the read limit makes it send a close
// frame with code CloseMessageTooBig and reason "Max payload size exceeded",
// close the connection and return an error wrapping ErrMessageTooBig; the
// declared length is checked before anything is allocated.
//
// If the peer closes the TCP connection without a close frame, the error is
// io.EOF (between frames) or io.ErrUnexpectedEOF (within a frame). If the
// Conn was closed locally, the error is net.ErrClosed.
//
// ReadMessage must be called from one goroutine at a time. The returned
// payload belongs to the caller; it is never reused by the Conn.
func (c *Conn) ReadMessage() (Opcode, []byte, error) {
	if c.readErr != nil {
		return 0, nil, c.readErr
	}
	op, msg, err := c.readMessage()
	if err != nil {
		var ce *CloseError
		if !errors.As(err, &ce) && c.closed.Load() {
			err = net.ErrClosed
		}
		c.readErr = err
		c.releaseReadBuf()
		return 0, nil, err
	}
	// Do not keep a pooled buffer while the connection is idle: move the
	// few bytes of a next frame, if any, into the small buffer.
	if c.rkind != rbufSmall && c.w-c.r <= smallBufSize {
		c.keepInSmall()
	}
	return op, msg, nil
}

// useSmall makes the small buffer the (empty) read buffer.
func (c *Conn) useSmall() {
	if c.small == nil {
		c.small = new([smallBufSize]byte)
	}
	c.rbuf = c.small[:]
	c.rkind = rbufSmall
}

// keepInSmall moves the unread bytes (at most smallBufSize) into the small
// buffer and gives back a larger one.
func (c *Conn) keepInSmall() {
	if c.small == nil {
		c.small = new([smallBufSize]byte)
	}
	n := copy(c.small[:], c.rbuf[c.r:c.w])
	c.releaseReadBuf()
	c.rbuf, c.rkind = c.small[:], rbufSmall
	c.r, c.w = 0, n
}

// releaseReadBuf drops the read buffer, returning a pooled one to the pool.
// The caller must have moved or dropped unread bytes.
func (c *Conn) releaseReadBuf() {
	if c.rkind == rbufPooled {
		bufPool.Put(c.pooled)
	}
	c.pooled = nil
	c.rkind = rbufNone
	c.rbuf = nil
}

// frameHeader is a decoded frame header.
type frameHeader struct {
	fin        bool
	op         Opcode
	masked     bool
	compressed bool // RSV1 of permessage-deflate
	length     int64
	key        [4]byte
}

func (c *Conn) readMessage() (Opcode, []byte, error) {
	var (
		msgOp      Opcode
		msg        []byte
		started    bool
		compressed bool
	)
	limit := c.readLimit.Load()
	c.resume = c.r
	for {
		h, err := c.readHeader(!started)
		if err != nil {
			return 0, nil, err
		}
		if h.op.isControl() {
			payload := make([]byte, h.length)
			if err := c.readFull(payload); err != nil {
				return 0, nil, err
			}
			if h.masked {
				maskBytes(h.key, 0, payload)
			}
			switch h.op {
			case OpPing:
				// A failed pong write surfaces on the next read or write.
				_ = c.writeControl(OpPong, payload)
			case OpClose:
				return 0, nil, c.handleClose(payload)
			}
			if !started {
				c.resume = c.r // a control frame between messages is done with
			}
			continue
		}
		if h.op == OpContinuation {
			if !started {
				return 0, nil, c.fail(CloseProtocolError, "continuation frame without a message to continue")
			}
		} else {
			if started {
				return 0, nil, c.fail(CloseProtocolError, "new data frame inside a fragmented message")
			}
			msgOp, started, compressed = h.op, true, h.compressed
		}
		wireLimit := limit
		if compressed {
			// The inflated size is checked against limit itself.
			wireLimit = compressedLimit(limit)
		}
		if wireLimit > 0 && h.length > wireLimit-int64(len(msg)) {
			return 0, nil, c.failTooBig()
		}
		if msg, err = c.readPayload(msg, h); err != nil {
			return 0, nil, err
		}
		if h.fin {
			if compressed {
				// Only once the message is complete, so that a
				// non-blocking read retried with more data (see
				// ReadAvailable) inflates nothing twice.
				if msg, err = inflate(msg, limit, c.dfl); err != nil {
					if err == errTooBig {
						return 0, nil, c.failTooBig()
					}
					return 0, nil, c.fail(CloseInvalidPayload, "invalid compressed data")
				}
			}
			if msgOp == OpText && !utf8.Valid(msg) {
				return 0, nil, c.fail(CloseInvalidPayload, "invalid UTF-8 in text message")
			}
			if msg == nil {
				msg = []byte{}
			}
			return msgOp, msg, nil
		}
	}
}

// readHeader reads and validates one frame header. idle reports that no
// message is in progress, so that an empty read buffer can be released
// while waiting.
func (c *Conn) readHeader(idle bool) (frameHeader, error) {
	var h frameHeader
	if err := c.ensure(2, idle); err != nil {
		return h, err
	}
	b0, b1 := c.rbuf[c.r], c.rbuf[c.r+1]
	h.fin = b0&finBit != 0
	h.op = Opcode(b0 & opBits)
	h.masked = b1&maskBit != 0
	n7 := b1 & lenBits

	h.compressed = b0&rsv1Bit != 0 && c.dfl != nil
	switch {
	case b0&rsvBits != 0 && !h.compressed:
		return h, c.fail(CloseProtocolError, "reserved bits set")
	case b0&rsvBits&^rsv1Bit != 0:
		return h, c.fail(CloseProtocolError, "reserved bits set")
	case h.compressed && h.op.isControl():
		return h, c.fail(CloseProtocolError, "compressed control frame")
	case h.compressed && h.op == OpContinuation:
		return h, c.fail(CloseProtocolError, "RSV1 set on a continuation frame")
	case !h.op.isKnown():
		return h, c.fail(CloseProtocolError, "unknown opcode")
	case h.op.isControl() && !h.fin:
		return h, c.fail(CloseProtocolError, "fragmented control frame")
	case h.op.isControl() && n7 > maxControlPayload:
		return h, c.fail(CloseProtocolError, "control frame payload too long")
	case h.masked == c.client:
		if c.client {
			return h, c.fail(CloseProtocolError, "masked frame from server")
		}
		return h, c.fail(CloseProtocolError, "unmasked frame from client")
	}

	need := 2
	switch n7 {
	case 126:
		need += 2
	case 127:
		need += 8
	}
	if h.masked {
		need += 4
	}
	if err := c.ensure(need, false); err != nil {
		return h, err
	}
	b := c.rbuf[c.r+2 : c.r+need]
	switch n7 {
	case 126:
		h.length = int64(binary.BigEndian.Uint16(b))
		b = b[2:]
	case 127:
		v := binary.BigEndian.Uint64(b)
		if v>>63 != 0 {
			return h, c.fail(CloseProtocolError, "invalid payload length")
		}
		h.length = int64(v)
		b = b[8:]
	default:
		h.length = int64(n7)
	}
	if h.masked {
		copy(h.key[:], b)
	}
	c.r += need
	return h, nil
}

// readPayload appends the payload of the data frame h to msg. The buffer
// grows as bytes arrive, at most doubling, so memory follows the data
// actually received rather than the declared length.
func (c *Conn) readPayload(msg []byte, h frameHeader) ([]byte, error) {
	remaining := h.length
	pos := 0
	for remaining > 0 {
		if cap(msg) == len(msg) {
			grow := int64(max(len(msg), minPayloadChunk))
			if grow > remaining {
				grow = remaining
			}
			if uint64(len(msg))+uint64(grow) > uint64(maxInt) {
				return nil, c.failTooBig()
			}
			nm := make([]byte, len(msg), len(msg)+int(grow))
			copy(nm, msg)
			msg = nm
		}
		start := len(msg)
		k := min(int64(cap(msg)-start), remaining)
		msg = msg[:start+int(k)]
		if err := c.readFull(msg[start:]); err != nil {
			return nil, err
		}
		if h.masked {
			pos = maskBytes(h.key, pos, msg[start:])
		}
		remaining -= k
	}
	return msg, nil
}

const maxInt = int(^uint(0) >> 1)

// ensure makes at least n (at most maxClientHeaderLen) bytes available in
// rbuf[r:w].
func (c *Conn) ensure(n int, idle bool) error {
	for c.w-c.r < n {
		if err := c.fill(false, idle && c.r == c.w); err != nil {
			if err == io.EOF && (!idle || c.r != c.w) {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// readFull fills dst with the next bytes of the stream.
func (c *Conn) readFull(dst []byte) error {
	for len(dst) > 0 {
		if c.r < c.w {
			n := copy(dst, c.rbuf[c.r:c.w])
			c.r += n
			dst = dst[n:]
			continue
		}
		if len(dst) >= bufSize && !c.nb {
			// Large remainder: read straight into the destination.
			_, err := io.ReadFull(c.nc, dst)
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if err := c.fill(true, false); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// fill reads more bytes from the connection into the read buffer. big
// asks for the pooled buffer (payload data); otherwise the small buffer
// will do. idle means nothing is buffered and no message is in progress,
// so a pooled buffer is released before a possibly long wait.
func (c *Conn) fill(big, idle bool) error {
	if c.nb {
		// ReadAvailable reads; a message is only decoded once it is
		// buffered whole.
		return errWouldBlock
	}
	if c.r == c.w {
		c.r, c.w = 0, 0
		if c.rkind == rbufOwned || (idle && c.rkind == rbufPooled) {
			c.releaseReadBuf()
		}
		if c.rkind == rbufNone {
			c.useSmall()
		}
	} else if c.r > 0 {
		c.w = copy(c.rbuf, c.rbuf[c.r:c.w])
		c.r = 0
	}
	if big && (c.rkind == rbufSmall || c.rkind == rbufNone) {
		c.pooled = bufPool.Get().(*[bufSize]byte)
		c.w = copy(c.pooled[:], c.rbuf[:c.w])
		c.rbuf = c.pooled[:]
		c.rkind = rbufPooled
	}
	if c.w == len(c.rbuf) {
		// Cannot happen: fill is only called with fewer unread bytes than
		// a frame header, or with none.
		return errors.New("websocket: internal error: read buffer full")
	}
	for range 100 {
		n, err := c.nc.Read(c.rbuf[c.w:])
		c.w += n
		if n > 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

// handleClose processes a received close frame payload.
func (c *Conn) handleClose(payload []byte) error {
	code, reason := CloseNoStatus, ""
	switch {
	case len(payload) == 1:
		return c.fail(CloseProtocolError, "invalid close frame payload")
	case len(payload) >= 2:
		code = int(binary.BigEndian.Uint16(payload))
		if !validWireCloseCode(code) {
			return c.fail(CloseProtocolError, "invalid close code")
		}
		if !utf8.Valid(payload[2:]) {
			return c.fail(CloseInvalidPayload, "invalid UTF-8 in close reason")
		}
		reason = string(payload[2:])
	}
	// Echo the code (an empty close frame if there was none).
	c.closeWith(code, "")
	return &CloseError{Code: code, Reason: reason}
}

// ---------------------------------------------------------------------------
// Writing

// WriteMessage writes one unfragmented message with opcode op (OpText,
// OpBinary, or a control opcode with a payload of at most 125 bytes). On a
// client Conn the frame is masked with a fresh random key. With
// permessage-deflate negotiated, a data message of at least the threshold
// is compressed (unless that would not make it shorter). Writing OpClose
// counts as sending the close frame. WriteMessage is safe for concurrent
// use with the other write methods. It returns net.ErrClosed once a close
// frame has been sent or the Conn was closed; after a failed write, every
// later write returns that error. The payload is not modified or retained.
func (c *Conn) WriteMessage(op Opcode, payload []byte) error {
	b0 := finBit | byte(op)
	switch op {
	case OpText, OpBinary:
		if d := c.dfl; d != nil && len(payload) >= d.threshold {
			// Compressed before the lock: other writers need not wait.
			sp := getScratch()
			defer putScratch(sp)
			if body, ok := d.z.appendBody((*sp)[:0], payload); ok {
				*sp = body
				payload = body
				b0 |= rsv1Bit
			}
		}
	case OpClose, OpPing, OpPong:
		if len(payload) > maxControlPayload {
			return errors.New("websocket: control frame payload longer than 125 bytes")
		}
	default:
		return fmt.Errorf("websocket: cannot write a message with opcode %v", op)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.writableLocked(); err != nil {
		return err
	}
	if op == OpClose {
		c.closeSent = true
	}
	return c.writeFrameLocked(b0, payload)
}

// WriteFrames writes complete, already framed server-side frames (e.g. built
// with AppendFrameHeader or FrameInPlace) in one call, which hands all
// buffers to the kernel in a single writev on TCP connections. It is only
// valid on a server Conn. bufs is consumed. It is safe for concurrent use
// with the other write methods and has the same error behaviour as
// WriteMessage.
func (c *Conn) WriteFrames(bufs net.Buffers) error {
	if c.client {
		return errClientWriteFrames
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.writableLocked(); err != nil {
		return err
	}
	if _, err := bufs.WriteTo(c.nc); err != nil {
		c.writeErr = err
		return err
	}
	return nil
}

// writeControl writes a control frame from the reading side; it does
// nothing once a close frame has been sent.
func (c *Conn) writeControl(op Opcode, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.writableLocked(); err != nil {
		return err
	}
	return c.writeFrameLocked(finBit|byte(op), payload)
}

// writableLocked reports why the Conn cannot be written to, if it cannot.
func (c *Conn) writableLocked() error {
	if c.closeSent || c.closed.Load() {
		return net.ErrClosed
	}
	return c.writeErr
}

// writeFrameLocked writes one complete frame whose first byte (FIN, RSV,
// opcode) is b0; c.wmu must be held.
func (c *Conn) writeFrameLocked(b0 byte, payload []byte) error {
	var err error
	if c.client {
		err = c.writeMasked(b0, payload)
	} else {
		err = c.writeUnmasked(b0, payload)
	}
	if err != nil {
		c.writeErr = err
	}
	return err
}

// writeUnmasked writes a server frame: small frames are assembled in a
// pooled buffer and written at once, larger ones are written with writev
// without copying the payload.
func (c *Conn) writeUnmasked(b0 byte, payload []byte) error {
	if len(payload) <= bufSize-MaxFrameHeaderLen {
		bp := bufPool.Get().(*[bufSize]byte)
		b := appendHeader(bp[:0], b0, len(payload), false, [4]byte{})
		b = append(b, payload...)
		_, err := c.nc.Write(b)
		bufPool.Put(bp)
		return err
	}
	var hdr [MaxFrameHeaderLen]byte
	bufs := net.Buffers{appendHeader(hdr[:0], b0, len(payload), false, [4]byte{}), payload}
	_, err := bufs.WriteTo(c.nc)
	return err
}

// writeMasked writes a client frame masked with a fresh random key. The
// payload is masked into a pooled buffer, a chunk at a time.
func (c *Conn) writeMasked(b0 byte, payload []byte) error {
	var key [4]byte
	if _, err := rand.Read(key[:]); err != nil {
		return err
	}
	bp := bufPool.Get().(*[bufSize]byte)
	defer bufPool.Put(bp)
	b := appendHeader(bp[:0], b0, len(payload), true, key)
	pos := 0
	for {
		start := len(b)
		n := min(len(payload), bufSize-start)
		b = append(b, payload[:n]...)
		pos = maskBytes(key, pos, b[start:])
		if _, err := c.nc.Write(b); err != nil {
			return err
		}
		payload = payload[n:]
		if len(payload) == 0 {
			return nil
		}
		b = bp[:0]
	}
}
