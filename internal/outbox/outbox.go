// Package outbox is the bounded, ordered queue through which a cluster
// adapter hands its messages to the broker (Redis, ...). Callers never wait
// on the network: Push appends under a mutex and returns; a flusher
// goroutine, started when the queue becomes non-empty and gone when it is
// empty again, publishes what is queued in batches, oldest first.
//
// When the broker does not answer, the queue keeps its messages (within
// the byte and age bounds of adapter.OutboxOptions), retries with backoff,
// and resumes in order once the broker is back and the adapter's Ready
// check passes (the other servers listen again). Messages marked fail-fast
// (requests, whose callers wait for answers) are refused during an outage
// and dropped when one starts, instead of waiting for it to end.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/socketio-go/socketio/adapter"
)

// Errors of Push.
var (
	// ErrFull wraps adapter.ErrOutboxFull.
	ErrFull = fmt.Errorf("%w", adapter.ErrOutboxFull)
	// ErrDown is given to fail-fast messages while the broker is
	// unreachable.
	ErrDown = errors.New("outbox: broker unreachable")
	// ErrClosed is returned once Close was called.
	ErrClosed = errors.New("outbox: closed")
	// ErrExpired is given to Drop for messages older than MaxAge, and
	// errAbandoned for those left at Close.
	ErrExpired   = errors.New("outbox: message expired")
	ErrAbandoned = errors.New("outbox: adapter closed before the message could be published")
)

// Retry timing while the broker is unreachable.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = time.Second
)

// Config configures a Queue.
type Config[T any] struct {
	Limits adapter.OutboxOptions // defaults applied by New
	Logger *slog.Logger
	// LogPrefix starts every log message ("redisadapter"), Namespace is
	// logged with it.
	LogPrefix string
	Namespace string
	// MaxBatch bounds the messages of one Send. Default 256.
	MaxBatch int
	// SendTimeout bounds one Send. Default 5 seconds.
	SendTimeout time.Duration
	// Send publishes batch in order and returns how many of its first
	// messages were handled (published, or refused by the broker for a
	// reason of their own, which Send logs), and the error that stopped it
	// early: the broker could not be reached. It runs on the flusher
	// goroutine, one call at a time.
	Send func(ctx context.Context, batch []T) (int, error)
	// Ready, when set, is asked before sending again after a failure;
	// publishing resumes once it returns true.
	Ready func(ctx context.Context) bool
	// Drop, when set, is called (without locks held) for each message the
	// queue gives up on, with the reason: ErrExpired, ErrAbandoned or
	// ErrDown (fail-fast messages).
	Drop func(v T, reason error)
}

type entry[T any] struct {
	v        T
	size     int
	at       time.Time
	failFast bool
}

// Queue is a bounded FIFO of messages for a broker. Its methods are safe
// for concurrent use.
type Queue[T any] struct {
	cfg Config[T]

	wake chan struct{} // to the flusher: Close was called (1-buffered)
	wg   sync.WaitGroup

	mu          sync.Mutex
	items       []entry[T] // guarded by mu; items[head:] wait, oldest first
	head        int        // guarded by mu
	bytes       int        // guarded by mu
	running     bool       // guarded by mu; a flusher runs
	down        bool       // guarded by mu; the last Send failed
	downAt      time.Time  // guarded by mu
	closing     bool       // guarded by mu
	closeBy     time.Time  // guarded by mu; give up on what is left then
	stats       adapter.OutboxStats
	unlogged    uint64    // guarded by mu; expired messages not logged yet
	lastLog     time.Time // guarded by mu; of expired messages
	overflowing bool      // guarded by mu; an overflow was logged, none accepted since
}

// New returns an empty queue.
func New[T any](cfg Config[T]) *Queue[T] {
	cfg.Limits = WithDefaults(cfg.Limits)
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 256
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Queue[T]{cfg: cfg, wake: make(chan struct{}, 1)}
}

// Push queues v, of encoded size size, for publishing. A fail-fast message
// is refused with ErrDown while the broker is unreachable. Push never
// waits on the broker.
func (q *Queue[T]) Push(v T, size int, failFast bool) error {
	now := time.Now()
	q.mu.Lock()
	if q.closing {
		q.mu.Unlock()
		return ErrClosed
	}
	if failFast && q.down {
		q.mu.Unlock()
		return ErrDown
	}
	dropped := q.expireLocked(now)
	if q.bytes+size > q.cfg.Limits.MaxBytes {
		q.stats.Overflowed++
		first := !q.overflowing
		q.overflowing = true
		queued, bytes := len(q.items)-q.head, q.bytes
		q.mu.Unlock()
		q.dropAll(dropped, ErrExpired)
		if first {
			q.cfg.Logger.Warn(q.cfg.LogPrefix+": outbox full, messages for the other servers are refused", "namespace", q.cfg.Namespace, "queued", queued, "bytes", bytes, "max_bytes", q.cfg.Limits.MaxBytes)
		}
		return fmt.Errorf("%w (%d messages, %d bytes waiting)", ErrFull, queued, bytes)
	}
	q.overflowing = false
	q.items = append(q.items, entry[T]{v: v, size: size, at: now, failFast: failFast})
	q.bytes += size
	if !q.running {
		q.running = true
		q.wg.Add(1)
		go q.run()
	}
	q.mu.Unlock()
	q.dropAll(dropped, ErrExpired)
	return nil
}

// Down reports whether the broker did not answer the last attempt.
func (q *Queue[T]) Down() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.down
}

// Stats returns the counters.
func (q *Queue[T]) Stats() adapter.OutboxStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.stats
	s.Queued, s.QueuedBytes, s.Down = len(q.items)-q.head, q.bytes, q.down
	return s
}

// Close stops accepting messages, keeps publishing what waits for up to
// timeout, gives up on the rest (counted as abandoned) and waits for the
// flusher to end.
func (q *Queue[T]) Close(timeout time.Duration) {
	q.mu.Lock()
	if !q.closing {
		q.closing = true
		q.closeBy = time.Now().Add(timeout)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	q.wg.Wait()
}

// expireLocked removes the messages older than MaxAge and returns them.
func (q *Queue[T]) expireLocked(now time.Time) []T {
	limit := now.Add(-q.cfg.Limits.MaxAge)
	var out []T
	for q.head < len(q.items) && q.items[q.head].at.Before(limit) {
		out = append(out, q.removeHeadLocked())
	}
	if n := uint64(len(out)); n > 0 {
		q.stats.Expired += n
		q.unlogged += n
	}
	if q.unlogged > 0 && now.Sub(q.lastLog) >= 5*time.Second {
		q.cfg.Logger.Warn(q.cfg.LogPrefix+": messages for the other servers dropped after waiting too long", "namespace", q.cfg.Namespace, "dropped", q.unlogged, "max_age", q.cfg.Limits.MaxAge)
		q.unlogged, q.lastLog = 0, now
	}
	return out
}

func (q *Queue[T]) removeHeadLocked() T {
	e := q.items[q.head]
	var zero entry[T]
	q.items[q.head] = zero
	q.head++
	q.bytes -= e.size
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head > 1024 && q.head > len(q.items)/2 {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return e.v
}

func (q *Queue[T]) dropAll(vs []T, reason error) {
	if q.cfg.Drop == nil {
		return
	}
	for _, v := range vs {
		q.cfg.Drop(v, reason)
	}
}

// sleep waits for d, or until Close wakes it; it reports false then.
func (q *Queue[T]) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-q.wake:
		return false
	}
}

// run is the flusher: it publishes until the queue is empty.
func (q *Queue[T]) run() {
	defer q.wg.Done()
	backoff := minBackoff
	batch := make([]T, 0, q.cfg.MaxBatch)
	for {
		now := time.Now()
		q.mu.Lock()
		expired := q.expireLocked(now)
		var abandoned []T
		if q.closing && !now.Before(q.closeBy) {
			for q.head < len(q.items) {
				abandoned = append(abandoned, q.removeHeadLocked())
			}
			if n := len(abandoned); n > 0 {
				q.stats.Abandoned += uint64(n)
				q.cfg.Logger.Warn(q.cfg.LogPrefix+": adapter closed with messages for the other servers unpublished", "namespace", q.cfg.Namespace, "dropped", n)
			}
		}
		if q.head == len(q.items) {
			// With nothing left to publish (all expired), the next Push
			// finds out whether the broker answers.
			q.running, q.down = false, false
			q.mu.Unlock()
			q.dropAll(expired, ErrExpired)
			q.dropAll(abandoned, ErrAbandoned)
			return
		}
		down, closing, closeBy := q.down, q.closing, q.closeBy
		q.mu.Unlock()
		q.dropAll(expired, ErrExpired)

		if down {
			d := backoff
			if closing {
				d = min(d, time.Until(closeBy))
			}
			if d > 0 {
				q.sleep(d)
			}
			backoff = min(2*backoff, maxBackoff)
			if q.cfg.Ready != nil {
				ctx, cancel := context.WithTimeout(context.Background(), q.cfg.SendTimeout)
				ok := q.cfg.Ready(ctx)
				cancel()
				if !ok {
					continue
				}
			}
		}

		q.mu.Lock()
		batch = batch[:0]
		for i := q.head; i < len(q.items) && len(batch) < q.cfg.MaxBatch; i++ {
			batch = append(batch, q.items[i].v)
		}
		q.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), q.cfg.SendTimeout)
		n, err := q.cfg.Send(ctx, batch)
		cancel()
		clear(batch)

		var failed []T
		q.mu.Lock()
		for range n {
			q.removeHeadLocked()
		}
		q.stats.Published += uint64(n)
		switch {
		case err != nil && !q.down:
			q.down, q.downAt = true, time.Now()
			failed = q.removeFailFastLocked()
			q.cfg.Logger.Warn(q.cfg.LogPrefix+": cannot publish; keeping messages for the other servers until the broker answers", "namespace", q.cfg.Namespace, "err", err, "queued", len(q.items)-q.head)
		case err == nil && q.down:
			q.down = false
			backoff = minBackoff
			q.cfg.Logger.Info(q.cfg.LogPrefix+": publishing again", "namespace", q.cfg.Namespace, "after", time.Since(q.downAt).Round(time.Millisecond), "queued", len(q.items)-q.head)
		}
		q.mu.Unlock()
		q.dropAll(failed, ErrDown)
	}
}

// removeFailFastLocked takes the fail-fast messages out of the queue.
func (q *Queue[T]) removeFailFastLocked() []T {
	var out []T
	kept := q.items[:q.head]
	for _, e := range q.items[q.head:] {
		if e.failFast {
			out = append(out, e.v)
			q.bytes -= e.size
			continue
		}
		kept = append(kept, e)
	}
	clear(q.items[len(kept):])
	q.items = kept
	return out
}

// WithDefaults returns o with adapter.DefaultOutboxMaxBytes and
// adapter.DefaultOutboxMaxAge in place of zero values.
func WithDefaults(o adapter.OutboxOptions) adapter.OutboxOptions {
	if o.MaxBytes <= 0 {
		o.MaxBytes = adapter.DefaultOutboxMaxBytes
	}
	if o.MaxAge <= 0 {
		o.MaxAge = adapter.DefaultOutboxMaxAge
	}
	return o
}
