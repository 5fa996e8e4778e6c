//go:build !unix

package interop

import "os/exec"

// setProcessGroup kills only the process on timeout on this system.
func setProcessGroup(cmd *exec.Cmd) {}
