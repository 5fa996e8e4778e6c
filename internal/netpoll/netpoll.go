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
)

// Reader is told when its connection has data to read.
type Reader interface{ OnReadable() }

// ErrUnsupported: no poller on this system, or the connection has no file
// descriptor.
var ErrUnsupported = errors.New("netpoll: not supported")

// ErrWouldBlock is returned by a non-blocking read that found no data.
var ErrWouldBlock = errors.New("netpoll: would block")
