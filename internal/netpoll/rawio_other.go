//go:build !unix

package netpoll

import "syscall"

// ReadFD is unavailable on this system.
func ReadFD(uintptr, []byte) (int, error) { return 0, ErrUnsupported }

// Shutdown is unavailable on this system.
func Shutdown(syscall.RawConn) error { return ErrUnsupported }

// ReadNonBlocking is unavailable on this system.
func ReadNonBlocking(syscall.RawConn, []byte) (int, error) { return 0, ErrUnsupported }

// WriteNonBlocking is unavailable on this system.
func WriteNonBlocking(syscall.RawConn, [][]byte) (int, error) { return 0, ErrUnsupported }
