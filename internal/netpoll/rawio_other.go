//go:build !unix

package netpoll

import "syscall"

// ReadWait is unavailable on this system.
func ReadWait(syscall.RawConn, []byte) (int, error) { return 0, ErrUnsupported }

// ReadNonBlocking is unavailable on this system.
func ReadNonBlocking(syscall.RawConn, []byte) (int, error) { return 0, ErrUnsupported }

// WriteNonBlocking is unavailable on this system.
func WriteNonBlocking(syscall.RawConn, [][]byte) (int, error) { return 0, ErrUnsupported }
