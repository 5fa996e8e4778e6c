//go:build linux

package netpoll

import (
	"sync"
	"syscall"
)

// Supported reports whether Pollers work on this system.
func Supported() bool { return true }

// Poller watches connections for readability with one epoll set. Each
// registered connection is one-shot: after its callback fires, it stays
// silent until Rearm. Callbacks run on a fresh goroutine each time. The
// poller's own goroutine runs only while connections are registered.
type Poller struct {
	epfd         int
	wakeR, wakeW int // a pipe that tells the loop to look at its entries

	mu      sync.RWMutex
	entries map[int32]*Registration // guarded by mu; by descriptor
	running bool                    // guarded by mu; the loop goroutine exists
}

// Registration is one connection in a Poller. The descriptor number of a
// closed connection can be reused by a new one; operations on a stale
// Registration then leave the new one alone.
type Registration struct {
	fd int
	r  Reader
}

var (
	defaultOnce   sync.Once
	defaultPoller *Poller
	defaultErr    error
)

// Default returns the process-wide poller.
func Default() (*Poller, error) {
	defaultOnce.Do(func() { defaultPoller, defaultErr = New() })
	return defaultPoller, defaultErr
}

// New creates a poller. Its goroutine starts with the first registration
// and ends when the last one is removed.
func New() (*Poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	var pipe [2]int
	if err := syscall.Pipe2(pipe[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return nil, err
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(pipe[0])}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, pipe[0], &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(pipe[0])
		syscall.Close(pipe[1])
		return nil, err
	}
	return &Poller{epfd: epfd, wakeR: pipe[0], wakeW: pipe[1], entries: make(map[int32]*Registration)}, nil
}

func (p *Poller) loop() {
	events := make([]syscall.EpollEvent, 256)
	var drain [64]byte
	for {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			p.mu.Lock()
			p.running = false
			p.mu.Unlock()
			return
		}
		wake := false
		p.mu.RLock()
		for i := 0; i < n; i++ {
			fd := events[i].Fd
			if fd == int32(p.wakeR) {
				wake = true
				continue
			}
			if r := p.entries[fd]; r != nil {
				go r.r.OnReadable()
			}
		}
		p.mu.RUnlock()
		if wake {
			for {
				if k, _ := syscall.Read(p.wakeR, drain[:]); k <= 0 {
					break
				}
			}
			p.mu.Lock()
			if len(p.entries) == 0 {
				p.running = false
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
		}
	}
}

const armEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

// Add registers the descriptor of rc and arms it: r.OnReadable runs (on a
// new goroutine) when the connection becomes readable or is closed by the
// peer.
func (p *Poller) Add(rc syscall.RawConn, r Reader) (*Registration, error) {
	fd := -1
	if err := rc.Control(func(f uintptr) { fd = int(f) }); err != nil {
		return nil, err
	}
	reg := &Registration{fd: fd, r: r}
	p.mu.Lock()
	p.entries[int32(fd)] = reg
	if !p.running {
		p.running = true
		go p.loop()
	}
	p.mu.Unlock()
	ev := syscall.EpollEvent{Events: armEvents, Fd: int32(fd)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.Remove(reg)
		return nil, err
	}
	return reg, nil
}

// Rearm asks for the next readiness callback of r. If data is already
// waiting, the callback comes at once.
func (p *Poller) Rearm(r *Registration) error {
	p.mu.RLock()
	current := p.entries[int32(r.fd)] == r
	p.mu.RUnlock()
	if !current {
		return ErrUnsupported
	}
	ev := syscall.EpollEvent{Events: armEvents, Fd: int32(r.fd)}
	return syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, r.fd, &ev)
}

// Remove forgets r. Call it before closing the connection; a late call on a
// reused descriptor does nothing.
func (p *Poller) Remove(r *Registration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.entries[int32(r.fd)] != r {
		return
	}
	delete(p.entries, int32(r.fd))
	_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, r.fd, nil)
	if len(p.entries) == 0 && p.running {
		_, _ = syscall.Write(p.wakeW, []byte{0}) // let the loop end
	}
}
