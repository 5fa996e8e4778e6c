package redisstreamsadapter

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Reconnection timing of the reader.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// reader reads the namespace's stream with a blocking XREAD loop on a
// connection of its own, from the id of the last entry it saw: after a
// Redis restart it goes on from there, so entries appended while it was
// away are read then. It starts from a concrete id (the stream's last
// entry, or 0-0), never "$": Node's first XREAD with "$" misses what is
// added between two of its blocking reads (WIRE.md §3.3).
type reader struct {
	a      *Adapter
	quit   chan struct{} // closed by stop
	done   chan struct{} // closed when run returns
	pinned chan struct{} // closed once the start id is known

	connID  atomic.Int64 // CLIENT ID of the blocking connection, 0 when none
	up      atomic.Bool
	started atomic.Bool
	once    sync.Once
}

func newReader(a *Adapter) *reader {
	return &reader{a: a, quit: make(chan struct{}), done: make(chan struct{}), pinned: make(chan struct{})}
}

func (r *reader) start() {
	r.started.Store(true)
	go r.run()
}

func (r *reader) healthy() bool { return r.up.Load() }

// stop ends the loop: CLIENT UNBLOCK interrupts a blocking XREAD of a
// plain client at once (a Redis Cluster client's ends within BlockTime).
func (r *reader) stop() {
	r.once.Do(func() { close(r.quit) })
	if !r.started.Load() {
		return
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if id := r.connID.Load(); id != 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			_ = r.a.client.ClientUnblock(ctx, id).Err()
			cancel()
		}
		select {
		case <-r.done:
			return
		case <-tick.C:
		}
	}
}

func (r *reader) stopped() bool {
	select {
	case <-r.quit:
		return true
	default:
		return false
	}
}

func (r *reader) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.quit:
	}
}

func (r *reader) run() {
	defer close(r.done)
	a := r.a
	last := ""
	backoff := minBackoff
	var conn *redis.Conn
	defer func() {
		if conn != nil {
			_ = conn.Close()
		}
	}()
	everUp := false
	for !r.stopped() {
		var err error
		if conn == nil {
			conn, err = r.dial()
		}
		if err == nil && last == "" {
			if last, err = r.lastID(); err == nil {
				close(r.pinned)
			}
		}
		var streams []redis.XStream
		if err == nil {
			args := &redis.XReadArgs{Streams: []string{a.stream, last}, Count: a.opts.ReadCount, Block: a.opts.BlockTime}
			if conn != nil {
				streams, err = conn.XRead(context.Background(), args).Result()
			} else {
				streams, err = a.client.XRead(context.Background(), args).Result()
			}
			if errors.Is(err, redis.Nil) {
				err = nil
			}
		}
		if err != nil {
			if r.stopped() {
				return
			}
			if r.up.Swap(false) {
				a.log.Warn("redisstreamsadapter: lost the stream; reading again from the last entry seen when Redis answers", "namespace", a.name, "stream", a.stream, "last", last, "err", err)
			}
			if conn != nil {
				r.connID.Store(0)
				_ = conn.Close()
				conn = nil
			}
			r.sleep(backoff)
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = minBackoff
		if !r.up.Swap(true) && everUp {
			a.log.Info("redisstreamsadapter: reading the stream again", "namespace", a.name, "stream", a.stream, "from", last)
		}
		everUp = true
		for _, s := range streams {
			for _, m := range s.Messages {
				a.onEntry(m.ID, m.Values)
				last = m.ID
			}
		}
	}
}

// dial opens the reader's own connection (plain clients only) and learns
// its CLIENT ID for stop.
func (r *reader) dial() (*redis.Conn, error) {
	c, ok := r.a.client.(*redis.Client)
	if !ok {
		return nil, nil
	}
	conn := c.Conn()
	ctx, cancel := context.WithTimeout(context.Background(), r.a.opts.RequestsTimeout)
	defer cancel()
	id, err := conn.ClientID(ctx).Result()
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	r.connID.Store(id)
	return conn, nil
}

// lastID is where reading starts: the stream's last entry, 0-0 when the
// stream does not exist yet.
func (r *reader) lastID() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.a.opts.RequestsTimeout)
	defer cancel()
	msgs, err := r.a.client.XRevRangeN(ctx, r.a.stream, "+", "-", 1).Result()
	if err != nil {
		return "", err
	}
	if len(msgs) == 0 {
		return "0-0", nil
	}
	return msgs[0].ID, nil
}
