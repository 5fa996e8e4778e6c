package clustertest

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Logs is a buffer safe for concurrent writes: a process's stderr, a
// logger's output.
type Logs struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Process is a server process (a Node peer) started by StartProcess.
type Process struct {
	Name string
	Addr string // 127.0.0.1:<port>
	Logs *Logs  // its stderr

	cmd  *exec.Cmd
	once sync.Once
}

// StartProcess starts cmd, which prints "listening <port>" as its first
// line on stdout, and waits for that line (30 s at most: node takes
// seconds on a loaded machine). The process is killed at the end of the
// test, and its stderr logged if the test failed.
func StartProcess(t *testing.T, name string, cmd *exec.Cmd) *Process {
	t.Helper()
	p := &Process{Name: name, cmd: cmd, Logs: &Logs{}}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = p.Logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, out)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, p.Logs.String())
		}
	})
	select {
	case line := <-lines:
		port, ok := strings.CutPrefix(line, "listening ")
		if !ok {
			t.Fatalf("%s did not start: %q\n%s", name, line, p.Logs.String())
		}
		p.Addr = "127.0.0.1:" + port
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not start in time\n%s", name, p.Logs.String())
	}
	return p
}

// URL is the process's base URL.
func (p *Process) URL() string { return "http://" + p.Addr }

// Kill kills the process and waits for it.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	p.Wait()
}

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) { _ = p.cmd.Process.Signal(sig) }

// Wait waits for the process to exit.
func (p *Process) Wait() { p.once.Do(func() { _ = p.cmd.Wait() }) }
