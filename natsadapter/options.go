package natsadapter

import (
	"log/slog"
	"strings"
	"time"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/internal/outbox"
)

// Options configure the adapter. The zero value of each field selects the
// default named in its comment.
type Options struct {
	// SubjectPrefix starts every subject, "socketio" by default: a
	// namespace's messages go to "<SubjectPrefix>.js.<namespace>" (the
	// stream) and "<SubjectPrefix>.ps.<namespace>" (plain NATS).
	SubjectPrefix string
	// Stream is the JetStream stream that keeps broadcasts, joins and
	// leaves, disconnections and server-side events: SubjectPrefix with
	// '.' and other characters streams cannot have written '_' by default
	// ("socketio"). It is created (or updated) by Init, on file storage,
	// with the subjects "<SubjectPrefix>.js.>": give each SubjectPrefix its
	// own stream.
	Stream string
	// SessionBucket is the JetStream key-value bucket that keeps the
	// sessions of disconnected sockets for connection state recovery across
	// servers, "<Stream>_sessions" by default; created by Init when
	// recovery is on, its entries last MaxDisconnectionDuration.
	SessionBucket string
	// StreamMaxAge and StreamMaxBytes bound what the stream keeps: how
	// long a server may be cut off and still read what it missed. 2
	// minutes and 64 MiB by default.
	StreamMaxAge   time.Duration
	StreamMaxBytes int64
	// HeartbeatInterval is how long after its last message a server sends
	// a heartbeat, 5 s by default; HeartbeatTimeout is how long a silent
	// server counts, 10 s by default.
	HeartbeatInterval time.Duration
	HeartbeatTimeout  time.Duration
	// RequestsTimeout bounds the wait for the other servers' answers to
	// FetchSockets and ServerSideEmitWithAck, and how long a broadcast with
	// acknowledgements without Timeout collects them. Default 5 seconds.
	RequestsTimeout time.Duration
	// Outbox bounds what waits for NATS while it cannot be reached (16
	// MiB and 30 s per namespace by default); see adapter.OutboxOptions.
	Outbox adapter.OutboxOptions
	// Logger receives the adapter's logs. Default slog.Default().
	Logger *slog.Logger
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.SubjectPrefix == "" {
		r.SubjectPrefix = "socketio"
	}
	if r.Stream == "" {
		r.Stream = strings.Map(func(c rune) rune {
			if c <= ' ' || strings.ContainsRune(`.*>/\`, c) || c == 0x7f {
				return '_'
			}
			return c
		}, r.SubjectPrefix)
	}
	if r.SessionBucket == "" {
		r.SessionBucket = r.Stream + "_sessions"
	}
	if r.StreamMaxAge <= 0 {
		r.StreamMaxAge = 2 * time.Minute
	}
	if r.StreamMaxBytes <= 0 {
		r.StreamMaxBytes = 64 << 20
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

// token turns a namespace into one subject token: bytes NATS gives a
// meaning to ('.', '*', '>', white space, '%' itself and control
// characters) become %XX.
func token(nsp string) string {
	var b strings.Builder
	for i := 0; i < len(nsp); i++ {
		c := nsp[i]
		if c <= ' ' || c == '.' || c == '*' || c == '>' || c == '%' || c == 0x7f {
			b.WriteByte('%')
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
