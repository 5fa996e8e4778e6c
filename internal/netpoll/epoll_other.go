//go:build !linux

package netpoll

import "syscall"

// Supported reports whether Pollers work on this system.
func Supported() bool { return false }

// Poller is unavailable on this system.
type Poller struct{}

// Registration is one connection in a Poller.
type Registration struct{}

// Default returns ErrUnsupported on this system.
func Default() (*Poller, error) { return nil, ErrUnsupported }

// New returns ErrUnsupported on this system.
func New() (*Poller, error) { return nil, ErrUnsupported }

// Add returns ErrUnsupported on this system.
func (p *Poller) Add(syscall.RawConn, Reader) (*Registration, error) { return nil, ErrUnsupported }

// Rearm returns ErrUnsupported on this system.
func (p *Poller) Rearm(*Registration) error { return ErrUnsupported }

// Remove does nothing on this system.
func (p *Poller) Remove(*Registration) {}
