package redissub

import (
	"context"
	"sync/atomic"
	"time"
)

// ResumeWait bounds the wait for the other servers to subscribe again after
// an outage (they reconnect with backoff of at most 2 s, Node's of 0.5 s).
const ResumeWait = 3 * time.Second

// countEvery is how often a flusher refreshes the number of servers, in
// the same round trip as a batch, so that it knows how many to wait for
// after an outage.
const countEvery = time.Second

// Gate decides when an adapter's outbox may publish again after an outage.
// Redis pub/sub delivers only to the connections subscribed at the time, so
// the backlog goes out once this server is subscribed again and the servers
// counted before the outage are too (PUBSUB NUMSUB), or ResumeWait after
// Redis answered, if some did not come back.
type Gate struct {
	known     atomic.Int64 // servers last counted
	countedAt time.Time    // owned by the outbox's flusher
	backSince time.Time    // owned by the outbox's flusher; Redis answered after an outage
}

// Note records a server count.
func (g *Gate) Note(n int64) { g.known.Store(n) }

// CountDue reports whether the flusher should count the servers with its
// next batch (it calls Counted with the result).
func (g *Gate) CountDue() bool { return time.Since(g.countedAt) >= countEvery }

// Counted records a count made by the flusher.
func (g *Gate) Counted(n int64) {
	g.countedAt = time.Now()
	g.known.Store(n)
}

// Ready is the outbox's Ready check: subscribed tells whether this
// server's subscription is in place, count asks Redis for the servers.
func (g *Gate) Ready(ctx context.Context, subscribed bool, count func(context.Context) (int, error)) bool {
	if !subscribed {
		g.backSince = time.Time{}
		return false
	}
	n, err := count(ctx)
	if err != nil {
		g.backSince = time.Time{}
		return false
	}
	if g.backSince.IsZero() {
		g.backSince = time.Now()
	}
	if int64(n) >= g.known.Load() || time.Since(g.backSince) >= ResumeWait {
		g.backSince = time.Time{}
		return true
	}
	return false
}
