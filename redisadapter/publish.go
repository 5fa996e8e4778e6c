package redisadapter

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/internal/outbox"
)

// Everything this server publishes goes through its outbox (package
// internal/outbox), in the order the operations were called: broadcasts,
// joins and leaves, disconnections and server-side events are queued and
// the call returns at once; requests (FetchSockets, ServerSideEmitWithAck,
// ...) are queued too, behind what came before them, and wait for their
// PUBLISH. While Redis does not answer, fire-and-forget messages wait
// (within Options.Outbox) and requests fail at once with ErrUnavailable.
//
// Redis pub/sub delivers only to the connections subscribed at the time, so
// after an outage the backlog is published once this server and the other
// servers are subscribed again (redissub.Gate).

// pubMsg is a message for Redis.
type pubMsg struct {
	channel string
	payload []byte
	done    chan error // requests: gets the outcome (1-buffered); nil otherwise
}

func (a *Adapter) newOutbox() *outbox.Queue[pubMsg] {
	return outbox.New(outbox.Config[pubMsg]{
		Limits:      a.opts.Outbox,
		Logger:      a.log,
		LogPrefix:   "redisadapter",
		Namespace:   a.name,
		SendTimeout: a.opts.RequestsTimeout,
		Send:        a.sendBatch,
		Ready:       a.readyAfterOutage,
		Drop: func(m pubMsg, reason error) {
			if m.done != nil {
				if errors.Is(reason, outbox.ErrDown) {
					reason = ErrUnavailable
				}
				m.done <- reason
			}
		},
	})
}

// errNotSubscribed holds the outbox while this server's subscription is
// down: Redis may be back (a restart between two publishes goes unseen by
// the publishing connections) while the servers are not subscribed again,
// and what is published then is lost for them.
var errNotSubscribed = errors.New("not subscribed to Redis")

// sendBatch publishes a batch in one round trip (the flusher's Send).
func (a *Adapter) sendBatch(ctx context.Context, batch []pubMsg) (int, error) {
	if !a.Healthy() {
		return 0, errNotSubscribed
	}
	pipe := a.client.Pipeline()
	cmds := make([]*redis.IntCmd, len(batch))
	for i, m := range batch {
		if a.sharded {
			cmds[i] = pipe.SPublish(ctx, m.channel, m.payload)
		} else {
			cmds[i] = pipe.Publish(ctx, m.channel, m.payload)
		}
	}
	var count *redis.MapStringIntCmd
	if _, cluster := a.client.(*redis.ClusterClient); !cluster && a.gate.CountDue() {
		count = a.countCmd(ctx, pipe)
	}
	_, _ = pipe.Exec(ctx)
	n := 0
	for i, cmd := range cmds {
		err := cmd.Err()
		var rerr redis.Error
		if err != nil && !errors.As(err, &rerr) {
			return n, err // not sent; the rest neither
		}
		if err != nil {
			// Redis refused this message for a reason of its own: retrying
			// would not help.
			a.log.Error("redisadapter: Redis refused a message", "namespace", a.name, "channel", batch[i].channel, "err", err)
		}
		if d := batch[i].done; d != nil {
			d <- err
		}
		n++
	}
	if count != nil && count.Err() == nil {
		a.gate.Counted(count.Val()[a.countKey()])
	}
	return n, nil
}

// countCmd queues PUBSUB NUMSUB (SHARDNUMSUB) of the channel every server
// of the namespace subscribes to once.
func (a *Adapter) countCmd(ctx context.Context, c redis.Cmdable) *redis.MapStringIntCmd {
	if a.sharded {
		return c.PubSubShardNumSub(ctx, a.channel)
	}
	return c.PubSubNumSub(ctx, a.requestChannel)
}

func (a *Adapter) countKey() string {
	if a.sharded {
		return a.channel
	}
	return a.requestChannel
}

// readyAfterOutage tells the flusher whether to publish again after a
// failure.
func (a *Adapter) readyAfterOutage(ctx context.Context) bool {
	return a.gate.Ready(ctx, a.Healthy(), a.countServers)
}

// push queues a fire-and-forget message for the other servers; op names the
// operation in errors.
func (a *Adapter) push(op, channel string, payload []byte) error {
	err := a.out.Push(pubMsg{channel: channel, payload: payload}, len(payload), false)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, outbox.ErrClosed):
		return ErrClosed
	default:
		return publishError(op, err)
	}
}

// publishWait queues a request and waits until it is published. It fails
// at once while Redis is known to be unreachable.
func (a *Adapter) publishWait(ctx context.Context, channel string, payload []byte) error {
	done := make(chan error, 1)
	if err := a.out.Push(pubMsg{channel: channel, payload: payload, done: done}, len(payload), true); err != nil {
		switch {
		case errors.Is(err, outbox.ErrClosed):
			return ErrClosed
		case errors.Is(err, outbox.ErrDown):
			return ErrUnavailable
		}
		return err
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// publishAsync publishes a response without making the caller (the
// subscriber's reader) wait on Redis; during an outage it is dropped (the
// requester has given up).
func (a *Adapter) publishAsync(what, channel string, payload []byte, err error) {
	if err != nil {
		a.log.Error("redisadapter: cannot encode a response", "namespace", a.name, "response", what, "err", err)
		return
	}
	if err := a.out.Push(pubMsg{channel: channel, payload: payload}, len(payload), true); err != nil && !errors.Is(err, outbox.ErrClosed) {
		a.log.Warn("redisadapter: cannot publish a response", "namespace", a.name, "response", what, "err", err)
	}
}

func publishError(op string, err error) error {
	return fmt.Errorf("redisadapter: %s: %w: %w", op, ErrPublish, err)
}

// OutboxStats implements adapter.OutboxReporter: what this namespace's
// outbox holds and has published, refused and dropped.
func (a *Adapter) OutboxStats() adapter.OutboxStats { return a.out.Stats() }

var _ adapter.OutboxReporter = (*Adapter)(nil)
