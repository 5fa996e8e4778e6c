//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat: USER_HZ,
// which is 100 on every Linux architecture Go supports (sysconf(_SC_CLK_TCK)
// would need cgo).
const clockTick = 10 * time.Millisecond

// parseStatusRSS returns VmRSS from the text of /proc/<pid>/status, in bytes.
func parseStatusRSS(status []byte) (int64, error) {
	return parseStatusField(status, "VmRSS:")
}

// parseStatusField returns a "kB" field of /proc/<pid>/status in bytes.
func parseStatusField(status []byte, name string) (int64, error) {
	for line := range bytes.Lines(status) {
		rest, ok := bytes.CutPrefix(line, []byte(name))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) < 1 {
			break
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s %q: %w", name, rest, err)
		}
		if len(f) > 1 && string(f[1]) != "kB" {
			return 0, fmt.Errorf("%s: unexpected unit %q", name, f[1])
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("no %s line", name)
}

// parseStatCPU returns utime+stime (all threads of the process) from the
// text of /proc/<pid>/stat. The command name (field 2) is in parentheses
// and may contain spaces and parentheses, so fields are counted from the
// last ')'.
func parseStatCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("malformed stat: no ')'")
	}
	f := bytes.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, errors.New("malformed stat: too few fields")
	}
	ut, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	st, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("malformed stat: %w", err)
	}
	return time.Duration(ut+st) * clockTick, nil
}

// proc reads the resource use of a server process; pid 0 means unknown
// (every reading is NaN).
type proc struct{ pid int }

// rss returns the resident set size in bytes, NaN when unknown.
func (p proc) rss() float64 {
	if p.pid <= 0 {
		return math.NaN()
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid))
	if err != nil {
		return math.NaN()
	}
	v, err := parseStatusRSS(b)
	if err != nil {
		return math.NaN()
	}
	return float64(v)
}

// cpu returns the CPU time (ns) the process used so far, all its threads
// together, NaN when unknown. It reads the process's CPU-time clock, which
// the kernel keeps in nanoseconds (what clock_getcpuclockid(3) gives for
// another process), and falls back to utime+stime of /proc/<pid>/stat,
// which has a resolution of 10 ms only.
func (p proc) cpu() float64 {
	if p.pid <= 0 {
		return math.NaN()
	}
	if v, ok := processCPUClock(p.pid); ok {
		return float64(v)
	}
	return p.statCPU()
}

// processCPUClock reads the CPU-time clock of process pid: clock id
// MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED) = (^pid << 3) | 2, the one
// glibc's clock_getcpuclockid returns.
func processCPUClock(pid int) (time.Duration, bool) {
	clk := int32(^pid<<3 | 2)
	var ts syscall.Timespec
	_, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, uintptr(clk), uintptr(unsafe.Pointer(&ts)), 0)
	if errno != 0 {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

// statCPU returns utime+stime from /proc/<pid>/stat in nanoseconds.
func (p proc) statCPU() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	if err != nil {
		return math.NaN()
	}
	v, err := parseStatCPU(b)
	if err != nil {
		return math.NaN()
	}
	return float64(v)
}

// selfCPU returns the CPU time (user+system) this process used so far, in
// nanoseconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return float64(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuSample is the CPU time of the server and of this tool at one moment.
type cpuSample struct {
	server, tool float64 // nanoseconds
	at           time.Time
}

func (p proc) sample() cpuSample {
	return cpuSample{server: p.cpu(), tool: selfCPU(), at: time.Now()}
}

// raiseFileLimit sets the soft RLIMIT_NOFILE to the hard limit and returns
// the new soft limit.
func raiseFileLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
		syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
	return rl.Cur
}

// dialers returns one dialer per source address 127.0.0.2, 127.0.0.3, ...
// Spreading connections over several source addresses gives each one its
// own range of ephemeral ports.
func dialers(n int, timeout time.Duration) []*net.Dialer {
	n = max(1, min(n, 250))
	ds := make([]*net.Dialer, n)
	for i := range ds {
		ds[i] = &net.Dialer{
			Timeout:   timeout,
			LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i))},
		}
	}
	return ds
}
