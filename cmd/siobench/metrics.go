//go:build linux

package main

import "os/exec"

// The go server with Prometheus metrics on (bench/servers/go -metrics,
// package promsocketio), for run: -servers go,go-metrics measures what the
// metrics cost in the same run.
func init() {
	for _, base := range serverDefs {
		if base.name != "go" {
			continue
		}
		v := *base
		v.name, v.about = "go-metrics", base.about+" with Prometheus metrics (-metrics)"
		command := base.command
		v.command = func(root, dir, addr string) *exec.Cmd {
			cmd := command(root, dir, addr)
			cmd.Args = append(cmd.Args, "-metrics")
			return cmd
		}
		serverDefs = append(serverDefs, &v)
		return
	}
}
