//go:build unix

package pgtest

import (
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
)

// postgresUser is the uid and gid of the postgres user, when the test runs
// as root.
func postgresUser() (uint32, uint32, bool) {
	if os.Geteuid() != 0 {
		return 0, 0, false
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return 0, 0, false
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uint32(uid), uint32(gid), true
}

func own(dir string) error {
	if uid, gid, ok := postgresUser(); ok {
		return os.Chown(dir, int(uid), int(gid))
	}
	return nil
}

func asPostgres(cmd *exec.Cmd) {
	if uid, gid, ok := postgresUser(); ok {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
	}
}

func quit(cmd *exec.Cmd) { _ = cmd.Process.Signal(syscall.SIGQUIT) }
