//go:build unix

package netpoll

import (
	"sync"
	"syscall"
	"unsafe"
)

// rawIO carries one system call's arguments and results through
// RawConn.Read/Write without a closure allocation per call: each rawIO is
// pooled with its callbacks bound once.
type rawIO struct {
	p      []byte
	iov    []syscall.Iovec
	n      int
	err    error
	readFn func(uintptr) bool
	wrFn   func(uintptr) bool
}

var rawPool = sync.Pool{New: func() any {
	r := new(rawIO)
	r.readFn = r.read
	r.wrFn = r.writev
	return r
}}

func (r *rawIO) read(fd uintptr) bool {
	r.n, r.err = ReadFD(fd, r.p)
	return true
}

func (r *rawIO) writev(fd uintptr) bool {
	for {
		n, _, errno := syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&r.iov[0])), uintptr(len(r.iov)))
		if errno == syscall.EINTR {
			continue
		}
		r.n, r.err = int(n), nil
		if errno != 0 {
			r.n, r.err = 0, errno
		}
		return true // never park: the caller queues what is left
	}
}

// ReadNonBlocking reads from rc without waiting: it returns ErrWouldBlock
// when there is nothing to read, and (0, nil) when the peer closed its side.
func ReadNonBlocking(rc syscall.RawConn, p []byte) (int, error) {
	r := rawPool.Get().(*rawIO)
	r.p = p
	err := rc.Read(r.readFn)
	n, rerr := r.n, r.err
	r.p = nil
	rawPool.Put(r)
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

// ReadFD reads once from the descriptor fd, inside a RawConn.Read
// callback, retrying only when interrupted. It returns the system call's
// error as is (syscall.EAGAIN when there is nothing to read).
func ReadFD(fd uintptr, p []byte) (int, error) {
	for {
		n, err := syscall.Read(int(fd), p)
		if err != syscall.EINTR {
			return n, err
		}
	}
}

// Shutdown shuts rc's socket down in both directions: the peer sees the
// end, and a read waiting on it returns, while the descriptor stays open.
func Shutdown(rc syscall.RawConn) error {
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.Shutdown(int(fd), syscall.SHUT_RDWR) }); err != nil {
		return err
	}
	return serr
}

// maxIovecs bounds one WriteNonBlocking call; the caller writes the rest
// later.
const maxIovecs = 64

// WriteNonBlocking writes as much of bufs as the socket takes at once, in
// one writev, and returns the number of bytes written (0 with
// ErrWouldBlock when the socket is full). It never waits.
func WriteNonBlocking(rc syscall.RawConn, bufs [][]byte) (int, error) {
	r := rawPool.Get().(*rawIO)
	defer rawPool.Put(r)
	r.iov = r.iov[:0]
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		if len(r.iov) == maxIovecs {
			break
		}
		v := syscall.Iovec{Base: &b[0]}
		v.SetLen(len(b))
		r.iov = append(r.iov, v)
	}
	if len(r.iov) == 0 {
		return 0, nil
	}
	err := rc.Write(r.wrFn)
	n, werr := r.n, r.err
	clear(r.iov)
	r.iov = r.iov[:0]
	if err != nil {
		return 0, err
	}
	if werr == syscall.EAGAIN {
		return 0, ErrWouldBlock
	}
	return n, werr
}
