package websocket

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/socketio-go/socketio/internal/netpoll"
)

// errWouldBlock is fill's answer in non-blocking mode: the message being
// decoded is not all there yet.
var errWouldBlock = errors.New("websocket: would block")

// RawConn returns the connection's syscall.RawConn when it has one (a TCP
// connection, not a TLS one), for registration with a netpoll.Poller.
func (c *Conn) RawConn() (syscall.RawConn, bool) {
	if c.rc != nil {
		return c.rc, true
	}
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return nil, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, false
	}
	return rc, true
}

// ReadAvailable reads what the connection has received, without waiting,
// and calls handle for each complete data message, in order. It returns nil
// when it has consumed everything available (the caller then waits for
// readiness, typically with a netpoll.Poller), or the error that ends the
// connection, with the meaning ReadMessage gives it. Partial messages are
// kept until the rest arrives; an idle connection holds no read buffer.
//
// With linger > 0 (server side only; a client's ReadAvailable does not
// wait), when nothing is left to read ReadAvailable waits up to linger (at
// least half of it) for more, on the calling goroutine, before returning:
// a busy connection keeps its reader, and only a quiet one goes back to
// the poller, paying the poller's extra system calls once per quiet spell
// rather than once per message.
//
// ReadAvailable needs RawConn; once used, the Conn must not be read with
// ReadMessage. It must be called from one goroutine at a time.
func (c *Conn) ReadAvailable(handle func(op Opcode, msg []byte), linger time.Duration) error {
	return c.readAvailable(handle, linger, false)
}

// readAvailable is ReadAvailable, or with first ReadFirst.
func (c *Conn) readAvailable(handle func(op Opcode, msg []byte), linger time.Duration, first bool) error {
	if c.readErr != nil {
		return c.readErr
	}
	if !c.nb {
		if c.rc == nil && c.client {
			// Only the server side's rc is shared with writers.
			c.rc, _ = c.RawConn()
		}
		if c.rc == nil {
			return netpoll.ErrUnsupported
		}
		c.nb = true
	}
	if linger > 0 && !c.client {
		return c.readLinger(handle, linger, first)
	}
	for drained := false; ; {
		if err := c.handleBuffered(handle); err != nil {
			return err
		}
		if drained {
			// The last read was short, so the socket is empty (see
			// readLinger): the caller's wait for readiness sees what
			// comes after it, without a read that would find nothing.
			c.settle()
			return nil
		}
		c.makeRoom()
		free := len(c.rbuf) - c.w
		n, err := netpoll.ReadNonBlocking(c.rc, c.rbuf[c.w:])
		if err == netpoll.ErrWouldBlock {
			c.settle()
			return nil
		}
		if err != nil {
			return c.endRead(err)
		}
		if n == 0 {
			if c.r == c.w {
				return c.endRead(io.EOF)
			}
			return c.endRead(io.ErrUnexpectedEOF)
		}
		drained = n < free
		c.w += n
	}
}

// ReadFirst is ReadAvailable for the start of a server connection: it waits
// up to wait for the peer's first message, handles it and whatever else has
// arrived, and returns once the socket is drained, without waiting for
// more. It returns nil also when wait passes with nothing complete.
func (c *Conn) ReadFirst(handle func(op Opcode, msg []byte), wait time.Duration) error {
	return c.readAvailable(handle, wait, true)
}

// handleBuffered decodes every message buffered whole and hands it to
// handle, in order. It returns the error that ends the connection, or nil.
func (c *Conn) handleBuffered(handle func(op Opcode, msg []byte)) error {
	for c.w > c.r && c.firstFrameBuffered() {
		op, msg, err := c.readMessage()
		if err == errWouldBlock {
			c.r = c.resume // a later frame is missing: retry with more data
			return nil
		}
		if err != nil {
			return c.endRead(err)
		}
		handle(op, msg)
		if c.readErr != nil {
			return c.readErr
		}
	}
	return nil
}

// States of Conn.inRead.
const (
	inReading  = 1 // readLinger holds the descriptor
	closeAsked = 2 // a Close left the net.Conn to readLinger
)

// readLinger is ReadAvailable with linger > 0. It reads, decodes and
// handles inside one RawConn.Read, so that it can skip the read that
// would only find the socket empty: a read that returns less than it asked
// for has drained the socket (epoll(7) on stream sockets), and anything
// that arrives after it makes the runtime poller report the descriptor
// ready again, which RawConn.Read waits for. A separate RawConn.Read per
// read could not skip it: each one starts by forgetting the readiness seen
// so far. So an echo costs two system calls (read, write) instead of three.
//
// Meanwhile the descriptor is held, as a net.Conn's Read holds it, and a
// net.Conn's Close waits for such holders to end. A Close that finds the
// reader here (from a handler on this goroutine, or from another one while
// a handler runs) therefore shuts the socket down instead, which ends the
// connection for the peer and wakes the wait, and this reader closes the
// net.Conn when it leaves (closeNetConn).
//
// With first, it returns as soon as the socket is drained after a message
// was handled, waiting only for that first message.
func (c *Conn) readLinger(handle func(op Opcode, msg []byte), linger time.Duration, first bool) error {
	if !c.inRead.CompareAndSwap(0, inReading) {
		return c.endRead(net.ErrClosed) // a Close is under way
	}
	defer func() {
		if c.inRead.Swap(0) == inReading|closeAsked {
			_ = c.nc.Close()
		}
	}()
	var (
		// The linger deadline is moved forward only once half of it has
		// passed, not at every read: a timer update per message costs
		// more than a clock read, and a busy connection still never
		// reaches its deadline (which would send it through the poller
		// and a new goroutine, a hand-off that shows in the latency
		// tail). A quiet connection goes back after linger/2 to linger.
		refresh time.Time
		drained bool  // the last read was short: wait before the next
		handled bool  // a message was handled
		ended   error // what ends the connection, found in the callback
	)
	h := handle
	if first {
		h = func(op Opcode, msg []byte) {
			handled = true
			handle(op, msg)
		}
	}
	wait := func() bool {
		if now := time.Now(); !now.Before(refresh) {
			_ = c.nc.SetReadDeadline(now.Add(linger))
			refresh = now.Add(linger / 2)
		}
		return false
	}
	err := c.rc.Read(func(fd uintptr) bool {
		for {
			if ended = c.handleBuffered(h); ended != nil {
				return true
			}
			if c.inRead.Load()&closeAsked != 0 {
				ended = c.endRead(net.ErrClosed)
				return true
			}
			c.makeRoom()
			if drained {
				if first && handled {
					return true
				}
				drained = false
				return wait()
			}
			free := len(c.rbuf) - c.w
			n, err := netpoll.ReadFD(fd, c.rbuf[c.w:])
			switch {
			case err == syscall.EAGAIN:
				return wait()
			case err != nil:
				ended = c.endRead(err)
				return true
			case n <= 0:
				if c.r == c.w {
					ended = c.endRead(io.EOF)
				} else {
					ended = c.endRead(io.ErrUnexpectedEOF)
				}
				return true
			}
			drained = n < free
			c.w += n
		}
	})
	switch {
	case err == nil:
		if ended == nil { // first: drained after a message
			if !refresh.IsZero() {
				_ = c.nc.SetReadDeadline(time.Time{}) // as below
			}
			c.settle()
		}
		return ended
	case c.inRead.Load()&closeAsked != 0:
		return c.endRead(net.ErrClosed)
	case errors.Is(err, os.ErrDeadlineExceeded):
		// Clear the deadline: a later non-blocking read would fail on it
		// at once.
		_ = c.nc.SetReadDeadline(time.Time{})
		c.settle()
		return nil
	}
	return c.endRead(err)
}

// closeNetConn closes the net.Conn, or, while readLinger holds its
// descriptor, shuts the socket down and leaves the close to readLinger.
func (c *Conn) closeNetConn() error {
	for {
		switch s := c.inRead.Load(); {
		case s == 0:
			return c.nc.Close()
		case s&closeAsked != 0:
			return nil
		}
		if c.inRead.CompareAndSwap(inReading, inReading|closeAsked) {
			_ = netpoll.Shutdown(c.rc)
			return nil
		}
	}
}

func (c *Conn) endRead(err error) error {
	var ce *CloseError
	if !errors.As(err, &ce) && c.closed.Load() {
		err = net.ErrClosed
	}
	c.readErr = err
	c.releaseReadBuf()
	c.r, c.w = 0, 0
	return err
}

// firstFrameBuffered reports whether the frame at rbuf[r:] is complete (or
// its header is invalid, which readMessage reports), so that decoding is
// not attempted, and a large payload not copied, for nothing.
func (c *Conn) firstFrameBuffered() bool {
	b := c.rbuf[c.r:c.w]
	if len(b) < 2 {
		return false
	}
	need := 2
	n7 := b[1] & lenBits
	switch n7 {
	case 126:
		need += 2
	case 127:
		need += 8
	}
	if b[1]&maskBit != 0 {
		need += 4
	}
	if len(b) < need {
		return false
	}
	var length uint64
	switch n7 {
	case 126:
		length = uint64(binary.BigEndian.Uint16(b[2:]))
	case 127:
		length = binary.BigEndian.Uint64(b[2:])
	default:
		length = uint64(n7)
	}
	limit := c.readLimit.Load()
	if b[0]&rsv1Bit != 0 && c.dfl != nil {
		limit = compressedLimit(limit)
	}
	if length>>62 != 0 || (limit > 0 && length > uint64(limit)) {
		return true // let readMessage report it
	}
	return uint64(len(b)-need) >= length
}

// makeRoom compacts the read buffer and makes sure it has free space,
// growing it when a message does not fit (the read limit bounds the size a
// declared frame can claim).
func (c *Conn) makeRoom() {
	if c.r > 0 {
		c.w = copy(c.rbuf, c.rbuf[c.r:c.w])
		c.r = 0
	}
	if c.w < len(c.rbuf) {
		return
	}
	var nb []byte
	switch {
	case c.rkind == rbufSmall || c.rkind == rbufNone:
		c.pooled = bufPool.Get().(*[bufSize]byte)
		nb = c.pooled[:]
		c.w = copy(nb, c.rbuf[:c.w])
		c.rbuf, c.rkind = nb, rbufPooled
		return
	default:
		nb = make([]byte, 2*len(c.rbuf))
	}
	c.w = copy(nb, c.rbuf[:c.w])
	if c.rkind == rbufPooled {
		bufPool.Put(c.pooled)
		c.pooled = nil
	}
	c.rbuf, c.rkind = nb, rbufOwned
}

// settle gives back the buffers of a connection going idle: none is kept
// when everything was consumed, the small one when a few bytes of a next
// frame wait for the rest.
func (c *Conn) settle() {
	switch {
	case c.r == c.w:
		c.releaseReadBuf()
		c.r, c.w = 0, 0
		c.small = nil
	case c.rkind != rbufSmall && c.w-c.r <= smallBufSize:
		c.keepInSmall()
	}
}

// TryWriteFrames writes already-framed server frames if it can do so
// without waiting: it reports false, having written nothing, when another
// write holds the connection or the socket buffer is full, and true when
// the frames are written, or when the socket took part of them, in which
// case a goroutine finishes the rest (with a write deadline of timeout)
// before any other write can start. bufs are not kept after the call (the
// rest of a partial write is copied). Server side only.
func (c *Conn) TryWriteFrames(bufs [][]byte, timeout time.Duration) (bool, error) {
	if c.client {
		return false, errClientWriteFrames
	}
	rc, ok := c.RawConn()
	if !ok {
		return false, nil
	}
	if !c.wmu.TryLock() {
		return false, nil
	}
	if err := c.writableLocked(); err != nil {
		c.wmu.Unlock()
		return false, err
	}
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	n, err := netpoll.WriteNonBlocking(rc, bufs)
	switch {
	case err == netpoll.ErrWouldBlock || err == netpoll.ErrUnsupported || (err == nil && n == 0 && total > 0):
		c.wmu.Unlock()
		return false, nil
	case err != nil:
		c.writeErr = err
		c.wmu.Unlock()
		return false, err
	case n == total:
		c.wmu.Unlock()
		return true, nil
	}
	// Part of a frame went out: nothing else may be written before the
	// rest, so the lock goes with the remainder to a goroutine. The rest is
	// copied (rare: the socket buffer filled up), so that bufs are never
	// kept after the call.
	rest := make([]byte, 0, total-n)
	for _, b := range bufs {
		if n >= len(b) {
			n -= len(b)
			continue
		}
		rest = append(rest, b[n:]...)
		n = 0
	}
	go func() {
		defer c.wmu.Unlock()
		_ = c.SetWriteDeadline(time.Now().Add(timeout))
		if _, err := c.nc.Write(rest); err != nil {
			c.writeErr = err
		}
	}()
	return true, nil
}
