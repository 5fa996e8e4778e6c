//go:build linux

package main

import (
	"math"
	"testing"
)

func TestPercentile(t *testing.T) {
	hundred := make([]int64, 100)
	for i := range hundred {
		hundred[i] = int64(i + 1) // 1..100
	}
	for _, tc := range []struct {
		name   string
		sorted []int64
		p      float64
		want   float64
	}{
		{"p50 of 1..100", hundred, 50, 50},
		{"p99 of 1..100", hundred, 99, 99},
		{"p100 of 1..100", hundred, 100, 100},
		{"tiny p of 1..100", hundred, 0.1, 1},
		{"p99 of one value", []int64{7}, 99, 7},
		{"p50 of two values", []int64{3, 9}, 50, 3},
		{"p99 of ten values is the largest", []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 99, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.sorted, tc.p); got != tc.want {
				t.Fatalf("percentile(%v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
	if got := percentile(nil, 50); !math.IsNaN(got) {
		t.Fatalf("percentile of nothing = %v, want NaN", got)
	}
}

func TestMedian(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name string
		vals []float64
		want float64
	}{
		{"odd", []float64{5, 1, 3}, 3},
		{"even", []float64{4, 1, 3, 2}, 2.5},
		{"NaN skipped", []float64{nan, 10, 20, nan, 30}, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := median(tc.vals); got != tc.want {
				t.Fatalf("median(%v) = %v, want %v", tc.vals, got, tc.want)
			}
		})
	}
	if got := median([]float64{nan}); !math.IsNaN(got) {
		t.Fatalf("median of NaN only = %v, want NaN", got)
	}
}

func TestFormatValue(t *testing.T) {
	for v, want := range map[float64]string{
		1234567: "1,234,567", 123.4: "123", 12.34: "12.3", 1.234: "1.23", 0.01234: "0.0123", math.NaN(): "n/a",
	} {
		if got := formatValue(v); got != want {
			t.Errorf("formatValue(%v) = %q, want %q", v, got, want)
		}
	}
}
