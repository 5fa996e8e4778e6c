package postgresadapter

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/socketio-go/socketio/internal/pgnotify"
)

// Reconnection timing of the listener.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// listener holds the namespace's LISTEN connection: it connects, LISTENs,
// tells the core (which announces this server), and hands each
// notification to the core, fetching attachments on the same connection,
// in order. When the connection is lost it connects again with backoff.
type listener struct {
	a      *Adapter
	ctx    context.Context
	cancel context.CancelFunc
	first  chan error // the outcome of the first attempt (1-buffered)
	once   sync.Once
	wg     sync.WaitGroup
}

func newListener(a *Adapter) *listener {
	ctx, cancel := context.WithCancel(context.Background())
	return &listener{a: a, ctx: ctx, cancel: cancel, first: make(chan error, 1)}
}

func (l *listener) start() {
	l.wg.Add(1)
	go l.run()
}

func (l *listener) stop() {
	l.cancel()
	l.wg.Wait()
}

func (l *listener) report(err error) {
	l.once.Do(func() { l.first <- err })
}

func (l *listener) run() {
	defer l.wg.Done()
	a := l.a
	backoff := minBackoff
	for l.ctx.Err() == nil {
		err := l.listen()
		a.SetListening(false)
		if l.ctx.Err() != nil {
			return
		}
		l.report(err)
		a.opts.Logger.Warn("postgresadapter: lost the LISTEN connection; connecting again", "namespace", a.Name, "channel", a.channel, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-l.ctx.Done():
			t.Stop()
			return
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listen connects, LISTENs and reads notifications until the connection
// fails or the listener stops.
func (l *listener) listen() error {
	a := l.a
	ctx, cancel := context.WithTimeout(l.ctx, a.opts.RequestsTimeout)
	conn, err := pgx.ConnectConfig(ctx, a.pool.Config().ConnConfig.Copy())
	if err == nil {
		_, err = conn.Exec(ctx, "LISTEN "+pgx.Identifier{a.channel}.Sanitize())
	}
	cancel()
	if err != nil {
		if conn != nil {
			_ = conn.Close(context.Background())
		}
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = conn.Close(ctx)
		cancel()
	}()
	l.report(nil)
	a.SetListening(true)
	for {
		n, err := conn.WaitForNotification(l.ctx)
		if err != nil {
			return err
		}
		l.handle(conn, n.Payload)
	}
}

// handle reads a notification: a message, or an attachment's header whose
// row it fetches (unless it is this server's own).
func (l *listener) handle(conn *pgx.Conn, payload string) {
	a := l.a
	h, ok := pgnotify.ParseHeader(payload)
	if !ok {
		a.Receive([]byte(payload), nil, "")
		return
	}
	if h.UID == a.UID() {
		return
	}
	ctx, cancel := context.WithTimeout(l.ctx, a.opts.RequestsTimeout)
	defer cancel()
	js, atts, err := pgnotify.Fetch(ctx, conn, a.opts.TableName, h.ID)
	if err != nil {
		a.opts.Logger.Warn("postgresadapter: cannot read an attachment; message dropped", "namespace", a.Name, "id", h.ID, "err", err)
		return
	}
	a.Receive(js, atts, "")
}
