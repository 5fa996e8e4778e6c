// Package netpoll tells when idle connections become readable without a
// goroutine waiting on each of them.
//
// A goroutine blocked in Read costs its stack (2 to 8 KB) for as long as the
// connection is idle, which dominates the memory of a server holding many
// quiet WebSocket connections. A Poller instead keeps the connections in one
// epoll set (Linux) and starts a short-lived goroutine when one has data;
// that goroutine reads what is there without blocking, then re-arms the
// connection. Writes keep going through the net.Conn.
//
// On other systems Supported reports false and callers read with a goroutine
// per connection.
package netpoll

import (
	"errors"
	"syscall"
)

// ErrUnsupported: no poller on this system, or the connection has no file
// descriptor.
var ErrUnsupported = errors.New("netpoll: not supported")

// ErrWouldBlock is returned by a non-blocking read that found no data.
var ErrWouldBlock = errors.New("netpoll: would block")

// ReadWait reads from rc, waiting for data through the Go runtime's poller
// (and the connection's read deadline) when there is none yet.
func ReadWait(rc syscall.RawConn, p []byte) (int, error) {
	var n int
	var rerr error
	err := rc.Read(func(fd uintptr) bool {
		for {
			n, rerr = syscall.Read(int(fd), p)
			if rerr == syscall.EINTR {
				continue
			}
			return rerr != syscall.EAGAIN
		}
	})
	if err != nil {
		return 0, err
	}
	if rerr != nil {
		return 0, rerr
	}
	if n < 0 {
		n = 0
	}
	return n, nil
}

// ReadNonBlocking reads from rc without waiting: it returns ErrWouldBlock
// when there is nothing to read, and io.EOF-like (0, nil) when the peer
// closed its side.
func ReadNonBlocking(rc syscall.RawConn, p []byte) (int, error) {
	var n int
	var rerr error
	err := rc.Read(func(fd uintptr) bool {
		for {
			n, rerr = syscall.Read(int(fd), p)
			if rerr == syscall.EINTR {
				continue
			}
			return true // never park: the poller tells us when to come back
		}
	})
	if err != nil {
		return 0, err
	}
	if rerr == syscall.EAGAIN {
		return 0, ErrWouldBlock
	}
	if rerr != nil {
		return 0, rerr
	}
	if n < 0 {
		n = 0
	}
	return n, nil
}
