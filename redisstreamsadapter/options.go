package redisstreamsadapter

import (
	"log/slog"
	"strconv"
	"time"
	"unicode/utf16"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/internal/outbox"
)

// Options configure the adapter. The zero value of each field selects the
// default named in its comment, which is Node's default; the names follow
// Node's options.
type Options struct {
	// StreamName is the Redis stream, "socket.io" by default.
	StreamName string
	// StreamCount spreads the namespaces over that many streams,
	// "<StreamName>-<i>" (1 by default: one stream named StreamName).
	StreamCount int
	// ChannelPrefix is the prefix of the pub/sub channels of requests and
	// responses, "socket.io" by default.
	ChannelPrefix string
	// UseShardedPubSub uses SPUBLISH/SSUBSCRIBE (Redis 7) for them.
	UseShardedPubSub bool
	// MaxLen trims the stream (XADD MAXLEN ~), 10000 entries by default.
	MaxLen int64
	// ReadCount is the number of entries one XREAD returns at most, 100 by
	// default.
	ReadCount int64
	// BlockTime is how long one XREAD waits for entries, 5 s by default
	// (Node's blockTimeInMs); Close waits as long at most with a Redis
	// Cluster client (a plain client's read is interrupted at once).
	BlockTime time.Duration
	// SessionKeyPrefix starts the keys of the sessions kept for connection
	// state recovery, "sio:session:" by default.
	SessionKeyPrefix string
	// OnlyPlaintext writes stream entries as JSON only; binary values then
	// travel as base64 strings (Node writes {"type":"Buffer","data":[...]}).
	OnlyPlaintext bool
	// RequestsTimeout bounds the wait for the other servers' answers to
	// FetchSockets and ServerSideEmitWithAck, and how long a broadcast with
	// acknowledgements without Timeout collects them. Default 5 seconds.
	RequestsTimeout time.Duration
	// Outbox bounds what waits for Redis while it cannot be reached (16 MiB
	// and 30 s per namespace by default); see adapter.OutboxOptions.
	Outbox adapter.OutboxOptions
	// Logger receives the adapter's logs. Default slog.Default().
	Logger *slog.Logger
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.StreamName == "" {
		r.StreamName = "socket.io"
	}
	if r.StreamCount <= 0 {
		r.StreamCount = 1
	}
	if r.ChannelPrefix == "" {
		r.ChannelPrefix = "socket.io"
	}
	if r.MaxLen <= 0 {
		r.MaxLen = 10000
	}
	if r.ReadCount <= 0 {
		r.ReadCount = 100
	}
	if r.BlockTime <= 0 {
		r.BlockTime = 5 * time.Second
	}
	if r.SessionKeyPrefix == "" {
		r.SessionKeyPrefix = "sio:session:"
	}
	if r.RequestsTimeout <= 0 {
		r.RequestsTimeout = 5 * time.Second
	}
	r.Outbox = outbox.WithDefaults(r.Outbox)
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	return r
}

// streamFor is the stream of a namespace: StreamName, or with StreamCount
// > 1 "<StreamName>-<hashCode(nsp) % StreamCount>", with Node's hashCode
// (Java's, over UTF-16 code units, in int32) and JavaScript's remainder,
// which keeps the dividend's sign: "/notifications" maps to "socket.io--2"
// with 3 streams, as in Node.
func streamFor(nsp string, o *Options) string {
	if o.StreamCount <= 1 {
		return o.StreamName
	}
	var h int32
	for _, c := range utf16.Encode([]rune(nsp)) {
		h = h*31 + int32(c)
	}
	return o.StreamName + "-" + strconv.Itoa(int(h%int32(o.StreamCount)))
}
