package postgresadapter

import (
	"log/slog"
	"time"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/internal/outbox"
	"github.com/socketio-go/socketio/internal/pgnotify"
)

// Options configure the adapter. The zero value of each field selects the
// default named in its comment, which is Node's default; the names follow
// Node's options.
type Options struct {
	// ChannelPrefix starts the channel of each namespace,
	// "<ChannelPrefix>#<namespace>"; "socket.io" by default. A channel has
	// at most 63 bytes (PostgreSQL's limit on identifiers): with the
	// default prefix, namespaces of up to 53 bytes.
	ChannelPrefix string
	// TableName is the attachments table, "socket_io_attachments" by
	// default. It is created (if missing) by Init.
	TableName string
	// PayloadThreshold: messages whose JSON has this many bytes or more go
	// through the attachments table; 8000 by default, which is also the
	// most NOTIFY accepts minus one.
	PayloadThreshold int
	// CleanupInterval is how often attachments older than it are deleted;
	// 30 s by default.
	CleanupInterval time.Duration
	// HeartbeatInterval is how long after its last message a server sends
	// a heartbeat, 5 s by default; HeartbeatTimeout is how long a silent
	// server counts, 10 s by default.
	HeartbeatInterval time.Duration
	HeartbeatTimeout  time.Duration
	// RequestsTimeout bounds the wait for the other servers' answers to
	// FetchSockets and ServerSideEmitWithAck, and how long a broadcast with
	// acknowledgements without Timeout collects them. Default 5 seconds.
	RequestsTimeout time.Duration
	// Outbox bounds what waits for PostgreSQL while it cannot be reached
	// (16 MiB and 30 s per namespace by default); see adapter.OutboxOptions.
	Outbox adapter.OutboxOptions
	// Logger receives the adapter's logs. Default slog.Default().
	Logger *slog.Logger
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.ChannelPrefix == "" {
		r.ChannelPrefix = pgnotify.DefaultPrefix
	}
	if r.TableName == "" {
		r.TableName = pgnotify.DefaultTable
	}
	if r.PayloadThreshold <= 0 || r.PayloadThreshold > pgnotify.MaxPayload {
		r.PayloadThreshold = pgnotify.MaxPayload
	}
	if r.CleanupInterval <= 0 {
		r.CleanupInterval = 30 * time.Second
	}
	if r.HeartbeatInterval <= 0 {
		r.HeartbeatInterval = 5 * time.Second
	}
	if r.HeartbeatTimeout <= 0 {
		r.HeartbeatTimeout = 10 * time.Second
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
