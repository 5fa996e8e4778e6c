package natsadapter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/internal/clusteradapter"
	"github.com/socketio-go/socketio/redisadapter/wire"
)

// Connection state recovery across servers: a broadcast's offset is its
// sequence in the stream; a disconnected socket's session is an entry of
// the key-value bucket Options.SessionBucket (MessagePack {sid, pid, rooms,
// data}, as the Redis Streams adapter stores it before base64), kept for
// MaxDisconnectionDuration; whichever server the client reaches takes it
// and replays the namespace's broadcasts after the client's offset that
// were for the session's rooms.

// kindSession is the outbox message that stores a session (its JSON field
// holds the stored form, To the private id).
const kindSession = -1

// restoreBatch is how many messages a restore fetches at a time.
const restoreBatch = 256

// Errors of RestoreSession (the socket then starts a new session).
var errBadOffset = errors.New("natsadapter: invalid offset")

func (a *Adapter) kvBucket() jetstream.KeyValue {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.kv
}

// PersistSession implements adapter.Adapter: with connection state
// recovery on, the session goes to the bucket through the outbox (a
// shutdown's sessions are stored before Close returns, RequestsTimeout at
// most).
func (a *Adapter) PersistSession(s *adapter.Session) {
	if a.RecoveryDuration() <= 0 {
		return
	}
	mp, err := clusteradapter.EncodeSession(s)
	if mp == nil {
		a.opts.Logger.Warn("natsadapter: session cannot be encoded", "namespace", a.Name, "sid", s.SID, "err", err)
		return
	}
	if err != nil {
		a.opts.Logger.Warn("natsadapter: session data cannot be encoded", "namespace", a.Name, "sid", s.SID, "err", err)
	}
	if err := a.Enqueue("persistSession", clusteradapter.Out{Type: kindSession, JSON: mp, To: s.PID}); err != nil {
		a.opts.Logger.Warn("natsadapter: session not kept", "namespace", a.Name, "sid", s.SID, "err", err)
	}
}

func (a *Adapter) putSession(ctx context.Context, m clusteradapter.Out) error {
	kv := a.kvBucket()
	if kv == nil {
		return errors.New("session bucket not ready")
	}
	_, err := kv.Put(ctx, m.To, m.JSON)
	return err
}

// RestoreSession implements adapter.Adapter: the session is taken from the
// bucket (and deleted, even when the offset is gone), the offset must
// still be in the stream, and the namespace's broadcasts after it that
// were for the session's rooms come back with their offsets. Volatile
// broadcasts and emits with acknowledgements are not replayed.
func (a *Adapter) RestoreSession(pid, offset string) (*adapter.Session, error) {
	if a.RecoveryDuration() <= 0 {
		return nil, nil
	}
	seq, err := strconv.ParseUint(offset, 10, 64)
	if err != nil || seq == 0 {
		return nil, errBadOffset
	}
	kv := a.kvBucket()
	if kv == nil || !a.Healthy() {
		return nil, ErrUnavailable
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.RequestsTimeout)
	defer cancel()
	entry, err := kv.Get(ctx, pid)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, clusteradapter.ErrSessionNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("natsadapter: restoring a session: %w", err)
	}
	_ = kv.Delete(ctx, pid)
	s, err := clusteradapter.DecodeSession(entry.Value())
	if err != nil {
		return nil, fmt.Errorf("natsadapter: %w", err)
	}
	stream, err := a.js.Stream(ctx, a.opts.Stream)
	if err != nil {
		return nil, fmt.Errorf("natsadapter: restoring a session: %w", err)
	}
	if _, err := stream.GetMsg(ctx, seq); err != nil {
		return nil, clusteradapter.ErrSessionNotFound // the offset left the stream
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("natsadapter: restoring a session: %w", err)
	}
	last := info.State.LastSeq
	if last <= seq {
		return s, nil
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{a.streamSubject},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    seq + 1,
	})
	if err != nil {
		return nil, fmt.Errorf("natsadapter: restoring a session: %w", err)
	}
	for ctx.Err() == nil {
		msgs, err := cons.Fetch(restoreBatch, jetstream.FetchMaxWait(300*time.Millisecond))
		if err != nil {
			return nil, fmt.Errorf("natsadapter: restoring a session: %w", err)
		}
		got, done := 0, false
		for m := range msgs.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil {
				continue
			}
			if md.Sequence.Stream >= last {
				done = true
			}
			if p, ok := a.missed(s.Rooms, m.Data(), md.Sequence.Stream); ok {
				s.MissedPackets = append(s.MissedPackets, p)
			}
		}
		if got == 0 || done {
			break
		}
	}
	return s, nil
}

// missed returns the packet of a stream message if it is a broadcast the
// session missed, with its offset appended.
func (a *Adapter) missed(rooms []string, payload []byte, seq uint64) (adapter.MissedPacket, bool) {
	js, atts, err := wire.DecodePayload(payload)
	if err != nil {
		return adapter.MissedPacket{}, false
	}
	env, d, ok := clusteradapter.Decode(js)
	if !ok || env.Type != wire.MsgBroadcast || env.Nsp != a.Name {
		return adapter.MissedPacket{}, false
	}
	return clusteradapter.Missed(rooms, &d, atts, strconv.FormatUint(seq, 10))
}
