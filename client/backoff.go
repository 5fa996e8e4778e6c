package client

import (
	"math"
	"math/rand/v2"
	"time"
)

// backoff computes reconnection delays as the JavaScript client does
// (contrib/backo2): min * 2^attempt, spread by up to ±jitter of itself,
// capped at max.
type backoff struct {
	min, max time.Duration
	jitter   float64
	attempts int
	rand     func() float64 // [0, 1); rand.Float64 unless a test sets it
}

func newBackoff(min, max time.Duration, jitter float64) backoff {
	if jitter < 0 || jitter > 1 {
		jitter = 0
	}
	return backoff{min: min, max: max, jitter: jitter, rand: rand.Float64}
}

// duration returns the next delay and counts an attempt.
func (b *backoff) duration() time.Duration {
	d := float64(b.min) * math.Pow(2, float64(b.attempts))
	b.attempts++
	if b.jitter > 0 {
		r := b.rand()
		dev := math.Floor(r * b.jitter * d)
		// The same draw picks the direction, as in backo2.
		if int64(math.Floor(r*10))&1 == 0 {
			d -= dev
		} else {
			d += dev
		}
	}
	if d > float64(b.max) || math.IsInf(d, 1) || math.IsNaN(d) {
		return b.max
	}
	return time.Duration(d)
}

func (b *backoff) reset() { b.attempts = 0 }
