package redisstreamsadapter

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio/internal/outbox"
	"github.com/socketio-go/socketio/redisadapter/wire"
)

// Everything this server writes to Redis goes through its outbox, in the
// order of the calls, published by the outbox's flusher in pipelined
// batches: stream entries (XADD), pub/sub messages, sessions (SET). While
// Redis cannot be reached they wait (within Options.Outbox); a command that
// the dying connection lost is sent again (Node's is lost: WIRE.md §5.4).
// Requests wait for their PUBLISH, and fail at once during an outage.

const (
	kindXAdd = iota
	kindPublish
	kindSet
)

// outMsg is a command for Redis.
type outMsg struct {
	kind    int
	typ     int    // kindXAdd: the message type
	target  string // kindPublish: channel; kindSet: key
	data    string // kindXAdd: the data field; kindSet: the value
	payload []byte // kindPublish
	ttl     time.Duration
	// local, for a broadcast under connection state recovery, delivers it
	// to the local sockets with its entry id as offset ("" when it never
	// got one).
	local func(offset string)
	done  chan error // requests: gets the outcome (1-buffered)
}

func (m *outMsg) size() int { return len(m.target) + len(m.data) + len(m.payload) + 64 }

func (a *Adapter) newOutbox() *outbox.Queue[outMsg] {
	return outbox.New(outbox.Config[outMsg]{
		Limits:      a.opts.Outbox,
		Logger:      a.log,
		LogPrefix:   "redisstreamsadapter",
		Namespace:   a.name,
		SendTimeout: a.opts.RequestsTimeout,
		Send:        a.sendBatch,
		Ready: func(ctx context.Context) bool {
			return a.gate.Ready(ctx, a.sub.Healthy(), a.countServers)
		},
		Drop: func(m outMsg, reason error) {
			if m.local != nil {
				m.local("") // the local sockets get it all the same
			}
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
// down: Redis may be back while the servers are not subscribed again to
// the pub/sub part, and what is published then is lost for them.
var errNotSubscribed = errors.New("not subscribed to Redis")

// sendBatch runs a batch in one round trip (the flusher's Send).
func (a *Adapter) sendBatch(ctx context.Context, batch []outMsg) (int, error) {
	if !a.sub.Healthy() {
		return 0, errNotSubscribed
	}
	done := 0
	if a.unsure {
		// The last batch failed after it was written: Redis may have
		// added some of its entries (and kept them, with persistence).
		// Those are not added again.
		n, err := a.skipAdded(ctx, batch)
		if err != nil {
			return 0, err
		}
		a.unsure = false
		done, batch = n, batch[n:]
		if len(batch) == 0 {
			return done, nil
		}
	}
	pipe := a.client.Pipeline()
	cmds := make([]redis.Cmder, len(batch))
	for i, m := range batch {
		switch m.kind {
		case kindXAdd:
			cmds[i] = pipe.XAdd(ctx, &redis.XAddArgs{
				Stream: a.stream,
				MaxLen: a.opts.MaxLen,
				Approx: true,
				ID:     "*",
				Values: []any{"uid", a.uid, "nsp", a.name, "type", strconv.Itoa(m.typ), "data", m.data},
			})
		case kindPublish:
			if a.opts.UseShardedPubSub {
				cmds[i] = pipe.SPublish(ctx, m.target, m.payload)
			} else {
				cmds[i] = pipe.Publish(ctx, m.target, m.payload)
			}
		case kindSet:
			cmds[i] = pipe.Do(ctx, "SET", m.target, m.data, "PX", m.ttl.Milliseconds())
		}
	}
	var count *redis.MapStringIntCmd
	if _, cluster := a.client.(*redis.ClusterClient); !cluster && a.gate.CountDue() {
		count = a.countCmd(ctx, pipe)
	}
	_, _ = pipe.Exec(ctx)
	for i, cmd := range cmds {
		err := cmd.Err()
		var rerr redis.Error
		if err != nil && !errors.As(err, &rerr) {
			a.unsure = true
			return done, err // not confirmed; the rest neither
		}
		if err != nil {
			a.log.Error("redisstreamsadapter: Redis refused a command", "namespace", a.name, "err", err)
		}
		id := ""
		if x, ok := cmd.(*redis.StringCmd); ok && err == nil && batch[i].kind == kindXAdd {
			id = x.Val()
			a.lastAdded = id
		}
		batch[i].sent(id, err)
		done++
	}
	if count != nil && count.Err() == nil {
		a.gate.Counted(count.Val()[a.publicChannel])
	}
	return done, nil
}

// sent completes a command Redis ran: local delivery with the entry's id,
// the waiting request's answer.
func (m *outMsg) sent(id string, err error) {
	if m.local != nil {
		m.local(id)
	}
	if m.done != nil {
		m.done <- err
	}
}

// skipAdded finds this adapter's entries after the last one Redis
// confirmed: they are the first XADDs of batch, which a failed round trip
// wrote without getting the answers. It completes them, with the commands
// before them, and returns how many.
func (a *Adapter) skipAdded(ctx context.Context, batch []outMsg) (int, error) {
	if a.lastAdded == "" {
		return 0, nil
	}
	entries, err := a.client.XRange(ctx, a.stream, nextOffset(a.lastAdded), "+").Result()
	if err != nil {
		return 0, err
	}
	var ids []string
	for _, e := range entries {
		if uid, _ := e.Values["uid"].(string); uid == a.uid {
			ids = append(ids, e.ID)
		}
	}
	n := 0
	for ; n < len(batch) && len(ids) > 0; n++ {
		id := ""
		if batch[n].kind == kindXAdd {
			id, ids = ids[0], ids[1:]
			a.lastAdded = id
		}
		batch[n].sent(id, nil)
	}
	if n > 0 {
		a.log.Info("redisstreamsadapter: entries added before the connection was lost are not added again", "namespace", a.name, "entries", n)
	}
	return n, nil
}

// push queues a fire-and-forget command; op names the operation in errors.
func (a *Adapter) push(op string, m outMsg) error {
	if err := a.out.Push(m, m.size(), false); err != nil {
		if m.local != nil {
			m.local("")
		}
		return a.pushError(op, err)
	}
	return nil
}

func (a *Adapter) pushError(op string, err error) error {
	switch {
	case errors.Is(err, outbox.ErrClosed):
		return ErrClosed
	case errors.Is(err, outbox.ErrDown):
		err = ErrUnavailable
	}
	return fmt.Errorf("redisstreamsadapter: %s: %w: %w", op, ErrPublish, err)
}

// publishWait queues a request for the public channel and waits until it
// is published; it fails at once while Redis is known to be down.
func (a *Adapter) publishWait(ctx context.Context, payload []byte) error {
	m := outMsg{kind: kindPublish, target: a.publicChannel, payload: payload, done: make(chan error, 1)}
	if err := a.out.Push(m, m.size(), true); err != nil {
		if errors.Is(err, outbox.ErrDown) {
			return ErrUnavailable
		}
		if errors.Is(err, outbox.ErrClosed) {
			return ErrClosed
		}
		return err
	}
	select {
	case err := <-m.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// respond publishes a response on the requester's channel, as MessagePack
// (Node's streams adapter reads nothing else on pub/sub). During an outage
// it is dropped: the requester has given up.
func (a *Adapter) respond(requester string, typ int, data func(w *wire.Writer)) {
	payload, err := wire.ClusterMessage(typ, a.uid, a.name, data).Encode(true)
	if err != nil {
		a.log.Error("redisstreamsadapter: cannot encode a response", "namespace", a.name, "type", typ, "err", err)
		return
	}
	m := outMsg{kind: kindPublish, target: a.publicChannel + requester + "#", payload: payload}
	if err := a.out.Push(m, m.size(), true); err != nil && !errors.Is(err, outbox.ErrClosed) {
		a.log.Warn("redisstreamsadapter: cannot publish a response", "namespace", a.name, "type", typ, "err", err)
	}
}

// entryData encodes the data field of a stream entry: JSON, or
// base64(MessagePack) when a message that may carry binary values does
// (Node's encode).
func (a *Adapter) entryData(typ int, data func(w *wire.Writer)) (string, error) {
	var w wire.Writer
	w.BeginObject()
	data(&w)
	w.EndObject()
	if !w.HasBinary() {
		js, _, err := w.JSON()
		return string(js), err
	}
	if a.opts.OnlyPlaintext || typ == wire.MsgSocketsJoin || typ == wire.MsgSocketsLeave || typ == wire.MsgDisconnectSockets {
		js, atts, err := w.JSON()
		if err != nil {
			return "", err
		}
		inline, err := wire.InlineBinary(js, atts)
		return string(inline), err
	}
	mp, err := w.Encode(true)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(mp), nil
}
