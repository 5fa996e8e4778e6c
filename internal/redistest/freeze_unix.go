//go:build unix

package redistest

import (
	"os"
	"os/exec"
	"syscall"
)

// Freeze stops the server's process (SIGSTOP): connections stay open and
// nothing answers, as with a hung Redis or a network that drops packets.
func (s *Server) Freeze() { s.signal(syscall.SIGSTOP) }

// Thaw lets a frozen server go on (SIGCONT).
func (s *Server) Thaw() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig os.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(sig)
	}
}

func (s *Server) thaw(cmd *exec.Cmd) { _ = cmd.Process.Signal(syscall.SIGCONT) }
