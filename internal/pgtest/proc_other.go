//go:build !unix

package pgtest

import "os/exec"

func own(string) error     { return nil }
func asPostgres(*exec.Cmd) {}
func quit(cmd *exec.Cmd)   { _ = cmd.Process.Kill() }
