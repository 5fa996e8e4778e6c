package natsadapter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/internal/clusteradapter"
	"github.com/socketio-go/socketio/redisadapter/wire"
)

// Errors of the adapter.
var (
	// ErrPublish wraps the error of a message that could not be handed to
	// NATS (a full outbox, a request during an outage): the operation's
	// local part was done, the other servers were not reached.
	ErrPublish = errors.New("natsadapter: not published to the other servers")
	// ErrUnavailable is returned (wrapped) by requests while this server
	// is not connected or cannot publish: they fail at once instead of
	// waiting.
	ErrUnavailable = errors.New("natsadapter: NATS unavailable")
	// ErrClosed is returned by operations on a closed adapter.
	ErrClosed = errors.New("natsadapter: adapter closed")
)

// Adapter is the adapter of one namespace on a NATS cluster.
//
// All methods are safe for concurrent use. Messages of the stream are
// handled in order on the goroutine of the namespace's JetStream consumer,
// plain NATS messages (heartbeats, requests and their answers) on that of
// its subscription; handlers of server-side events run on the former and
// must not block. No method waits on NATS, except the requests
// (FetchSockets, ServerSideEmitWithAck), for RequestsTimeout or their
// context at most.
type Adapter struct {
	*clusteradapter.Core
	nc   *nats.Conn
	js   jetstream.JetStream
	opts Options

	streamSubject, plainSubject string

	startOnce sync.Once
	stopOnce  sync.Once
	started   chan struct{} // closed once the consumer and subscription are made

	// deliverMu serialises the stream's deliveries: after a reconnection
	// the old consumer (which may have made itself again) and the new one
	// can both deliver, from different goroutines.
	deliverMu  sync.Mutex
	lastSeq    atomic.Uint64 // the stream sequence of the last message read; written under deliverMu once positioned
	positioned atomic.Bool   // lastSeq was set (to the stream's end at first)

	kv jetstream.KeyValue // sessions; set once by setup when recovery is on

	mu       sync.Mutex
	sub      *nats.Subscription       // guarded by mu
	consumer jetstream.ConsumeContext // guarded by mu
	status   chan nats.Status         // guarded by mu; the connection's changes
	wg       sync.WaitGroup           // the goroutines of Init and of status changes
	quit     chan struct{}            // closed by Close
}

// New returns the factory of the adapter:
//
//	nc, err := nats.Connect("nats://127.0.0.1:4222", nats.MaxReconnects(-1))
//	srv := socketio.NewServer(&socketio.Options{Adapter: natsadapter.New(nc, nil)})
//
// The NATS server must have JetStream enabled (nats-server -js). nc is
// not closed by the adapters; give it unlimited reconnections
// (nats.MaxReconnects(-1)) for the adapter to outlive NATS restarts.
func New(nc *nats.Conn, opts *Options) func(adapter.Namespace) adapter.Adapter {
	o := opts.withDefaults()
	return func(nsp adapter.Namespace) adapter.Adapter { return newAdapter(nsp, nc, o) }
}

func newAdapter(nsp adapter.Namespace, nc *nats.Conn, o Options) *Adapter {
	js, _ := jetstream.New(nc) // fails only on invalid options
	a := &Adapter{nc: nc, js: js, opts: o, started: make(chan struct{}), quit: make(chan struct{})}
	a.streamSubject = o.SubjectPrefix + ".js." + token(nsp.Name())
	a.plainSubject = o.SubjectPrefix + ".ps." + token(nsp.Name())
	a.Core = clusteradapter.New(clusteradapter.Config{
		Namespace:         nsp,
		Broker:            a,
		Prefix:            "natsadapter",
		HeartbeatInterval: o.HeartbeatInterval,
		HeartbeatTimeout:  o.HeartbeatTimeout,
		RequestsTimeout:   o.RequestsTimeout,
		Outbox:            o.Outbox,
		Logger:            o.Logger,
		ErrPublish:        ErrPublish,
		ErrUnavailable:    ErrUnavailable,
		ErrClosed:         ErrClosed,
		Offsets:           true,
	})
	return a
}

// Subjects returns the namespace's subjects: the stream's and plain NATS's.
func (a *Adapter) Subjects() (stream, plain string) { return a.streamSubject, a.plainSubject }

// Init implements adapter.Adapter: it creates (or updates) the stream,
// starts reading the namespace's part of it from its end, subscribes, and
// announces this server. When NATS cannot be reached it returns the error
// and keeps trying in the background.
func (a *Adapter) Init() error {
	var first chan error
	a.startOnce.Do(func() {
		first = make(chan error, 1)
		a.Start()
		a.mu.Lock()
		a.status = a.nc.StatusChanged(nats.CONNECTED, nats.RECONNECTING, nats.DISCONNECTED, nats.CLOSED)
		a.mu.Unlock()
		a.wg.Add(2)
		go a.setup(first)
		go a.watch()
	})
	if first == nil {
		return nil
	}
	timer := time.NewTimer(a.opts.RequestsTimeout)
	defer timer.Stop()
	select {
	case err := <-first:
		if err != nil {
			return fmt.Errorf("natsadapter: namespace %q: %w (retrying in the background)", a.Name, err)
		}
		return nil
	case <-timer.C:
		return fmt.Errorf("natsadapter: namespace %q: not listening after %v (retrying in the background)", a.Name, a.opts.RequestsTimeout)
	}
}

// setup makes the stream, the consumer and the subscription, retrying
// until it succeeds or the adapter closes.
func (a *Adapter) setup(first chan error) {
	defer a.wg.Done()
	backoff := 100 * time.Millisecond
	for {
		err := a.trySetup()
		select {
		case first <- err:
		default:
		}
		if err == nil {
			close(a.started)
			a.SetListening(a.nc.IsConnected())
			return
		}
		a.opts.Logger.Warn("natsadapter: cannot set up the namespace's stream consumer; retrying", "namespace", a.Name, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-a.quit:
			t.Stop()
			return
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

func (a *Adapter) trySetup() error {
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.RequestsTimeout)
	defer cancel()
	if d := a.RecoveryDuration(); d > 0 && a.kvBucket() == nil {
		kv, err := a.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:  a.opts.SessionBucket,
			TTL:     d,
			Storage: jetstream.FileStorage,
		})
		if err != nil {
			return fmt.Errorf("session bucket %s: %w", a.opts.SessionBucket, err)
		}
		a.mu.Lock()
		a.kv = kv
		a.mu.Unlock()
	}
	stream, err := a.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       a.opts.Stream,
		Subjects:   []string{a.opts.SubjectPrefix + ".js.>"},
		Storage:    jetstream.FileStorage,
		MaxAge:     a.opts.StreamMaxAge,
		MaxBytes:   a.opts.StreamMaxBytes,
		Discard:    jetstream.DiscardOld,
		Duplicates: time.Minute,
	})
	if err != nil {
		return fmt.Errorf("stream %s: %w", a.opts.Stream, err)
	}
	cc, err := a.consume(ctx, stream)
	if err != nil {
		return err
	}
	sub, err := a.nc.Subscribe(a.plainSubject, func(m *nats.Msg) { a.receive(m.Data, "") })
	if err != nil {
		cc.Stop()
		return fmt.Errorf("subscribe: %w", err)
	}
	if err := a.nc.FlushWithContext(ctx); err != nil {
		cc.Stop()
		_ = sub.Unsubscribe()
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	select {
	case <-a.quit:
		cc.Stop()
		_ = sub.Unsubscribe()
		return ErrClosed
	default:
	}
	a.sub, a.consumer = sub, cc
	return nil
}

// consume reads the namespace's part of the stream with an ordered
// consumer: from its end at first, after the last message read when it is
// made again. (An ordered consumer makes itself again after a NATS
// restart, but not after its connection was cut while NATS stayed up: the
// messages sent meanwhile count as delivered, and it sees the gap only
// with the next message. The adapter makes a new one when its connection
// is back.)
func (a *Adapter) consume(ctx context.Context, stream jetstream.Stream) (jetstream.ConsumeContext, error) {
	if !a.positioned.Load() {
		// Start after the stream's end (concretely: DeliverNew would leave
		// no position to go on from if the connection is cut before the
		// first message).
		info, err := stream.Info(ctx)
		if err != nil {
			return nil, fmt.Errorf("stream info: %w", err)
		}
		a.lastSeq.CompareAndSwap(0, info.State.LastSeq)
		a.positioned.Store(true)
	}
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{a.streamSubject},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    a.lastSeq.Load() + 1,
	}
	cons, err := stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("consumer: %w", err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		// Checking the sequence and delivering is one step: with two
		// consumers at work, one could otherwise deliver message n+1
		// while the other, which took n, has not delivered it yet.
		a.deliverMu.Lock()
		defer a.deliverMu.Unlock()
		offset := ""
		if md, err := m.Metadata(); err == nil {
			if md.Sequence.Stream <= a.lastSeq.Load() {
				return // read already
			}
			a.lastSeq.Store(md.Sequence.Stream)
			offset = strconv.FormatUint(md.Sequence.Stream, 10)
		}
		a.receive(m.Data(), offset)
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		a.opts.Logger.Debug("natsadapter: consumer", "namespace", a.Name, "err", err)
	}))
	if err != nil {
		return nil, fmt.Errorf("consume: %w", err)
	}
	return cc, nil
}

// reconsume replaces the consumer after a reconnection.
func (a *Adapter) reconsume() {
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.RequestsTimeout)
	defer cancel()
	stream, err := a.js.Stream(ctx, a.opts.Stream)
	var cc jetstream.ConsumeContext
	if err == nil {
		cc, err = a.consume(ctx, stream)
	}
	if err != nil {
		a.opts.Logger.Warn("natsadapter: cannot read the stream again after a reconnection", "namespace", a.Name, "err", err)
		return
	}
	a.mu.Lock()
	old := a.consumer
	a.consumer = cc
	select {
	case <-a.quit:
		cc.Stop()
	default:
	}
	a.mu.Unlock()
	if old != nil {
		old.Stop()
	}
}

// watch follows the connection: this server listens while it is connected
// (once set up).
func (a *Adapter) watch() {
	defer a.wg.Done()
	a.mu.Lock()
	ch := a.status
	a.mu.Unlock()
	for {
		select {
		case <-a.quit:
			return
		case st, ok := <-ch:
			if !ok {
				return
			}
			select {
			case <-a.started:
				if st == nats.CONNECTED && !a.Listening() {
					a.reconsume()
				}
				a.SetListening(st == nats.CONNECTED)
			default:
			}
		}
	}
}

// receive handles a message; offset is its stream sequence ("" for plain
// NATS).
func (a *Adapter) receive(payload []byte, offset string) {
	js, atts, err := wire.DecodePayload(payload)
	if err != nil {
		a.opts.Logger.Debug("natsadapter: malformed message", "namespace", a.Name, "err", err)
		return
	}
	a.Receive(js, atts, offset)
}

// Close implements adapter.Adapter: it tells the other servers
// (ADAPTER_CLOSE), gives what waits in the outbox RequestsTimeout to go
// out, stops reading and fails the requests still waiting with ErrClosed.
func (a *Adapter) Close() error {
	a.stopOnce.Do(func() {
		a.Stop()
		a.mu.Lock()
		close(a.quit)
		if a.consumer != nil {
			a.consumer.Stop()
		}
		if a.sub != nil {
			_ = a.sub.Unsubscribe()
		}
		if a.status != nil {
			a.nc.RemoveStatusListener(a.status)
		}
		a.mu.Unlock()
		a.wg.Wait()
	})
	return nil
}

// durable reports whether a message type goes through the stream: those
// that change what clients get (broadcasts, joins and leaves,
// disconnections, server-side events). Heartbeats, requests and answers
// are plain NATS messages: a request is answered now or not at all.
func durable(typ int) bool {
	switch typ {
	case wire.MsgBroadcast, wire.MsgSocketsJoin, wire.MsgSocketsLeave, wire.MsgDisconnectSockets, wire.MsgServerSideEmit:
		return true
	}
	return false
}

// Send implements clusteradapter.Broker: the stream's messages are
// published asynchronously, with ids JetStream deduplicates a retry by,
// and the batch waits for their acknowledgements in order.
func (a *Adapter) Send(ctx context.Context, batch []clusteradapter.Out) (int, error) {
	if !a.nc.IsConnected() {
		return 0, nats.ErrConnectionClosed
	}
	futures := make([]jetstream.PubAckFuture, len(batch))
	for i, m := range batch {
		if m.Type == kindSession {
			n, err := a.complete(ctx, batch[:i], futures[:i])
			if err != nil {
				return n, err
			}
			if err := a.putSession(ctx, m); err != nil {
				return i, err
			}
			batch[i].Sent("", nil)
			continue
		}
		payload, err := encode(m)
		if err != nil {
			a.opts.Logger.Error("natsadapter: cannot encode a message", "namespace", a.Name, "type", m.Type, "err", err)
			continue
		}
		if durable(m.Type) && m.Seq != 0 {
			f, err := a.js.PublishAsync(a.streamSubject, payload, jetstream.WithMsgID(a.UID()+"-"+strconv.FormatUint(m.Seq, 10)))
			if err != nil {
				return a.complete(ctx, batch[:i], futures[:i])
			}
			futures[i] = f
			continue
		}
		if err := a.nc.Publish(a.plainSubject, payload); err != nil {
			n, _ := a.complete(ctx, batch[:i], futures[:i])
			return n, err
		}
	}
	return a.complete(ctx, batch, futures)
}

// complete waits for the acknowledgements of batch in order and completes
// its messages; it returns how many were handled and the error that
// stopped it.
func (a *Adapter) complete(ctx context.Context, batch []clusteradapter.Out, futures []jetstream.PubAckFuture) (int, error) {
	for i, f := range futures {
		if batch[i].Type == kindSession {
			continue // done by Send
		}
		offset := ""
		if f != nil {
			select {
			case ack := <-f.Ok():
				offset = strconv.FormatUint(ack.Sequence, 10)
			case err := <-f.Err():
				return i, err
			case <-ctx.Done():
				return i, ctx.Err()
			}
		}
		batch[i].Sent(offset, nil)
	}
	return len(batch), nil
}

// encode returns a message as JSON, or MessagePack when it has binary
// values.
func encode(m clusteradapter.Out) ([]byte, error) {
	if len(m.Atts) == 0 {
		return m.JSON, nil
	}
	return wire.JSONToMsgpack(make([]byte, 0, len(m.JSON)), m.JSON, m.Atts)
}

var (
	_ adapter.Adapter        = (*Adapter)(nil)
	_ adapter.OutboxReporter = (*Adapter)(nil)
	_ clusteradapter.Broker  = (*Adapter)(nil)
)
