//go:build linux

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// config holds the settings of every scenario; each subcommand registers
// all of them, so that "run" can pass them on.
type config struct {
	addr        string
	pid         int
	sources     int
	dialTimeout time.Duration
	timeout     time.Duration
	setupConc   int

	idleConns int
	settle    time.Duration

	fanClients   int
	fanCount     int
	fanWarmup    int
	fanReadDelay time.Duration
	size         int

	echoClients int
	pollClients int
	window      int
	duration    time.Duration
	warmup      time.Duration

	rate        string  // echo-open: -rate as given
	openRate    float64 // echo-open: the rate resolved by run (0: from rate)
	openNote    string  // echo-open: how run resolved it
	arrivals    string
	outstanding int

	mixedConns       int
	mixedEchoClients int
	mixedRate        string  // as given
	mixedOpenRate    float64 // resolved by run (0: from mixedRate)
	mixedNote        string  // how run resolved it
	mixedEvery       time.Duration
	mixedProcs       int

	deflate bool
	parser  string // parserJSON or parserMsgpack
}

func (c *config) register(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "addr", "127.0.0.1:3000", "server address host:port")
	fs.IntVar(&c.pid, "pid", 0, "server process id, for CPU and RSS from /proc (0: not measured)")
	fs.IntVar(&c.sources, "sources", 16, "number of source addresses 127.0.0.2, 127.0.0.3, ... to spread connections over")
	fs.DurationVar(&c.dialTimeout, "dial-timeout", 15*time.Second, "bound of one connection set-up")
	fs.DurationVar(&c.timeout, "timeout", 120*time.Second, "bound of every other wait (a broadcast delivery, the end of an echo run)")
	fs.IntVar(&c.setupConc, "setup-concurrency", 64, "connection set-ups in flight")

	fs.IntVar(&c.idleConns, "idle-conns", 10000, "idle: connections")
	fs.DurationVar(&c.settle, "settle", 3*time.Second, "idle: wait before reading the server's RSS")

	fs.IntVar(&c.fanClients, "fanout-clients", 1000, "fanout: connected clients")
	fs.IntVar(&c.fanCount, "fanout-count", 1000, "fanout: messages per broadcast request")
	fs.IntVar(&c.fanWarmup, "fanout-warmup", 20, "fanout: messages of the unmeasured warm-up broadcast")
	fs.DurationVar(&c.fanReadDelay, "fanout-read-delay", 0, "fanout: pause before each socket read, so that one read takes several frames (lowers the tool's CPU; adds up to this much latency)")
	fs.IntVar(&c.size, "size", 100, "fanout, echo: payload bytes")

	fs.IntVar(&c.echoClients, "echo-clients", 50, "echo: clients")
	fs.IntVar(&c.pollClients, "poll-clients", 50, "polling: clients")
	fs.IntVar(&c.window, "window", 1, "echo, polling: outstanding acks per client")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "echo, polling: measured time")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "echo, polling: unmeasured time before it")
	fs.StringVar(&c.rate, "rate", "80%node", "echo-open: total requests per second: a number, P% (of the closed-loop echo rate of the server under test, measured first) or, in run, P%server (of that server's closed-loop echo rate in this run: from its echo runs, or one run made for it)")
	fs.StringVar(&c.arrivals, "arrivals", arrivalsPoisson, "echo-open, mixed: the request schedule: poisson (seeded: the same for every server) or even (evenly spaced)")
	fs.IntVar(&c.outstanding, "outstanding", 1024, "echo-open, mixed: most requests one client has in flight; a sender at the bound waits (the wait counts in the latency)")
	fs.IntVar(&c.mixedConns, "mixed-conns", 19000, "mixed: connections in all (the echo clients included); each receives every broadcast")
	fs.IntVar(&c.mixedEchoClients, "mixed-echo-clients", 500, "mixed: of those, the open-loop echo clients")
	fs.StringVar(&c.mixedRate, "mixed-rate", "2000", "mixed: the echo clients' total requests per second (the forms of -rate)")
	fs.DurationVar(&c.mixedEvery, "mixed-every", time.Second, "mixed: interval between broadcasts (of one -size message to every connection)")
	fs.IntVar(&c.mixedProcs, "mixed-procs", 2, "mixed: processes of the tool: 2 puts the receive-only clients in a child process, so that they neither delay the echo clients in one Go scheduler nor need the file descriptors of this one; 1 keeps all here")
	fs.StringVar(&c.parser, "parser", parserJSON, "the clients' Socket.IO parser: json, or msgpack (npm socket.io-msgpack-parser's; WebSocket scenarios only; in run, the servers go-msgpack and node-msgpack use it)")
	fs.BoolVar(&c.deflate, "deflate", false, "WebSocket compression: the clients offer permessage-deflate (without context takeover) and compress what they send from 1024 bytes on; run starts the servers with compression on (not zishang)")
}

// metric describes one number a scenario reports.
type metric struct {
	key    string
	label  string
	better int // +1 higher is better, -1 lower is better, 0 for information
}

// result holds a scenario's numbers by metric key.
type result map[string]float64

// scenario is one benchmark.
type scenario struct {
	name    string
	title   string
	metrics []metric
	run     func(ctx context.Context, cfg *config) (result, error)
	// runsKey is the metric listed for every run under the table
	// ("": the first).
	runsKey string
}

var scenarios = []*scenario{
	{
		name:  "idle",
		title: "idle WebSocket connections",
		metrics: []metric{
			{"kib_per_conn", "server memory per connection (KiB RSS)", -1},
			{"setup_rate", "connection set-up rate (conn/s)", +1},
			{"server_us_per_conn", "server CPU per connection set-up (µs)", -1},
			{"tool_us_per_conn", "load tool CPU per connection set-up (µs)", 0},
			{"server_rss_mib", "server RSS with all connections (MiB)", 0},
		},
		run: runIdle,
	},
	{
		name:    "fanout",
		title:   "broadcast fan-out, text",
		metrics: fanoutMetrics,
		run:     func(ctx context.Context, cfg *config) (result, error) { return runFanout(ctx, cfg, false) },
	},
	{
		name:    "binary",
		title:   "broadcast fan-out, binary",
		metrics: fanoutMetrics,
		run:     func(ctx context.Context, cfg *config) (result, error) { return runFanout(ctx, cfg, true) },
	},
	{
		name:    "echo",
		title:   "echo with acks, WebSocket",
		metrics: echoMetrics,
		run:     runEcho,
	},
	{
		name:    "echo-open",
		title:   "open-loop echo with acks, WebSocket",
		metrics: openMetrics,
		run:     runEchoOpen,
		runsKey: "p99_ms",
	},
	{
		name:    "polling",
		title:   "echo with acks, HTTP long-polling",
		metrics: echoMetrics,
		run:     runPollingEcho,
	},
	{
		name:    "mixed",
		title:   "mixed load at scale, WebSocket",
		metrics: mixedMetrics,
		run:     runMixed,
		runsKey: "p99_ms",
	},
}

var fanoutMetrics = []metric{
	{"msgs_per_s", "delivered messages per second", +1},
	{"server_ns_per_msg", "server CPU per delivered message (ns)", -1},
	{"server_cpu_pct", "server CPU while delivering (% of one core)", 0},
	{"tool_ns_per_msg", "load tool CPU per delivered message (ns)", 0},
}

var echoMetrics = []metric{
	{"acks_per_s", "acks per second", +1},
	{"p50_ms", "latency p50 (ms)", -1},
	{"p99_ms", "latency p99 (ms)", -1},
	{"p999_ms", "latency p99.9 (ms)", -1},
	{"server_us_per_ack", "server CPU per ack (µs)", -1},
	{"server_cpu_pct", "server CPU (% of one core)", 0},
	{"tool_us_per_ack", "load tool CPU per ack (µs)", 0},
}

func scenarioByName(name string) *scenario {
	for _, s := range scenarios {
		if s.name == name {
			return s
		}
	}
	return nil
}

// Read buffer sizes: idle connections receive almost nothing; fan-out
// clients receive long runs of small frames, read in few system calls.
const (
	idleBufSize   = 1024
	fanoutBufSize = 16 << 10
	echoBufSize   = 4096
)

// idleReader answers pings until the connection ends.
func idleReader(_ int, c *wsConn, _ *clientSet) error {
	for {
		if _, _, err := c.nextPacket(); err != nil {
			return err
		}
	}
}

// runIdle opens cfg.idleConns connections and measures the server's memory
// and the set-up cost.
func runIdle(ctx context.Context, cfg *config) (result, error) {
	p := proc{cfg.pid}
	// Warm up: code paths and pools a process touches once should not be
	// counted per connection.
	if w := min(100, cfg.idleConns); w > 0 {
		set, err := connectMany(ctx, cfg, w, idleBufSize, 0, idleReader)
		if err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
		set.closeAll(cfg.timeout)
	}
	if err := sleepCtx(ctx, cfg.settle); err != nil {
		return nil, err
	}
	rss0 := p.rss()
	s0 := p.sample()
	set, err := connectMany(ctx, cfg, cfg.idleConns, idleBufSize, 0, idleReader)
	s1 := p.sample()
	if err != nil {
		return nil, err
	}
	defer set.closeAll(cfg.timeout)
	if err := sleepCtx(ctx, cfg.settle); err != nil {
		return nil, err
	}
	rss1 := p.rss()
	if n := set.lost.Load(); n > 0 {
		return nil, fmt.Errorf("%d connections ended while idle, first: %w", n, set.firstErr())
	}
	n := float64(cfg.idleConns)
	return result{
		"kib_per_conn":       (rss1 - rss0) / n / 1024,
		"setup_rate":         n / s1.at.Sub(s0.at).Seconds(),
		"server_us_per_conn": (s1.server - s0.server) / n / 1e3,
		"tool_us_per_conn":   (s1.tool - s0.tool) / n / 1e3,
		"server_rss_mib":     rss1 / (1 << 20),
	}, nil
}

// fanCounter is one client's count of received messages, padded so that
// the counters of different readers do not share a cache line.
type fanCounter struct {
	n atomic.Int64
	_ [56]byte
}

// runFanout connects cfg.fanClients clients; the first one asks the server
// to broadcast cfg.fanCount messages of cfg.size bytes to everyone, and
// the time until every client received all of them is measured.
func runFanout(ctx context.Context, cfg *config, binary bool) (result, error) {
	p := proc{cfg.pid}
	nc := cfg.fanClients
	var (
		counts    = make([]fanCounter, nc)
		target    atomic.Int64 // cumulative messages every client waits for
		remaining atomic.Int64 // clients that have not reached target
		phaseDone atomic.Pointer[chan struct{}]
		lastAt    atomic.Int64 // when the last client reached target, since base
		acks      = make(chan struct{}, 16)
		failed    = make(chan struct{})
		failOnce  atomic.Bool
		base      = time.Now()
	)
	reach := func(i int, n int64) {
		counts[i].n.Store(n)
		if n == target.Load() && remaining.Add(-1) == 0 {
			lastAt.Store(int64(time.Since(base)))
			close(*phaseDone.Load())
		}
	}
	reader := func(i int, c *wsConn, set *clientSet) error {
		var n int64
		pending := 0 // attachments still to come for the current binary event
		for {
			bin, data, err := c.nextPacket()
			if err != nil {
				if !set.closing.Load() && failOnce.CompareAndSwap(false, true) {
					close(failed)
				}
				return err
			}
			if bin {
				if pending > 0 {
					if pending--; pending == 0 {
						n++
						reach(i, n)
					}
				}
				continue
			}
			if len(data) == 0 {
				continue
			}
			switch data[0] {
			case '2':
				n++
				reach(i, n)
			case '5':
				if k, ok := parseAttachments(data[1:]); ok {
					if k == 0 {
						n++
						reach(i, n)
					} else {
						pending = k
					}
				}
			case '3':
				if i == 0 {
					select {
					case acks <- struct{}{}:
					default:
					}
				}
			}
		}
	}
	set, err := connectMany(ctx, cfg, nc, fanoutBufSize, cfg.fanReadDelay, reader)
	if err != nil {
		return nil, err
	}
	defer set.closeAll(cfg.timeout)

	var reqID uint64
	phase := func(count int) (time.Duration, error) {
		ch := make(chan struct{})
		phaseDone.Store(&ch)
		remaining.Store(int64(nc))
		target.Add(int64(count))
		reqID++
		t0 := time.Since(base)
		if err := set.conns[0].writeEvent(reqID, "broadcast", fmt.Sprintf(`{"count":%d,"size":%d,"binary":%t}`, count, cfg.size, binary)); err != nil {
			return 0, err
		}
		timer := time.NewTimer(cfg.timeout)
		defer timer.Stop()
		select {
		case <-ch:
		case <-failed:
			return 0, fmt.Errorf("a client was disconnected: %w", set.firstErr())
		case <-timer.C:
			var got int64
			for i := range counts {
				got += counts[i].n.Load() - (target.Load() - int64(count))
			}
			return 0, fmt.Errorf("timeout after %v: %d of %d messages delivered", cfg.timeout, got, int64(nc)*int64(count))
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		elapsed := time.Duration(lastAt.Load()) - t0
		select {
		case <-acks:
		case <-timer.C:
			return 0, errors.New("the broadcast request was not acknowledged")
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		return elapsed, nil
	}
	if cfg.fanWarmup > 0 {
		if _, err := phase(cfg.fanWarmup); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	s0 := p.sample()
	elapsed, err := phase(cfg.fanCount)
	s1 := p.sample()
	if err != nil {
		return nil, err
	}
	total := float64(nc) * float64(cfg.fanCount)
	wall := float64(s1.at.Sub(s0.at))
	return result{
		"msgs_per_s":        total / elapsed.Seconds(),
		"server_ns_per_msg": (s1.server - s0.server) / total,
		"server_cpu_pct":    (s1.server - s0.server) / wall * 100,
		"tool_ns_per_msg":   (s1.tool - s0.tool) / total,
	}, nil
}

// echoRun collects what one echo client measured.
type echoRun struct {
	lat []int64 // latencies (ns) of acks received in the measured window
}

// echoResult turns the clients' latencies and CPU samples into a result.
func echoResult(runs []echoRun, s0, s1 cpuSample) result {
	var all []int64
	for _, r := range runs {
		all = append(all, r.lat...)
	}
	slices.Sort(all)
	n := float64(len(all))
	wall := float64(s1.at.Sub(s0.at))
	return result{
		"acks_per_s":        n / (wall / 1e9),
		"p50_ms":            percentile(all, 50) / 1e6,
		"p99_ms":            percentile(all, 99) / 1e6,
		"p999_ms":           percentile(all, 99.9) / 1e6,
		"server_us_per_ack": (s1.server - s0.server) / n / 1e3,
		"server_cpu_pct":    (s1.server - s0.server) / wall * 100,
		"tool_us_per_ack":   (s1.tool - s0.tool) / n / 1e3,
	}
}

// echoArg is the JSON argument of every echo request.
func echoArg(size int) string { return strconv.Quote(strings.Repeat("x", size)) }

// runEcho runs cfg.echoClients WebSocket clients, each keeping cfg.window
// acked "echo" events outstanding, for cfg.warmup + cfg.duration.
func runEcho(ctx context.Context, cfg *config) (result, error) {
	p := proc{cfg.pid}
	arg := echoArg(cfg.size)
	runs := make([]echoRun, cfg.echoClients)
	start := make(chan struct{})
	var base time.Time // set before start is closed
	measureFrom := int64(cfg.warmup)
	measureTo := int64(cfg.warmup + cfg.duration)

	reader := func(i int, c *wsConn, set *clientSet) error {
		select {
		case <-start:
		case <-set.stop:
			return nil
		}
		sent := make(map[uint64]int64, cfg.window)
		var nextID uint64
		send := func() error {
			id := nextID
			nextID++
			sent[id] = int64(time.Since(base))
			return c.writeEvent(id, "echo", arg)
		}
		for range cfg.window {
			if err := send(); err != nil {
				return err
			}
		}
		lat := make([]int64, 0, 1024)
		defer func() { runs[i].lat = lat }()
		for {
			bin, data, err := c.nextPacket()
			if err != nil {
				return err
			}
			if bin || len(data) == 0 || data[0] != '3' {
				continue
			}
			id, ok := parseAckID(data[1:])
			t0, found := sent[id]
			if !ok || !found {
				return fmt.Errorf("ack for unknown id %q", data)
			}
			delete(sent, id)
			now := int64(time.Since(base))
			if t0 >= measureFrom && now < measureTo {
				lat = append(lat, now-t0)
			}
			if now < measureTo {
				if err := send(); err != nil {
					return err
				}
			} else if len(sent) == 0 {
				return nil
			}
		}
	}
	set, err := connectMany(ctx, cfg, cfg.echoClients, echoBufSize, 0, reader)
	if err != nil {
		return nil, err
	}
	defer set.closeAll(cfg.timeout)
	base = time.Now()
	close(start)
	if err := sleepUntil(ctx, base.Add(cfg.warmup)); err != nil {
		return nil, err
	}
	s0 := p.sample()
	if err := sleepUntil(ctx, base.Add(cfg.warmup+cfg.duration)); err != nil {
		return nil, err
	}
	s1 := p.sample()
	if !waitTimeout(&set.readers, cfg.timeout) {
		return nil, fmt.Errorf("clients still waiting for acks %v after the end", cfg.timeout)
	}
	if n := set.lost.Load(); n > 0 {
		return nil, fmt.Errorf("%d clients failed, first: %w", n, set.firstErr())
	}
	r := echoResult(runs, s0, s1)
	if r["acks_per_s"] == 0 || math.IsNaN(r["acks_per_s"]) {
		return nil, errors.New("no acks received")
	}
	return r, nil
}
