//go:build linux

package main

import (
	"math"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want rateSpec
	}{
		{"2000", rateSpec{abs: 2000}},
		{"12.5", rateSpec{abs: 12.5}},
		{"80%", rateSpec{frac: 0.8}},
		{"80%node", rateSpec{frac: 0.8, ref: "node"}},
		{" 150%go ", rateSpec{frac: 1.5, ref: "go"}},
	} {
		got, err := parseRate(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseRate(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "0", "-5", "x", "%node", "0%", "inf", "NaN", "abc%"} {
		if _, err := parseRate(bad); err == nil {
			t.Errorf("parseRate(%q): no error", bad)
		}
	}
}

// schedule returns the intended times of the requests pacer p has due
// before end, as a sender calling due at each of the given moments would
// send them.
func schedule(p *pacer, calls []int64) [][]int64 {
	out := make([][]int64, len(calls))
	for i, now := range calls {
		for {
			t, ok := p.due(now)
			if !ok {
				break
			}
			out[i] = append(out[i], t)
		}
	}
	return out
}

func TestPacerEvenSpacing(t *testing.T) {
	// 4 clients sharing 1000/s: each sends every 4 ms, client i shifted by
	// i ms, so that together they send every millisecond.
	for i := range 4 {
		p := newPacer(arrivalsEven, 1000, i, 4)
		got := schedule(p, []int64{int64(20*time.Millisecond) - 1})[0]
		if len(got) != 5 {
			t.Fatalf("client %d: %d sends due by 20 ms, want 5: %v", i, len(got), got)
		}
		for k, v := range got {
			if want := int64(i+4*k) * int64(time.Millisecond); v != want {
				t.Errorf("client %d send %d intended at %d, want %d", i, k, v, want)
			}
		}
	}
	// No drift over many sends at a rate whose interval is not a whole
	// number of nanoseconds.
	p := newPacer(arrivalsEven, 3, 0, 1) // 333,333,333.3 ns
	var last int64
	for range 3001 {
		last, _ = p.due(math.MaxInt64)
	}
	if want := int64(1000 * time.Second); last != want {
		t.Errorf("3001st send of 3/s at %d, want %d", last, want)
	}
}

func TestPacerLateSenderKeepsIntendedTimes(t *testing.T) {
	// A sender stalled from 2 ms to 10.5 ms sends the overdue requests at
	// once when it wakes, each stamped with the time it was meant for: the
	// stall counts in their latency (no coordinated omission).
	p := newPacer(arrivalsEven, 1000, 0, 1)
	got := schedule(p, []int64{int64(2 * time.Millisecond), int64(10*time.Millisecond + 500*time.Microsecond), int64(11 * time.Millisecond)})
	ms := func(v ...int64) []int64 {
		for i := range v {
			v[i] *= int64(time.Millisecond)
		}
		return v
	}
	want := [][]int64{ms(0, 1, 2), ms(3, 4, 5, 6, 7, 8, 9, 10), ms(11)}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("call %d: sends %v, want %v", i, got[i], want[i])
		}
		for k := range want[i] {
			if got[i][k] != want[i][k] {
				t.Fatalf("call %d: sends %v, want %v", i, got[i], want[i])
			}
		}
	}
	// The ack of the request intended at 3 ms, received at 11 ms, counts
	// 8 ms, though it was written at 10.5 ms.
	o := &openLoop{from: 0, to: int64(time.Second)}
	o.account(got[1][0], int64(11*time.Millisecond))
	if l := o.lat.percentile(100); l != float64(8*time.Millisecond) {
		t.Errorf("latency %v, want 8 ms", time.Duration(l))
	}
}

func TestPacerPoisson(t *testing.T) {
	// 10 clients sharing 5000/s over 20 s: about 100,000 sends in all (a
	// Poisson count: ±1 % is over 3 standard deviations), gaps of mean
	// 2 ms per client, and the same schedule on every run.
	const end = int64(20 * time.Second)
	total := 0
	for i := range 10 {
		p := newPacer(arrivalsPoisson, 5000, i, 10)
		got := schedule(p, []int64{end})[0]
		total += len(got)
		again := schedule(newPacer(arrivalsPoisson, 5000, i, 10), []int64{end})[0]
		if len(again) != len(got) || again[len(again)-1] != got[len(got)-1] {
			t.Fatalf("client %d: the schedule differs between two pacers", i)
		}
	}
	if total < 99_000 || total > 101_000 {
		t.Errorf("%d sends due in 20 s at 5000/s", total)
	}
}

func TestOpenLoopAccountingWindow(t *testing.T) {
	// Latencies count for requests intended inside [from, to); acks count
	// for the rate when received inside it.
	ms := int64(time.Millisecond)
	o := &openLoop{from: 100 * ms, to: 200 * ms}
	o.account(50*ms, 120*ms)  // intended before: rate only
	o.account(150*ms, 151*ms) // both
	o.account(199*ms, 260*ms) // latency only
	o.account(250*ms, 251*ms) // neither
	if o.lat.count() != 2 || o.acked.Load() != 2 {
		t.Fatalf("%d latencies, %d acks in the window; want 2, 2", o.lat.count(), o.acked.Load())
	}
	if o.lat.maxValue() != float64(61*ms) {
		t.Errorf("max latency %v, want 61 ms", time.Duration(o.lat.maxValue()))
	}
}

func TestOpenLoopWaitCountsUnanswered(t *testing.T) {
	// Requests of the window still unanswered when the wait ends are
	// counted, with the time they waited so far as their latency (a lower
	// bound); those intended outside the window are not.
	o := &openLoop{from: 0, to: int64(time.Hour), base: time.Now().Add(-time.Second)}
	o.finished.Add(1) // a client that never finishes
	o.state = []*olClient{{inflight: map[uint64]int64{7: int64(500 * time.Millisecond), 8: int64(2 * time.Hour)}}}
	lost := o.wait(time.Now())
	if lost != 1 || o.lat.count() != 1 {
		t.Fatalf("lost %d, %d latencies; want 1, 1", lost, o.lat.count())
	}
	if l := time.Duration(o.lat.maxValue()); l < 500*time.Millisecond || l > time.Minute {
		t.Errorf("latency of the unanswered request %v, want about 0.5 s", l)
	}
}

func TestBcastTracker(t *testing.T) {
	ms := int64(time.Millisecond)
	b := newBcastTracker(3, 4)
	b.base = time.Now()
	b.sentAt[0].Store(1)         // before the window
	b.sentAt[1].Store(1000 * ms) // complete
	b.sentAt[2].Store(2000 * ms) // one client missing
	for range 3 {
		b.received(0)
		b.received(1)
	}
	b.received(2)
	b.received(2)
	b.received(9) // beyond the series: ignored
	if b.complete() {
		t.Fatal("complete with broadcast 2 short of a client")
	}
	b.lastAt[1].Store(1250 * ms) // as if received at 1.25 s
	times, missing := b.delivery(500*ms, 3000*ms)
	if len(times) != 1 || times[0] != 250*ms || missing != 1 {
		t.Fatalf("delivery: %v, %d missing; want [250 ms], 1", times, missing)
	}
}

func TestMergeReceivers(t *testing.T) {
	// Two clients here, three in the receivers' process: a broadcast is
	// delivered when all five have it, at the later of the two last times
	// (the child's in Unix nanoseconds).
	ms := int64(time.Millisecond)
	base := time.Now()
	here := newBcastTracker(2, 2)
	here.base = base
	here.sentAt[0].Store(100 * ms)
	here.sentAt[1].Store(1100 * ms)
	for range 2 {
		here.received(0)
		here.received(1)
	}
	here.lastAt[0].Store(130 * ms)
	here.lastAt[1].Store(1190 * ms)
	rep := receiversReport{
		Clients: 3,
		Got:     []int64{3, 2},
		Last:    []int64{base.UnixNano() + 150*ms, 0},
	}
	m, err := mergeReceivers(here, rep, base)
	if err != nil {
		t.Fatal(err)
	}
	if m.clients != 5 {
		t.Fatalf("%d clients, want 5", m.clients)
	}
	times, missing := m.delivery(0, 2000*ms)
	if len(times) != 1 || times[0] != 50*ms || missing != 1 {
		t.Fatalf("delivery: %v, %d missing; want [50 ms], 1", times, missing)
	}
	if m.reached(2) || !m.reached(1) {
		t.Error("reached: want broadcast 0 only")
	}
	if _, err := mergeReceivers(here, receiversReport{Got: []int64{1}, Last: []int64{0}}, base); err == nil {
		t.Error("a report of another length: no error")
	}
	if _, err := mergeReceivers(here, receiversReport{Clients: 3, Got: rep.Got, Last: rep.Last, Lost: 2, Err: "x"}, base); err == nil {
		t.Error("a report with lost clients: no error")
	}
}
