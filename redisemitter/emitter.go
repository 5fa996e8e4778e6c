// Package redisemitter sends Socket.IO events and commands to a cluster of
// servers on Redis from any Go process that is not itself a Socket.IO
// server: a worker, a cron job, a CLI. It speaks the protocol of Node's
// npm @socket.io/redis-emitter 5.x, so it reaches Node servers on
// @socket.io/redis-adapter and Go servers on redisadapter.New alike.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	e := redisemitter.New(rdb, nil)
//	err := e.To("room1").Emit(ctx, "news", map[string]any{"title": "hello"})
//	err = e.Of("/admin").SocketsJoin(ctx, "audit")
//
// Like Node's, the emitter publishes and never listens: it gets no
// acknowledgement, cannot fetch sockets or count servers, and servers on
// the sharded adapter (SPUBLISH) do not hear it. Arguments are encoded like
// the server's: Go values as JSON, []byte values (anywhere) as binary.
//
// An Emitter is immutable and safe for concurrent use: To, Except, Of and
// the flags return a new one.
package redisemitter

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	ev "github.com/socketio-go/socketio/internal/event"
	"github.com/socketio-go/socketio/redisadapter/wire"
	"github.com/socketio-go/socketio/sioparser"
)

// Options configure an Emitter.
type Options struct {
	// Key is the prefix of the Redis channels, "socket.io" by default: the
	// servers' adapter key.
	Key string
}

// Errors of Emit.
var (
	// ErrAck is returned for an Emit whose last argument is a function:
	// the emitter gets no acknowledgement, as in Node.
	ErrAck = errors.New("redisemitter: acknowledgements are not supported")
	// ErrReservedEvent is returned for an event name the protocol reserves.
	ErrReservedEvent = errors.New("redisemitter: reserved event name")
)

// Emitter publishes to one namespace, with a selection of rooms and flags.
type Emitter struct {
	client   redis.UniversalClient
	key      string
	nsp      string
	rooms    []string
	except   []string
	volatile bool
	compress *bool
}

// New returns an emitter for the main namespace "/". The client is not
// closed by the emitter.
func New(client redis.UniversalClient, opts *Options) *Emitter {
	key := wire.DefaultKey
	if opts != nil && opts.Key != "" {
		key = opts.Key
	}
	return &Emitter{client: client, key: key, nsp: "/"}
}

func (e *Emitter) clone() *Emitter {
	c := *e
	c.rooms = slices.Clone(e.rooms)
	c.except = slices.Clone(e.except)
	return &c
}

// Of returns an emitter for another namespace (a leading "/" is added when
// missing), with no rooms selected.
func (e *Emitter) Of(nsp string) *Emitter {
	if !strings.HasPrefix(nsp, "/") {
		nsp = "/" + nsp
	}
	return &Emitter{client: e.client, key: e.key, nsp: nsp}
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

// Compress sets the compress flag of the next events.
func (e *Emitter) Compress(compress bool) *Emitter {
	c := e.clone()
	c.compress = &compress
	return c
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
	payload, err := wire.EmitterBroadcast(e.nsp, data, atts, e.rooms, e.except,
		wire.Flags{Volatile: e.volatile, Compress: e.compress})
	if err != nil {
		return fmt.Errorf("redisemitter: %w", err)
	}
	return e.publish(ctx, wire.ClassicBroadcastChannel(e.key, e.nsp, e.rooms), payload)
}

// SocketsJoin makes the selected sockets join rooms.
func (e *Emitter) SocketsJoin(ctx context.Context, rooms ...string) error {
	return e.publish(ctx, wire.ClassicRequestChannel(e.key, e.nsp),
		wire.ClassicRoomsRequest("", wire.ReqRemoteJoin, e.rooms, e.except, rooms))
}

// SocketsLeave makes the selected sockets leave rooms.
func (e *Emitter) SocketsLeave(ctx context.Context, rooms ...string) error {
	return e.publish(ctx, wire.ClassicRequestChannel(e.key, e.nsp),
		wire.ClassicRoomsRequest("", wire.ReqRemoteLeave, e.rooms, e.except, rooms))
}

// DisconnectSockets disconnects the selected sockets; with close, their
// connections are closed too.
func (e *Emitter) DisconnectSockets(ctx context.Context, close bool) error {
	return e.publish(ctx, wire.ClassicRequestChannel(e.key, e.nsp),
		wire.ClassicDisconnectRequest("", e.rooms, e.except, close))
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
	payload, err := wire.ClassicServerSideEmit(wire.EmitterUID, "", data, atts)
	if err != nil {
		return fmt.Errorf("redisemitter: %w", err)
	}
	return e.publish(ctx, wire.ClassicRequestChannel(e.key, e.nsp), payload)
}

func (e *Emitter) publish(ctx context.Context, channel string, payload []byte) error {
	if err := e.client.Publish(ctx, channel, payload).Err(); err != nil {
		return fmt.Errorf("redisemitter: publish to %s: %w", channel, err)
	}
	return nil
}

func isFunc(v any) bool {
	if v == nil {
		return false
	}
	return reflect.TypeOf(v).Kind() == reflect.Func
}
