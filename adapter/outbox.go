package adapter

import (
	"errors"
	"time"
)

// OutboxOptions bound the outbox of a cluster adapter: the messages for the
// other servers that wait while the broker cannot be reached (broadcasts,
// SocketsJoin/SocketsLeave, DisconnectSockets, ServerSideEmit without
// acknowledgement). They are published in order once the broker is back.
// The zero value selects the defaults.
type OutboxOptions struct {
	// MaxBytes bounds the encoded size of the waiting messages of one
	// namespace. A message that does not fit is refused: the operation
	// returns an error wrapping ErrOutboxFull. Default 16 MiB.
	MaxBytes int
	// MaxAge is how long a message may wait. Older ones are dropped,
	// counted (OutboxStats.Expired) and logged: other servers would get
	// them too late to matter. Default 30 seconds.
	MaxAge time.Duration
}

// The outbox defaults.
const (
	DefaultOutboxMaxBytes = 16 << 20
	DefaultOutboxMaxAge   = 30 * time.Second
)

// OutboxStats count what went through the outbox of one namespace's
// adapter since it started.
type OutboxStats struct {
	// Queued and QueuedBytes are the messages waiting now.
	Queued      int
	QueuedBytes int
	// Published counts the messages handed to the broker.
	Published uint64
	// Overflowed counts the messages refused because the outbox was full
	// (their operation returned an error wrapping ErrOutboxFull).
	Overflowed uint64
	// Expired counts the messages dropped after waiting OutboxOptions.MaxAge.
	Expired uint64
	// Abandoned counts the messages still waiting when the adapter closed
	// (after trying to publish them for a while).
	Abandoned uint64
	// Down reports that publishing is paused: the broker did not answer the
	// last attempt, and messages wait.
	Down bool
}

// OutboxReporter is implemented by the cluster adapters that have an
// outbox (every cluster adapter of this module: Redis, Redis Streams,
// PostgreSQL and NATS):
//
//	if r, ok := srv.Of("/").Adapter().(adapter.OutboxReporter); ok {
//		st := r.OutboxStats()
//		...
//	}
type OutboxReporter interface {
	OutboxStats() OutboxStats
}

// ErrOutboxFull is wrapped by the error of an operation whose message for
// the other servers did not fit in the outbox while the broker could not be
// reached: its local part was done, the other servers will not get it.
var ErrOutboxFull = errors.New("adapter: outbox full, message not kept for the other servers")
