package redisadapter

import (
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/internal/outbox"
	"github.com/socketio-go/socketio/redisadapter/wire"
)

// Options configure the adapters. The zero value of each field selects the
// default named in its comment, which is the Node adapter's default.
type Options struct {
	// Key is the prefix of the Redis channels, "socket.io" by default
	// (Node's key option, channelPrefix for the sharded adapter). Servers
	// of one cluster must use the same.
	Key string
	// RequestsTimeout bounds the wait for the other servers' answers to
	// FetchSockets, SocketIDs, AllRooms and ServerSideEmitWithAck (the
	// context can shorten it), and how long the answers to a broadcast
	// with acknowledgements are collected when it has no Timeout. Default
	// 5 seconds.
	RequestsTimeout time.Duration
	// PublishOnSpecificResponseChannel makes this server answer requests
	// on the requester's own channel, "<key>-response#<nsp>#<uid>#",
	// rather than the channel every server reads (classic adapter only;
	// every server, Go or Node, listens on both).
	PublishOnSpecificResponseChannel bool
	// SubscriptionMode selects the channels of the sharded adapter:
	// Dynamic (the default) adds a channel per public room, Static uses two
	// per namespace, DynamicPrivate adds one per room, socket-id rooms too.
	// Servers of one cluster should use the same mode.
	SubscriptionMode SubscriptionMode
	// Outbox bounds what waits for Redis while it cannot be reached:
	// broadcasts, SocketsJoin/SocketsLeave, DisconnectSockets and
	// ServerSideEmit without acknowledgement are kept (16 MiB and 30 s per
	// namespace by default) and published in order once Redis and the other
	// servers are back. Node's adapter keeps them without bound.
	Outbox adapter.OutboxOptions
	// Logger receives the adapter's logs (lost and restored subscriptions,
	// failed responses). Default slog.Default().
	Logger *slog.Logger
}

// SubscriptionMode is the subscriptionMode option of Node's sharded
// adapter.
type SubscriptionMode string

// The subscription modes.
const (
	Dynamic        SubscriptionMode = "dynamic"
	Static         SubscriptionMode = "static"
	DynamicPrivate SubscriptionMode = "dynamic-private"
)

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.Key == "" {
		r.Key = wire.DefaultKey
	}
	if r.RequestsTimeout <= 0 {
		r.RequestsTimeout = 5 * time.Second
	}
	if r.SubscriptionMode == "" {
		r.SubscriptionMode = Dynamic
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	r.Outbox = outbox.WithDefaults(r.Outbox)
	return r
}

// New returns the factory of the classic Redis adapter (PUBLISH and
// PSUBSCRIBE/SUBSCRIBE), wire-compatible with Node's createAdapter of
// npm @socket.io/redis-adapter 8.x and reachable by the Node and Go
// emitters:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	srv := socketio.NewServer(&socketio.Options{Adapter: redisadapter.New(rdb, nil)})
//
// client publishes and runs the cluster's requests; each namespace adapter
// also opens one subscriber connection of its own through it. The client
// is not closed by the adapters.
func New(client redis.UniversalClient, opts *Options) func(adapter.Namespace) adapter.Adapter {
	o := opts.withDefaults()
	return func(nsp adapter.Namespace) adapter.Adapter { return newAdapter(nsp, client, o, false) }
}

// NewSharded returns the factory of the sharded Redis adapter (SPUBLISH and
// SSUBSCRIBE, Redis 7 or later), wire-compatible with Node's
// createShardedAdapter of npm @socket.io/redis-adapter 8.x. Emitters, which
// speak only the classic protocol, cannot reach it.
func NewSharded(client redis.UniversalClient, opts *Options) func(adapter.Namespace) adapter.Adapter {
	o := opts.withDefaults()
	return func(nsp adapter.Namespace) adapter.Adapter { return newAdapter(nsp, client, o, true) }
}
