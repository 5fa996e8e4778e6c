package postgresadapter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/internal/clusteradapter"
	"github.com/socketio-go/socketio/internal/pgnotify"
)

// Errors of the adapter.
var (
	// ErrPublish wraps the error of a message that could not be handed to
	// PostgreSQL (a full outbox, a request during an outage): the
	// operation's local part was done, the other servers were not reached.
	ErrPublish = errors.New("postgresadapter: not published to the other servers")
	// ErrUnavailable is returned (wrapped) by requests while this server
	// does not listen or cannot publish: they fail at once instead of
	// waiting.
	ErrUnavailable = errors.New("postgresadapter: PostgreSQL unavailable")
	// ErrClosed is returned by operations on a closed adapter.
	ErrClosed = errors.New("postgresadapter: adapter closed")
	// ErrChannelTooLong is wrapped by Init's error for a namespace whose
	// channel ("<ChannelPrefix>#<namespace>") is longer than the 63 bytes
	// PostgreSQL accepts: that namespace works on this server only.
	ErrChannelTooLong = pgnotify.ErrChannelTooLong
)

// Adapter is the adapter of one namespace on a PostgreSQL cluster.
//
// All methods are safe for concurrent use. Notifications are handled on
// the goroutine that holds the namespace's LISTEN connection, in order;
// handlers of server-side events run there too and must not block. No
// method waits on PostgreSQL, except the requests (FetchSockets,
// ServerSideEmitWithAck), for RequestsTimeout or their context at most.
type Adapter struct {
	*clusteradapter.Core
	pool    *pgxpool.Pool
	opts    Options
	channel string
	chanErr error // the channel name is too long

	lis       *listener
	startOnce sync.Once
	stopOnce  sync.Once
	cleanup   *time.Timer // deletes old attachments; owned by startOnce/stopOnce
	cleanMu   sync.Mutex
	stopped   bool // guarded by cleanMu
}

// New returns the factory of the adapter, wire-compatible with Node's
// createAdapter of npm @socket.io/postgres-adapter 0.5.x:
//
//	pool, err := pgxpool.New(ctx, "postgres://127.0.0.1:5432/app")
//	srv := socketio.NewServer(&socketio.Options{Adapter: postgresadapter.New(pool, nil)})
//
// pool runs the NOTIFYs and attachment queries; each namespace adapter also
// holds a connection of its own (made with the pool's configuration) for
// LISTEN. The pool is not closed by the adapters.
func New(pool *pgxpool.Pool, opts *Options) func(adapter.Namespace) adapter.Adapter {
	o := opts.withDefaults()
	return func(nsp adapter.Namespace) adapter.Adapter { return newAdapter(nsp, pool, o) }
}

func newAdapter(nsp adapter.Namespace, pool *pgxpool.Pool, o Options) *Adapter {
	a := &Adapter{pool: pool, opts: o}
	a.channel, a.chanErr = pgnotify.Channel(o.ChannelPrefix, nsp.Name())
	if a.chanErr == nil {
		a.chanErr = pgnotify.CheckTable(o.TableName)
	}
	a.Core = clusteradapter.New(clusteradapter.Config{
		Namespace:         nsp,
		Broker:            a,
		Prefix:            "postgresadapter",
		HeartbeatInterval: o.HeartbeatInterval,
		HeartbeatTimeout:  o.HeartbeatTimeout,
		RequestsTimeout:   o.RequestsTimeout,
		Outbox:            o.Outbox,
		Logger:            o.Logger,
		ErrPublish:        ErrPublish,
		ErrUnavailable:    ErrUnavailable,
		ErrClosed:         ErrClosed,
	})
	a.lis = newListener(a)
	return a
}

// Channel returns the namespace's channel.
func (a *Adapter) Channel() string { return a.channel }

// Init implements adapter.Adapter: it creates the attachments table if
// needed, LISTENs on the namespace's channel and announces this server,
// and waits until it listens, for RequestsTimeout at most. When PostgreSQL
// cannot be reached it returns the error and keeps trying in the
// background. A channel name that is too long is an error wrapping
// ErrChannelTooLong: the namespace then works on this server only.
func (a *Adapter) Init() error {
	if a.chanErr != nil {
		return fmt.Errorf("postgresadapter: namespace %q: %w", a.Name, a.chanErr)
	}
	var started bool
	a.startOnce.Do(func() {
		started = true
		ctx, cancel := context.WithTimeout(context.Background(), a.opts.RequestsTimeout)
		defer cancel()
		if err := a.createTable(ctx); err != nil {
			a.opts.Logger.Warn("postgresadapter: cannot create the attachments table", "table", a.opts.TableName, "err", err)
		}
		a.Start()
		a.lis.start()
		a.cleanMu.Lock()
		if !a.stopped {
			a.cleanup = time.AfterFunc(a.opts.CleanupInterval, a.clean)
		}
		a.cleanMu.Unlock()
	})
	if !started {
		return nil
	}
	timer := time.NewTimer(a.opts.RequestsTimeout)
	defer timer.Stop()
	select {
	case err := <-a.lis.first:
		if err != nil {
			return fmt.Errorf("postgresadapter: namespace %q: cannot LISTEN (retrying in the background): %w", a.Name, err)
		}
	case <-timer.C:
		return fmt.Errorf("postgresadapter: namespace %q: not listening after %v (retrying in the background)", a.Name, a.opts.RequestsTimeout)
	}
	return nil
}

// createTable creates the attachments table unless it exists. Two servers
// creating it at once may collide on PostgreSQL's catalog: the loser
// finds it made.
func (a *Adapter) createTable(ctx context.Context) error {
	_, err := a.pool.Exec(ctx, pgnotify.CreateTable(a.opts.TableName))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "23505" || pgErr.Code == "42P07") {
		return nil
	}
	return err
}

// clean deletes the attachments older than CleanupInterval (Node's
// cleanup), every CleanupInterval.
func (a *Adapter) clean() {
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.RequestsTimeout)
	_, err := a.pool.Exec(ctx, pgnotify.Cleanup(a.opts.TableName, a.opts.CleanupInterval.Milliseconds()))
	cancel()
	if err != nil {
		a.opts.Logger.Debug("postgresadapter: attachments cleanup failed", "table", a.opts.TableName, "err", err)
	}
	a.cleanMu.Lock()
	if !a.stopped {
		a.cleanup.Reset(a.opts.CleanupInterval)
	}
	a.cleanMu.Unlock()
}

// Close implements adapter.Adapter: it tells the other servers
// (ADAPTER_CLOSE), gives what waits in the outbox RequestsTimeout to go
// out, stops listening and fails the requests still waiting with
// ErrClosed.
func (a *Adapter) Close() error {
	a.stopOnce.Do(func() {
		a.cleanMu.Lock()
		a.stopped = true
		if a.cleanup != nil {
			a.cleanup.Stop()
		}
		a.cleanMu.Unlock()
		a.Stop()
		a.lis.stop()
	})
	return nil
}

// Send implements clusteradapter.Broker: the batch goes in one round trip
// (one implicit transaction: NOTIFYs are delivered at its commit, in
// order). When PostgreSQL refuses it for a reason of the messages' own,
// they are sent one by one so that only the culprit is lost (and logged).
func (a *Adapter) Send(ctx context.Context, batch []clusteradapter.Out) (int, error) {
	if a.chanErr != nil {
		for i := range batch {
			batch[i].Sent("", a.chanErr)
		}
		return len(batch), nil
	}
	b := &pgx.Batch{}
	for _, m := range batch {
		if err := a.queue(b, m); err != nil {
			return 0, err
		}
	}
	err := a.pool.SendBatch(ctx, b).Close()
	if err == nil {
		for i := range batch {
			batch[i].Sent("", nil)
		}
		return len(batch), nil
	}
	if !refused(err) || len(batch) == 1 {
		if refused(err) {
			a.opts.Logger.Error("postgresadapter: PostgreSQL refused a message", "namespace", a.Name, "type", batch[0].Type, "err", err)
			batch[0].Sent("", err)
			return 1, nil
		}
		return 0, err
	}
	for i := range batch {
		if _, err := a.Send(ctx, batch[i:i+1]); err != nil {
			return i, err
		}
	}
	return len(batch), nil
}

func (a *Adapter) queue(b *pgx.Batch, m clusteradapter.Out) error {
	return pgnotify.Queue(b, a.opts.TableName, a.opts.PayloadThreshold, pgnotify.Message{
		Channel: a.channel, UID: a.UID(), Type: m.Type, JSON: m.JSON, Atts: m.Atts,
	})
}

// refused reports an error of PostgreSQL about the statement itself
// (payload too long, missing table...): sending again would not help.
// Errors of the connection or the server's state (a restart's "terminating
// connection due to administrator command", class 57) are outages.
func refused(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Severity == "FATAL" || pgErr.Severity == "PANIC" {
		return false
	}
	switch pgErr.Code[:2] {
	case "08", "40", "53", "57", "58", "XX":
		return false
	}
	return true
}

// PersistSession implements adapter.Adapter. Connection state recovery
// across servers is not supported (nor by Node's adapter): nothing is
// kept.
func (a *Adapter) PersistSession(*adapter.Session) {}

// RestoreSession implements adapter.Adapter: no session can be restored.
func (a *Adapter) RestoreSession(string, string) (*adapter.Session, error) { return nil, nil }

var (
	_ adapter.Adapter        = (*Adapter)(nil)
	_ adapter.OutboxReporter = (*Adapter)(nil)
	_ clusteradapter.Broker  = (*Adapter)(nil)
)
