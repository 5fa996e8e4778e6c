//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// Mixed load at scale: cfg.mixedConns connections, a broadcast of one
// message to all of them every cfg.mixedEvery, and cfg.mixedEchoClients of
// them sending echo requests open-loop at cfg.mixedRate in total. Echo
// latency is measured as in echo-open; each broadcast's delivery time is
// the time from its request to its arrival at the last client. With
// -mixed-procs 2 (the default) the receive-only clients live in a child
// process (the hidden command mixed-receivers).

var mixedMetrics = []metric{
	{"offered_per_s", "echo offered rate (requests/s)", 0},
	{"acks_per_s", "echo acks per second", +1},
	{"p50_ms", "echo latency p50 (ms)", -1},
	{"p99_ms", "echo latency p99 (ms)", -1},
	{"p999_ms", "echo latency p99.9 (ms)", -1},
	{"max_ms", "echo latency max (ms)", -1},
	{"bcast_ms", "broadcast to the last client, median (ms)", -1},
	{"bcast_max_ms", "broadcast to the last client, max (ms)", -1},
	{"server_cpu_pct", "server CPU (% of one core)", 0},
	{"server_rss_mib", "server RSS (MiB)", -1},
	{"tool_cpu_pct", "load tool CPU (% of one core)", 0},
	{"unanswered", "echo requests unanswered at the end", -1},
	{"undelivered", "broadcast messages not delivered", -1},
}

// bcastTracker follows the deliveries of a series of broadcasts of one
// message each: the k-th message a client receives is broadcast k.
type bcastTracker struct {
	clients int64
	base    time.Time
	sentAt  []atomic.Int64 // request time of broadcast k, ns since base (0: not sent)
	got     []atomic.Int64 // clients that received broadcast k
	lastAt  []atomic.Int64 // when the last client received it, ns since base
}

func newBcastTracker(clients, broadcasts int) *bcastTracker {
	return &bcastTracker{
		clients: int64(clients),
		sentAt:  make([]atomic.Int64, broadcasts),
		got:     make([]atomic.Int64, broadcasts),
		lastAt:  make([]atomic.Int64, broadcasts),
	}
}

// received counts the arrival of broadcast k (from 0) at one client.
func (b *bcastTracker) received(k int) {
	if k < 0 || k >= len(b.got) {
		return
	}
	if b.got[k].Add(1) == b.clients {
		b.lastAt[k].Store(int64(time.Since(b.base)))
	}
}

// reached reports whether the first k broadcasts reached every client.
func (b *bcastTracker) reached(k int) bool {
	for j := range min(k, len(b.got)) {
		if b.got[j].Load() < b.clients {
			return false
		}
	}
	return true
}

// complete reports whether every broadcast sent has reached every client.
func (b *bcastTracker) complete() bool {
	for k := range b.sentAt {
		if b.sentAt[k].Load() != 0 && b.got[k].Load() < b.clients {
			return false
		}
	}
	return true
}

// delivery returns the delivery times (ns) of the broadcasts requested in
// [from, to) that reached every client, sorted, and the number of messages
// of those broadcasts that did not arrive.
func (b *bcastTracker) delivery(from, to int64) (times []int64, missing int64) {
	for k := range b.sentAt {
		t := b.sentAt[k].Load()
		if t == 0 || t < from || t >= to {
			continue
		}
		if g := b.got[k].Load(); g < b.clients {
			missing += b.clients - g
			continue
		}
		times = append(times, b.lastAt[k].Load()-t)
	}
	slices.Sort(times)
	return times, missing
}

// countMsgs returns a function that counts, for client i, the broadcast
// messages among its packets into b.
func countMsgs(b *bcastTracker, clients int) func(i int, bin bool, data []byte) {
	counts := make([]int32, clients) // messages received, by client (owned by its reader)
	return func(i int, bin bool, data []byte) {
		if !bin && len(data) > 0 && data[0] == '2' {
			b.received(int(counts[i]))
			counts[i]++
		}
	}
}

// receiveOnly is the reader of a connection that only receives.
func receiveOnly(onMsg func(i int, bin bool, data []byte)) readerFunc {
	return func(i int, c *wsConn, set *clientSet) error {
		for {
			bin, data, err := c.nextPacket()
			if err != nil {
				return err
			}
			onMsg(i, bin, data)
		}
	}
}

func runMixed(ctx context.Context, cfg *config) (result, error) {
	n, ne := cfg.mixedConns, cfg.mixedEchoClients
	switch {
	case ne <= 0 || ne+1 >= n:
		return nil, fmt.Errorf("-mixed-echo-clients %d: between 1 and -mixed-conns (%d) - 2", ne, n)
	case cfg.mixedEvery <= 0:
		return nil, errors.New("-mixed-every must be positive")
	case cfg.mixedProcs != 1 && cfg.mixedProcs != 2:
		return nil, errors.New("-mixed-procs: 1 or 2")
	}
	// This process holds the echo clients and the one that asks for the
	// broadcasts, and with -mixed-procs 2 a child process the others.
	local := n
	if cfg.mixedProcs == 2 {
		local = ne + 1
	}
	if lim := raiseFileLimit(); lim > 0 && uint64(local)+64 > lim {
		return nil, fmt.Errorf("-mixed-conns %d: the tool may open %d files (RLIMIT_NOFILE), %d are needed (-mixed-procs 2 halves that)", n, lim, local+64)
	}
	rate, err := openRate(ctx, cfg, "-mixed-rate", cfg.mixedRate, cfg.mixedOpenRate)
	if err != nil {
		return nil, err
	}
	nb := int((cfg.warmup+cfg.duration)/cfg.mixedEvery) + 1

	var rp *receiverProc
	if local < n {
		fmt.Fprintf(os.Stderr, "mixed: connecting %d clients in a child process ...\n", n-local)
		if rp, err = startReceivers(ctx, cfg, n-local, nb); err != nil {
			return nil, err
		}
		defer rp.stop()
	}

	p := proc{cfg.pid}
	o := &openLoop{
		arg: echoArg(cfg.size), arrivals: cfg.arrivals, rate: rate, clients: ne,
		outstanding: cfg.outstanding, from: int64(cfg.warmup), to: int64(cfg.warmup + cfg.duration),
	}
	bt := newBcastTracker(local, nb)
	onMsg := countMsgs(bt, local)
	start := make(chan struct{})
	o.finished.Add(ne)
	receive := receiveOnly(onMsg)
	reader := func(i int, c *wsConn, set *clientSet) error {
		if i < ne {
			return o.client(i, c, set, start, func(bin bool, data []byte) { onMsg(i, bin, data) })
		}
		return receive(i, c, set)
	}
	fmt.Fprintf(os.Stderr, "mixed: connecting %d clients ...\n", local)
	set, err := connectMany(ctx, cfg, local, idleBufSize, 0, reader)
	if err != nil {
		return nil, err
	}
	defer set.closeAll(cfg.timeout)

	base := time.Now()
	o.base, bt.base = base, base
	close(start)
	// The broadcasts: one request of one message every cfg.mixedEvery,
	// from conn ne (not an echo client), until the end of the window.
	var sent atomic.Int64
	bcastErr := make(chan error, 1)
	go func() {
		req := fmt.Sprintf(`{"count":1,"size":%d,"binary":false}`, cfg.size)
		for k := range nb {
			at := base.Add(time.Duration(k) * cfg.mixedEvery)
			if at.After(base.Add(cfg.warmup + cfg.duration)) {
				break
			}
			select {
			case <-time.After(time.Until(at)):
			case <-set.stop:
				return
			}
			bt.sentAt[k].Store(max(1, int64(time.Since(base))))
			sent.Add(1)
			if err := set.conns[ne].writeEvent(uint64(k), "broadcast", req); err != nil {
				bcastErr <- err
				return
			}
		}
	}()
	if err := sleepUntil(ctx, base.Add(cfg.warmup)); err != nil {
		return nil, err
	}
	s0, c0 := p.sample(), rp.cpu()
	if err := sleepUntil(ctx, base.Add(cfg.warmup+cfg.duration)); err != nil {
		return nil, err
	}
	s1, c1 := p.sample(), rp.cpu()
	rss := p.rss()
	lost := o.wait(time.Now().Add(cfg.timeout))
	// The last broadcast's deliveries, a little longer.
	for deadline := time.Now().Add(min(cfg.timeout, 10*time.Second)); !bt.complete() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-bcastErr:
		return nil, fmt.Errorf("broadcast request: %w", err)
	default:
	}
	if k := set.lost.Load(); k > 0 {
		return nil, fmt.Errorf("%d clients failed, first: %w", k, set.firstErr())
	}
	if o.acked.Load() == 0 {
		return nil, errors.New("no acks received")
	}
	all := bt
	if rp != nil {
		rep, err := rp.finish(int(sent.Load()))
		if err != nil {
			return nil, err
		}
		if all, err = mergeReceivers(bt, rep, base); err != nil {
			return nil, err
		}
	}
	r := o.result(s0, s1, lost)
	wall := float64(s1.at.Sub(s0.at))
	times, missing := all.delivery(o.from, o.to)
	tf := make([]float64, len(times))
	for i, t := range times {
		tf[i] = float64(t)
	}
	return result{
		"offered_per_s":  rate,
		"acks_per_s":     r["acks_per_s"],
		"p50_ms":         r["p50_ms"],
		"p99_ms":         r["p99_ms"],
		"p999_ms":        r["p999_ms"],
		"max_ms":         r["max_ms"],
		"bcast_ms":       median(tf) / 1e6,
		"bcast_max_ms":   percentile(times, 100) / 1e6,
		"server_cpu_pct": r["server_cpu_pct"],
		"server_rss_mib": rss / (1 << 20),
		"tool_cpu_pct":   (s1.tool - s0.tool + c1 - c0) / wall * 100,
		"unanswered":     float64(lost),
		"undelivered":    float64(missing),
	}, nil
}

// receiversReport is what the receivers' process reports at the end: per
// broadcast, how many of its clients received it and when the last one
// did (Unix nanoseconds; 0 when not all did).
type receiversReport struct {
	Clients int64   `json:"clients"`
	Got     []int64 `json:"got"`
	Last    []int64 `json:"last"`
	Lost    int64   `json:"lost"`
	Err     string  `json:"err,omitempty"`
}

// mergeReceivers combines the deliveries seen here (b, times since base)
// with those of the receivers' process.
func mergeReceivers(b *bcastTracker, rep receiversReport, base time.Time) (*bcastTracker, error) {
	if rep.Lost > 0 {
		return nil, fmt.Errorf("%d clients of the receivers' process failed, first: %s", rep.Lost, rep.Err)
	}
	if len(rep.Got) != len(b.got) || len(rep.Last) != len(b.got) {
		return nil, errors.New("the receivers' process reported another number of broadcasts")
	}
	m := newBcastTracker(int(b.clients+rep.Clients), len(b.got))
	m.base = b.base
	for k := range b.got {
		m.sentAt[k].Store(b.sentAt[k].Load())
		m.got[k].Store(b.got[k].Load() + rep.Got[k])
		last := b.lastAt[k].Load()
		if rep.Last[k] != 0 {
			last = max(last, rep.Last[k]-base.UnixNano())
		}
		m.lastAt[k].Store(last)
	}
	return m, nil
}

// receiverProc is the child process that holds the receive-only clients
// of mixed ("siobench mixed-receivers"), so that their goroutines do not
// queue in front of the echo clients' in one Go scheduler, and so that
// neither process needs more file descriptors than it may open.
type receiverProc struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string // its standard output, line by line; closed at its end
	done  chan struct{}
}

// startReceivers starts n receive-only clients in a child process and
// waits until they are connected.
func startReceivers(ctx context.Context, cfg *config, n, broadcasts int) (*receiverProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"mixed-receivers", "-addr", cfg.addr, "-sources", strconv.Itoa(cfg.sources),
		"-dial-timeout", cfg.dialTimeout.String(), "-timeout", cfg.timeout.String(),
		"-setup-concurrency", strconv.Itoa(cfg.setupConc), "-parser", cfg.parser,
		"-receivers", strconv.Itoa(n), "-broadcasts", strconv.Itoa(broadcasts)}
	if cfg.deflate {
		args = append(args, "-deflate")
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	rp := &receiverProc{cmd: cmd, in: in, lines: make(chan string, 4), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			rp.lines <- sc.Text()
		}
		close(rp.lines)
		cmd.Wait()
		close(rp.done)
	}()
	line, err := rp.line(ctx, cfg.timeout)
	if err != nil || line != "ready" {
		rp.stop()
		return nil, fmt.Errorf("the receivers' process: %q, %v", line, err)
	}
	return rp, nil
}

// line returns the next line of the child's output.
func (rp *receiverProc) line(ctx context.Context, timeout time.Duration) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case l, ok := <-rp.lines:
		if !ok {
			return "", errors.New("exited")
		}
		return l, nil
	case <-t.C:
		return "", errors.New("no answer in time")
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// cpu returns the CPU time of the child (ns), 0 without a child.
func (rp *receiverProc) cpu() float64 {
	if rp == nil {
		return 0
	}
	return proc{rp.cmd.Process.Pid}.cpu()
}

// finish tells the child how many broadcasts were sent and returns its
// report.
func (rp *receiverProc) finish(sent int) (receiversReport, error) {
	var rep receiversReport
	if _, err := fmt.Fprintf(rp.in, "stop %d\n", sent); err != nil {
		return rep, fmt.Errorf("the receivers' process: %w", err)
	}
	line, err := rp.line(context.Background(), 30*time.Second)
	if err != nil {
		return rep, fmt.Errorf("the receivers' process: %w", err)
	}
	if err := json.Unmarshal([]byte(line), &rep); err != nil {
		return rep, fmt.Errorf("the receivers' report: %w", err)
	}
	return rep, nil
}

// stop ends the child: end of its input, then SIGKILL after 10 s.
func (rp *receiverProc) stop() {
	rp.in.Close()
	select {
	case <-rp.done:
	case <-time.After(10 * time.Second):
		rp.cmd.Process.Kill()
		<-rp.done
	}
}

// mixedReceiversCommand is the child process of mixed: it connects
// -receivers clients that count the broadcasts they receive, says "ready",
// and on "stop K" (K broadcasts were sent) waits at most 10 s for those to
// reach every client, then prints its receiversReport as JSON and ends.
func mixedReceiversCommand(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("mixed-receivers", flag.ExitOnError)
	var cfg config
	cfg.register(fs)
	n := fs.Int("receivers", 0, "clients")
	nb := fs.Int("broadcasts", 0, "broadcasts to count")
	fs.Parse(args)
	if *n <= 0 || *nb <= 0 {
		return errors.New("mixed-receivers: -receivers and -broadcasts are needed")
	}
	bt := newBcastTracker(*n, *nb)
	bt.base = time.Unix(0, 0) // times in Unix nanoseconds, comparable across processes
	set, err := connectMany(ctx, &cfg, *n, idleBufSize, 0, receiveOnly(countMsgs(bt, *n)))
	if err != nil {
		return err
	}
	defer set.closeAll(cfg.timeout)
	fmt.Println("ready")
	sc := bufio.NewScanner(os.Stdin)
	if !sc.Scan() {
		return nil // the parent gave up
	}
	var sent int
	if _, err := fmt.Sscanf(sc.Text(), "stop %d", &sent); err != nil {
		return fmt.Errorf("mixed-receivers: %q: %w", sc.Text(), err)
	}
	for deadline := time.Now().Add(10 * time.Second); !bt.reached(sent) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	rep := receiversReport{Clients: int64(*n), Got: make([]int64, *nb), Last: make([]int64, *nb), Lost: set.lost.Load()}
	for k := range rep.Got {
		rep.Got[k] = bt.got[k].Load()
		rep.Last[k] = bt.lastAt[k].Load()
	}
	if err := set.firstErr(); err != nil {
		rep.Err = err.Error()
	}
	b, _ := json.Marshal(rep)
	fmt.Printf("%s\n", b)
	return nil
}
