// Package postgresemitter sends Socket.IO events and commands to a cluster
// of servers on PostgreSQL from any Go process that is not itself a
// Socket.IO server: a worker, a cron job, a CLI. It speaks the protocol of
// Node's npm @socket.io/postgres-emitter 0.1.x (NOTIFY, and the attachments
// table for binary or long payloads), and adds the namespace at the top
// level of each message, which Node's @socket.io/postgres-adapter 0.5.x
// routes by: it reaches Node servers on that adapter and Go servers on
// postgresadapter alike (Node's own emitter reaches only the latter).
//
//	pool, err := pgxpool.New(ctx, "postgres://127.0.0.1:5432/app")
//	e := postgresemitter.New(pool, nil)
//	err = e.To("room1").Emit(ctx, "news", map[string]any{"title": "hello"})
//	err = e.Of("/admin").SocketsJoin(ctx, "audit")
//
// Like Node's, the emitter publishes and never listens: it gets no
// acknowledgement, cannot fetch sockets or count servers. Arguments are
// encoded like the server's: Go values as JSON, []byte values (anywhere)
// as binary.
//
// An Emitter is immutable and safe for concurrent use: To, Except, Of and
// the flags return a new one.
package postgresemitter

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	ev "github.com/socketio-go/socketio/internal/event"
	"github.com/socketio-go/socketio/internal/pgnotify"
	"github.com/socketio-go/socketio/redisadapter/wire"
	"github.com/socketio-go/socketio/sioparser"
)

// Options configure an Emitter; the zero values are Node's defaults.
type Options struct {
	// ChannelPrefix is the servers' ChannelPrefix, "socket.io" by default.
	ChannelPrefix string
	// TableName is the servers' attachments table,
	// "socket_io_attachments" by default.
	TableName string
	// PayloadThreshold: messages whose JSON has this many bytes or more
	// go through the attachments table, 8000 by default (the most).
	PayloadThreshold int
}

// Errors of the emitter.
var (
	// ErrAck is returned for an Emit whose last argument is a function:
	// the emitter gets no acknowledgement, as in Node.
	ErrAck = errors.New("postgresemitter: acknowledgements are not supported")
	// ErrReservedEvent is returned for an event name the protocol reserves.
	ErrReservedEvent = errors.New("postgresemitter: reserved event name")
	// ErrChannelTooLong is returned for a namespace whose channel is longer
	// than PostgreSQL accepts (63 bytes).
	ErrChannelTooLong = pgnotify.ErrChannelTooLong
)

// DB runs the emitter's statements: a *pgxpool.Pool or a *pgx.Conn.
type DB interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Emitter publishes to one namespace, with a selection of rooms and flags.
type Emitter struct {
	db       DB
	opts     Options
	nsp      string
	rooms    []string
	except   []string
	volatile bool
	compress *bool
}

// New returns an emitter for the main namespace "/". db is not closed by
// the emitter.
func New(db DB, opts *Options) *Emitter {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.ChannelPrefix == "" {
		o.ChannelPrefix = pgnotify.DefaultPrefix
	}
	if o.TableName == "" {
		o.TableName = pgnotify.DefaultTable
	}
	return &Emitter{db: db, opts: o, nsp: "/"}
}

func (e *Emitter) clone() *Emitter {
	c := *e
	c.rooms = slices.Clone(e.rooms)
	c.except = slices.Clone(e.except)
	return &c
}

// Of returns an emitter for another namespace (a leading "/" is added when
// missing), with the same options and no rooms selected. (Node's of()
// falls back to the default options.)
func (e *Emitter) Of(nsp string) *Emitter {
	if !strings.HasPrefix(nsp, "/") {
		nsp = "/" + nsp
	}
	return &Emitter{db: e.db, opts: e.opts, nsp: nsp}
}

// To selects the sockets in any of rooms (added to those selected).
func (e *Emitter) To(rooms ...string) *Emitter {
	c := e.clone()
	for _, r := range rooms {
		if !slices.Contains(c.rooms, r) {
			c.rooms = append(c.rooms, r)
		}
	}
	return c
}

// In is To.
func (e *Emitter) In(rooms ...string) *Emitter { return e.To(rooms...) }

// Except excludes the sockets in rooms.
func (e *Emitter) Except(rooms ...string) *Emitter {
	c := e.clone()
	for _, r := range rooms {
		if !slices.Contains(c.except, r) {
			c.except = append(c.except, r)
		}
	}
	return c
}

// Volatile lets servers drop the event for clients not ready to receive it.
func (e *Emitter) Volatile() *Emitter {
	c := e.clone()
	c.volatile = true
	return c
}

// Compress sets the compress flag of the next events (false: sent without
// WebSocket compression).
func (e *Emitter) Compress(compress bool) *Emitter {
	c := e.clone()
	c.compress = &compress
	return c
}

// opts writes the selection as Node's emitter does: {rooms, flags,
// except} for broadcasts, {rooms, except} for the other commands.
func (e *Emitter) writeOpts(w *wire.Writer, withFlags bool) {
	w.Key("opts")
	w.BeginObject()
	w.Key("rooms")
	w.Strings(e.rooms)
	if withFlags {
		w.Key("flags")
		wire.Flags{Volatile: e.volatile, Compress: e.compress}.Write(w)
	}
	w.Key("except")
	w.Strings(e.except)
	w.EndObject()
}

// Emit sends an event to the selected sockets of every server.
func (e *Emitter) Emit(ctx context.Context, event string, args ...any) error {
	if sioparser.IsReservedEvent(event) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	if n := len(args); n > 0 && isFunc(args[n-1]) {
		return ErrAck
	}
	data, atts, err := ev.EncodeArgs(event, true, args)
	if err != nil {
		return err
	}
	return e.publish(ctx, wire.MsgBroadcast, func(w *wire.Writer) {
		w.Key("packet")
		w.BeginObject()
		w.Key("type")
		w.Int(int64(sioparser.Event))
		w.Key("data")
		w.Raw(data, atts)
		w.Key("nsp")
		w.String(e.nsp)
		w.EndObject()
		e.writeOpts(w, true)
	})
}

// SocketsJoin makes the selected sockets join rooms.
func (e *Emitter) SocketsJoin(ctx context.Context, rooms ...string) error {
	return e.roomsOp(ctx, wire.MsgSocketsJoin, rooms)
}

// SocketsLeave makes the selected sockets leave rooms.
func (e *Emitter) SocketsLeave(ctx context.Context, rooms ...string) error {
	return e.roomsOp(ctx, wire.MsgSocketsLeave, rooms)
}

func (e *Emitter) roomsOp(ctx context.Context, typ int, rooms []string) error {
	return e.publish(ctx, typ, func(w *wire.Writer) {
		e.writeOpts(w, false)
		w.Key("rooms")
		w.Strings(rooms)
	})
}

// DisconnectSockets disconnects the selected sockets; with close, their
// connections are closed too.
func (e *Emitter) DisconnectSockets(ctx context.Context, close bool) error {
	return e.publish(ctx, wire.MsgDisconnectSockets, func(w *wire.Writer) {
		e.writeOpts(w, false)
		w.Key("close")
		w.Bool(close)
	})
}

// ServerSideEmit sends an event to the namespace's server-side handlers on
// every server (Namespace.On in Go, namespace.on in Node). No
// acknowledgement can be asked for.
func (e *Emitter) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	if sioparser.IsReservedEvent(event) || event == "connection" || event == "new_namespace" {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	if n := len(args); n > 0 && isFunc(args[n-1]) {
		return ErrAck
	}
	data, atts, err := ev.EncodeArgs(event, true, args)
	if err != nil {
		return err
	}
	return e.publish(ctx, wire.MsgServerSideEmit, func(w *wire.Writer) {
		w.Key("packet")
		w.Raw(data, atts)
	})
}

// publish sends {type, data, uid: "emitter", nsp}.
func (e *Emitter) publish(ctx context.Context, typ int, data func(w *wire.Writer)) error {
	channel, err := pgnotify.Channel(e.opts.ChannelPrefix, e.nsp)
	if err != nil {
		return fmt.Errorf("postgresemitter: %w", err)
	}
	if err := pgnotify.CheckTable(e.opts.TableName); err != nil {
		return fmt.Errorf("postgresemitter: %w", err)
	}
	var w wire.Writer
	w.BeginObject()
	w.Key("type")
	w.Int(int64(typ))
	w.Key("data")
	w.BeginObject()
	data(&w)
	w.EndObject()
	w.Key("uid")
	w.String(wire.EmitterUID)
	w.Key("nsp")
	w.String(e.nsp)
	w.EndObject()
	js, atts, err := w.JSON()
	if err != nil {
		return fmt.Errorf("postgresemitter: %w", err)
	}
	b := &pgx.Batch{}
	if err := pgnotify.Queue(b, e.opts.TableName, e.opts.PayloadThreshold, pgnotify.Message{
		Channel: channel, UID: wire.EmitterUID, Type: typ, JSON: js, Atts: atts,
	}); err != nil {
		return fmt.Errorf("postgresemitter: %w", err)
	}
	if err := e.db.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("postgresemitter: notify %s: %w", channel, err)
	}
	return nil
}

func isFunc(v any) bool {
	if v == nil {
		return false
	}
	return reflect.TypeOf(v).Kind() == reflect.Func
}
