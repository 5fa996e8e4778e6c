//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Open-loop echo: requests are sent on a schedule fixed in advance (a
// total rate spread over the clients, evenly spaced or as a Poisson
// process), whatever the replies do, and each latency is measured from
// the time the schedule meant the request to be sent. A sender that falls
// behind (the server or the tool stalled it) sends the overdue requests at
// once, still stamped with their intended times, so a stall shows up as
// the latency of every request it delayed: no coordinated omission.

// Arrival processes of -arrivals.
const (
	arrivalsEven    = "even"
	arrivalsPoisson = "poisson"
)

// pacer is one client's schedule: the intended send times, in nanoseconds
// since the start, of its requests. It is used by one goroutine.
type pacer struct {
	next int64 // intended time of the next request
	gap  func() int64
}

// newPacer returns the schedule of client i of n sharing a total rate
// (requests per second). Evenly spaced schedules are shifted by i/n of the
// interval, so that together they are evenly spaced too; Poisson schedules
// are independent (their sum is a Poisson process of the total rate), from
// a generator seeded by i, so that every server gets the same schedule.
func newPacer(arrivals string, rate float64, i, n int) *pacer {
	interval := float64(n) / rate * 1e9 // mean gap of one client, ns
	if arrivals == arrivalsPoisson {
		rng := rand.New(rand.NewPCG(uint64(i), 0x5105be4c))
		p := &pacer{gap: func() int64 { return int64(rng.ExpFloat64() * interval) }}
		p.next = p.gap()
		return p
	}
	acc := interval * float64(i) / float64(n) // exact time, so that rounding does not drift
	p := &pacer{next: int64(acc)}
	p.gap = func() int64 {
		prev := int64(acc)
		acc += interval
		return int64(acc) - prev
	}
	return p
}

// due returns the intended time of the next request if it is at or before
// now, and moves on to the one after it.
func (p *pacer) due(now int64) (int64, bool) {
	if p.next > now {
		return 0, false
	}
	t := p.next
	p.next += p.gap()
	return t, true
}

// rateSpec is a -rate value: an absolute rate, or a fraction of a
// closed-loop echo rate measured in the same run (of server ref, or of the
// server under test when ref is empty).
type rateSpec struct {
	abs  float64 // requests per second; 0 when relative
	frac float64 // of the reference rate
	ref  string
}

// parseRate parses "2000", "80%" or "80%node".
func parseRate(s string) (rateSpec, error) {
	s = strings.TrimSpace(s)
	pct, ref, relative := strings.Cut(s, "%")
	if !relative {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || !(v > 0) || math.IsInf(v, 0) {
			return rateSpec{}, fmt.Errorf("rate %q: a positive number of requests per second, or P%% / P%%server", s)
		}
		return rateSpec{abs: v}, nil
	}
	v, err := strconv.ParseFloat(pct, 64)
	if err != nil || !(v > 0) || math.IsInf(v, 0) {
		return rateSpec{}, fmt.Errorf("rate %q: the percentage must be a positive number", s)
	}
	return rateSpec{frac: v / 100, ref: strings.TrimSpace(ref)}, nil
}

func (r rateSpec) String() string {
	if r.abs > 0 {
		return strconv.FormatFloat(r.abs, 'f', -1, 64) + "/s"
	}
	of := "the closed-loop echo rate of the server under test"
	if r.ref != "" {
		of = r.ref + "'s closed-loop echo rate"
	}
	return strconv.FormatFloat(r.frac*100, 'f', -1, 64) + "% of " + of
}

// openLoop runs open-loop echo clients and collects what they measured.
type openLoop struct {
	arg         string
	arrivals    string
	rate        float64 // total requests per second
	clients     int
	outstanding int   // most requests one client has in flight; more wait
	from, to    int64 // the measured window, ns since base
	base        time.Time

	lat      histogram    // latencies of requests intended in the window
	acked    atomic.Int64 // acks received within the window
	sent     atomic.Int64 // requests intended in the window and sent
	late     atomic.Int64 // requests sent more than lateBound after their time
	finished sync.WaitGroup

	mu    sync.Mutex
	state []*olClient // guarded by mu: per client, once started
}

// lateBound is how late a send must be to count as late: a sign that the
// tool itself could not keep up with the schedule.
const lateBound = 10 * time.Millisecond

// olClient is one client's requests in flight.
type olClient struct {
	mu       sync.Mutex
	inflight map[uint64]int64 // guarded by mu: intended time by ack id
	sending  bool             // guarded by mu: the sender has not finished
	done     sync.Once
	slots    chan struct{} // one token per request in flight
}

// now returns the time since base in nanoseconds.
func (o *openLoop) now() int64 { return int64(time.Since(o.base)) }

// client runs client i on c: a sender goroutine follows the schedule until
// o.to; this goroutine reads. Packets other than acks go to other (may be
// nil). It returns when every request sent was acknowledged, or when the
// connection ends. start is closed when base is set.
// Every client calls o.finished.Done once, which its caller Added.
func (o *openLoop) client(i int, c *wsConn, set *clientSet, start <-chan struct{}, other func(bin bool, data []byte)) error {
	select {
	case <-start:
	case <-set.stop:
		o.finished.Done()
		return nil
	}
	cl := &olClient{inflight: make(map[uint64]int64), sending: true, slots: make(chan struct{}, o.outstanding)}
	o.mu.Lock()
	o.state = append(o.state, cl)
	o.mu.Unlock()
	finish := func() { cl.done.Do(o.finished.Done) }
	sendErr := make(chan error, 1)
	go func() {
		err := o.send(cl, c, newPacer(o.arrivals, o.rate, i, o.clients), set.stop)
		cl.mu.Lock()
		cl.sending = false
		idle := len(cl.inflight) == 0
		cl.mu.Unlock()
		if err != nil {
			sendErr <- err
			c.close() // ends the reader
		} else if idle {
			finish()
		}
	}()
	for {
		bin, data, err := c.nextPacket()
		if err != nil {
			finish()
			select {
			case e := <-sendErr:
				return e
			default:
			}
			return err
		}
		if bin || len(data) == 0 || data[0] != '3' {
			if other != nil {
				other(bin, data)
			}
			continue
		}
		id, ok := parseAckID(data[1:])
		now := o.now()
		cl.mu.Lock()
		t0, found := cl.inflight[id]
		delete(cl.inflight, id)
		idle := !cl.sending && len(cl.inflight) == 0
		cl.mu.Unlock()
		if !ok || !found {
			if other != nil {
				other(bin, data) // an ack for someone else's request
				continue
			}
			return fmt.Errorf("ack for unknown id %q", data)
		}
		<-cl.slots
		o.account(t0, now)
		if idle {
			finish()
		}
	}
}

// account records the ack, received at now, of a request intended at t0.
func (o *openLoop) account(t0, now int64) {
	if t0 >= o.from && t0 < o.to {
		o.lat.record(now - t0)
	}
	if now >= o.from && now < o.to {
		o.acked.Add(1)
	}
}

// send follows the schedule p until o.to.
func (o *openLoop) send(cl *olClient, c *wsConn, p *pacer, stop <-chan struct{}) error {
	var id uint64
	for {
		now := o.now()
		t, ok := p.due(now)
		if !ok {
			if p.next >= o.to {
				return nil
			}
			time.Sleep(time.Duration(p.next - now))
			continue
		}
		if t >= o.to {
			return nil
		}
		select {
		case cl.slots <- struct{}{}:
		case <-stop:
			return nil
		}
		if o.now()-t > int64(lateBound) {
			o.late.Add(1)
		}
		cl.mu.Lock()
		cl.inflight[id] = t
		cl.mu.Unlock()
		if t >= o.from {
			o.sent.Add(1)
		}
		if err := c.writeEvent(id, "echo", o.arg); err != nil {
			return err
		}
		id++
	}
}

// wait waits until every client finished or until deadline; then it counts
// the requests of the window still unanswered as answered at that moment
// (their latency is at least that) and returns how many there were.
func (o *openLoop) wait(deadline time.Time) int64 {
	waitTimeout(&o.finished, time.Until(deadline))
	end := o.now()
	var lost int64
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, cl := range o.state {
		cl.mu.Lock()
		for _, t0 := range cl.inflight {
			if t0 >= o.from && t0 < o.to {
				o.lat.record(end - t0)
				lost++
			}
		}
		cl.mu.Unlock()
	}
	return lost
}

var openMetrics = []metric{
	{"offered_per_s", "offered rate (requests/s)", 0},
	{"acks_per_s", "acks per second", +1},
	{"p50_ms", "latency p50 (ms)", -1},
	{"p99_ms", "latency p99 (ms)", -1},
	{"p999_ms", "latency p99.9 (ms)", -1},
	{"max_ms", "latency max (ms)", -1},
	{"server_us_per_ack", "server CPU per ack (µs)", -1},
	{"server_cpu_pct", "server CPU (% of one core)", 0},
	{"tool_us_per_ack", "load tool CPU per ack (µs)", 0},
	{"unanswered", "requests unanswered at the end", -1},
	{"late_sends", "sends over 10 ms behind schedule", 0},
}

// latencies adds the latency figures of o to r.
func (o *openLoop) latencies(r result) {
	r["p50_ms"] = o.lat.percentile(50) / 1e6
	r["p99_ms"] = o.lat.percentile(99) / 1e6
	r["p999_ms"] = o.lat.percentile(99.9) / 1e6
	r["max_ms"] = o.lat.maxValue() / 1e6
}

// runEchoOpen runs cfg.echoClients WebSocket clients sending acked echo
// events at the -rate in total for cfg.warmup + cfg.duration.
func runEchoOpen(ctx context.Context, cfg *config) (result, error) {
	rate, err := openRate(ctx, cfg, "-rate", cfg.rate, cfg.openRate)
	if err != nil {
		return nil, err
	}
	return runOpenLoop(ctx, cfg, rate, cfg.echoClients)
}

// openRate returns the open-loop rate of flag name: resolved when run
// resolved it, else from spec, measuring the closed-loop echo rate of the
// server under test first for a spec of the form P%.
func openRate(ctx context.Context, cfg *config, name, spec string, resolved float64) (float64, error) {
	if resolved > 0 {
		return resolved, nil
	}
	r, err := parseRate(spec)
	switch {
	case err != nil:
		return 0, err
	case r.abs > 0:
		return r.abs, nil
	case r.ref != "":
		return 0, fmt.Errorf("%s %s is relative to another server, which only run measures: give %s N or P%% (of this server's closed-loop echo rate)", name, spec, name)
	}
	cl, err := runEcho(ctx, cfg)
	if err != nil {
		return 0, fmt.Errorf("closed-loop echo to find the rate: %w", err)
	}
	return r.frac * cl["acks_per_s"], nil
}

// runOpenLoop runs clients open-loop echo clients at rate in total.
func runOpenLoop(ctx context.Context, cfg *config, rate float64, clients int) (result, error) {
	if clients <= 0 {
		return nil, errors.New("no clients")
	}
	p := proc{cfg.pid}
	o := &openLoop{
		arg: echoArg(cfg.size), arrivals: cfg.arrivals, rate: rate, clients: clients,
		outstanding: cfg.outstanding, from: int64(cfg.warmup), to: int64(cfg.warmup + cfg.duration),
	}
	start := make(chan struct{})
	o.finished.Add(clients)
	reader := func(i int, c *wsConn, set *clientSet) error { return o.client(i, c, set, start, nil) }
	set, err := connectMany(ctx, cfg, clients, echoBufSize, 0, reader)
	if err != nil {
		return nil, err
	}
	defer set.closeAll(cfg.timeout)
	o.base = time.Now()
	close(start)
	if err := sleepUntil(ctx, o.base.Add(cfg.warmup)); err != nil {
		return nil, err
	}
	s0 := p.sample()
	if err := sleepUntil(ctx, o.base.Add(cfg.warmup+cfg.duration)); err != nil {
		return nil, err
	}
	s1 := p.sample()
	lost := o.wait(time.Now().Add(cfg.timeout))
	if n := set.lost.Load(); n > 0 {
		return nil, fmt.Errorf("%d clients failed, first: %w", n, set.firstErr())
	}
	r := o.result(s0, s1, lost)
	if o.acked.Load() == 0 {
		return nil, errors.New("no acks received")
	}
	return r, nil
}

// result gives the figures of an open-loop run measured between s0 and s1.
func (o *openLoop) result(s0, s1 cpuSample, lost int64) result {
	n := float64(o.acked.Load())
	wall := float64(s1.at.Sub(s0.at))
	r := result{
		"offered_per_s":     o.rate,
		"acks_per_s":        n / (wall / 1e9),
		"server_us_per_ack": (s1.server - s0.server) / n / 1e3,
		"server_cpu_pct":    (s1.server - s0.server) / wall * 100,
		"tool_us_per_ack":   (s1.tool - s0.tool) / n / 1e3,
		"unanswered":        float64(lost),
		"late_sends":        float64(o.late.Load()),
	}
	o.latencies(r)
	return r
}
