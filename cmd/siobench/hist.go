//go:build linux

package main

import (
	"math"
	"math/bits"
	"sync/atomic"
)

// histogram records durations (nanoseconds) in log-linear buckets, as HDR
// histograms do: values below 2^(histSubBits+1) exactly, larger ones in
// buckets whose width is 1/2^histSubBits of their lower bound, so that a
// percentile read from it is at most 0.8 % above the exact one. Its memory
// is fixed (histBuckets counters) whatever the number of samples.
//
// record may be called from any goroutine; percentile and the other
// readers are meant for after the recording.
type histogram struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Uint64
	max    atomic.Int64
}

const (
	histSubBits = 7
	histSub     = 1 << histSubBits // buckets per power of two
	// histMaxBits bounds the values: larger ones (over 18 minutes) are
	// recorded as the largest.
	histMaxBits = 40
	histBuckets = (histMaxBits-histSubBits)*histSub + histSub
)

// histIndex returns the bucket of v (0 <= v < 2^histMaxBits).
func histIndex(v int64) int {
	if v < 2*histSub {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - histSubBits - 1
	return shift*histSub + int(v>>shift)
}

// histUpper returns the largest value of bucket i.
func histUpper(i int) int64 {
	if i < 2*histSub {
		return int64(i)
	}
	shift := i/histSub - 1
	top := int64(i - shift*histSub)
	return (top+1)<<shift - 1
}

// record adds one value; negative ones count as 0.
func (h *histogram) record(v int64) {
	v = min(max(v, 0), 1<<histMaxBits-1)
	h.counts[histIndex(v)].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// count returns the number of values recorded.
func (h *histogram) count() uint64 { return h.n.Load() }

// percentile returns the p-th percentile (0 < p <= 100) by the
// nearest-rank method, as the upper bound of the bucket holding it (never
// above the largest value recorded); NaN when nothing was recorded.
func (h *histogram) percentile(p float64) float64 {
	n := h.n.Load()
	if n == 0 {
		return math.NaN()
	}
	rank := uint64(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	var cum uint64
	for i := range h.counts {
		if cum += h.counts[i].Load(); cum >= rank {
			return float64(min(histUpper(i), h.max.Load()))
		}
	}
	return float64(h.max.Load())
}

// maxValue returns the largest value recorded, NaN when none was.
func (h *histogram) maxValue() float64 {
	if h.n.Load() == 0 {
		return math.NaN()
	}
	return float64(h.max.Load())
}
