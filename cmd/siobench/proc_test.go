//go:build linux

package main

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestParseStatusRSS(t *testing.T) {
	status := "Name:\tnode\nUmask:\t0022\nVmPeak:\t 1200000 kB\nVmRSS:\t   51234 kB\nRssAnon:\t   40000 kB\n"
	got, err := parseStatusRSS([]byte(status))
	if err != nil || got != 51234*1024 {
		t.Fatalf("parseStatusRSS = %d, %v; want %d", got, err, 51234*1024)
	}
	if _, err := parseStatusRSS([]byte("Name:\tx\n")); err == nil {
		t.Fatal("no VmRSS line: want an error")
	}
	if _, err := parseStatusRSS([]byte("VmRSS:\t 12 MB\n")); err == nil {
		t.Fatal("unexpected unit: want an error")
	}
}

func TestParseStatCPU(t *testing.T) {
	for _, tc := range []struct {
		name string
		stat string
		want time.Duration
	}{
		{"plain", "4242 (node) S 1 4242 4242 0 -1 4194560 5000 0 0 0 250 37 0 0 20 0 11 0 123456 1000000 12000 18446744073709551615", 287 * clockTick},
		{"spaces and parens in comm", "99 (my (odd) name) R 1 99 99 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 1 1 1", 10 * clockTick},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tc.stat))
			if err != nil || got != tc.want {
				t.Fatalf("parseStatCPU = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	if _, err := parseStatCPU([]byte("12 (x) S 1 2")); err == nil {
		t.Fatal("short stat: want an error")
	}
}

// TestProcessCPUClock checks the nanosecond CPU clock of another process
// against the tick-based /proc figure.
func TestProcessCPUClock(t *testing.T) {
	cmd := exec.Command("sh", "-c", "i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done; sleep 5")
	if err := cmd.Start(); err != nil {
		t.Skip("no sh:", err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	p := proc{cmd.Process.Pid}
	deadline := time.Now().Add(20 * time.Second)
	for p.statCPU() < float64(200*time.Millisecond) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	clk, ok := processCPUClock(p.pid)
	stat := p.statCPU()
	if !ok {
		t.Fatal("clock_gettime on the process CPU clock failed")
	}
	if d := float64(clk) - stat; d < -float64(50*time.Millisecond) || d > float64(500*time.Millisecond) {
		t.Fatalf("CPU clock %v, /proc/stat %v: too far apart", clk, time.Duration(stat))
	}
	if own, ok := processCPUClock(os.Getpid()); !ok || own <= 0 {
		t.Fatalf("own CPU clock = %v, %v", own, ok)
	}
}

func TestProcMissing(t *testing.T) {
	p := proc{0}
	if v := p.rss(); v == v {
		t.Fatalf("rss of pid 0 = %v, want NaN", v)
	}
	if v := p.cpu(); v == v {
		t.Fatalf("cpu of pid 0 = %v, want NaN", v)
	}
}
