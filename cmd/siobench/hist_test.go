//go:build linux

package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

func TestHistBuckets(t *testing.T) {
	// Buckets are contiguous and ordered, and every value lies within its
	// bucket, whose width is at most 1/histSub of its values.
	prevUpper := int64(-1)
	for i := range histBuckets {
		up := histUpper(i)
		if up <= prevUpper {
			t.Fatalf("bucket %d: upper %d after %d", i, up, prevUpper)
		}
		lo := prevUpper + 1
		if histIndex(lo) != i || histIndex(up) != i {
			t.Fatalf("bucket %d [%d, %d]: indexes %d, %d", i, lo, up, histIndex(lo), histIndex(up))
		}
		if i >= 2*histSub && float64(up-lo+1) > float64(lo)/histSub {
			t.Fatalf("bucket %d [%d, %d] wider than 1/%d of its lower bound", i, lo, up, histSub)
		}
		prevUpper = up
	}
	if prevUpper != 1<<histMaxBits-1 {
		t.Fatalf("last bucket ends at %d, want 2^%d-1", prevUpper, histMaxBits)
	}
}

func TestHistogramSmallValuesExact(t *testing.T) {
	var h histogram
	for v := int64(1); v <= 100; v++ {
		h.record(v)
	}
	for _, tc := range []struct{ p, want float64 }{{50, 50}, {99, 99}, {99.9, 100}, {100, 100}, {0.1, 1}} {
		if got := h.percentile(tc.p); got != tc.want {
			t.Errorf("p%v = %v, want %v", tc.p, got, tc.want)
		}
	}
	if h.count() != 100 || h.maxValue() != 100 {
		t.Errorf("count %d, max %v", h.count(), h.maxValue())
	}
}

func TestHistogramMatchesSortedSamples(t *testing.T) {
	// Latency-like values (log-normal, 10 µs to seconds) from many
	// goroutines: each percentile is the exact nearest-rank one rounded up
	// to its bucket, never more than 1/histSub above it.
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([]int64, 200_000)
	for i := range vals {
		vals[i] = int64(math.Exp(rng.NormFloat64()*1.5 + 13)) // median ~0.44 ms
	}
	var h histogram
	var wg sync.WaitGroup
	for part := range 8 {
		wg.Go(func() {
			for i := part; i < len(vals); i += 8 {
				h.record(vals[i])
			}
		})
	}
	wg.Wait()
	slices.Sort(vals)
	for _, p := range []float64{1, 50, 90, 99, 99.9, 99.99, 100} {
		exact := percentile(vals, p)
		got := h.percentile(p)
		if got < exact || got > exact*(1+1.0/histSub) {
			t.Errorf("p%v = %v, exact %v", p, got, exact)
		}
	}
	if h.maxValue() != float64(vals[len(vals)-1]) {
		t.Errorf("max %v, want %v", h.maxValue(), vals[len(vals)-1])
	}
}

func TestHistogramBounds(t *testing.T) {
	var h histogram
	if !math.IsNaN(h.percentile(50)) || !math.IsNaN(h.maxValue()) {
		t.Fatal("empty histogram: want NaN")
	}
	h.record(-5)            // counts as 0
	h.record(math.MaxInt64) // counts as the largest value
	if got := h.percentile(50); got != 0 {
		t.Errorf("p50 = %v, want 0", got)
	}
	if got := h.percentile(100); got != 1<<histMaxBits-1 {
		t.Errorf("p100 = %v, want 2^%d-1", got, histMaxBits)
	}
}
