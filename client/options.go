package client

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/sioparser"
)

// Options configure a Manager and its Sockets. The zero value of every
// field selects the default named in its comment, which is the default of
// the JavaScript client.
type Options struct {
	// Path is the server's Socket.IO endpoint. Default "/socket.io".
	Path string
	// Transports lists the transports to use, among "polling" and
	// "websocket": the connection opens on the first and upgrades to
	// WebSocket when it is listed later. Default polling then websocket.
	Transports []string
	// DisableUpgrade keeps the connection on its first transport.
	DisableUpgrade bool
	// Query holds extra query parameters of the Engine.IO requests (added
	// to those of the URL).
	Query url.Values
	// Header holds extra header fields of every HTTP request and of the
	// WebSocket handshake (extraHeaders).
	Header http.Header

	// Auth is sent with each namespace connection request: a value that
	// encodes to a JSON object (a map or a struct), or a func() any called
	// before every connection and reconnection (for a fresh token).
	// Socket.SetAuth changes it for one Socket.
	Auth any
	// Retries, when positive, sends emits through a queue, one at a time,
	// each re-sent until acknowledged or sent Retries+1 times; an emit's
	// acknowledgement callback, if any, runs once (with ErrTimeout after
	// the last try). Use it with AckTimeout.
	Retries int
	// AckTimeout is the default acknowledgement timeout of emits that ask
	// for one (see Socket.Timeout). Default: none.
	AckTimeout time.Duration

	// DisableReconnection turns automatic reconnection off.
	DisableReconnection bool
	// ReconnectionAttempts bounds consecutive reconnection attempts; 0
	// means no bound.
	ReconnectionAttempts int
	// ReconnectionDelay is the delay before the first attempt, doubled at
	// each attempt. Default 1s.
	ReconnectionDelay time.Duration
	// ReconnectionDelayMax caps the delay. Default 5s.
	ReconnectionDelayMax time.Duration
	// RandomizationFactor spreads delays by up to this fraction, in
	// [0, 1]. Default 0.5; a negative value means 0.
	RandomizationFactor float64
	// Timeout bounds one attempt to open the Engine.IO connection.
	// Default 20s; a negative value means no bound.
	Timeout time.Duration
	// ForceNew gives the socket a Manager (a connection) of its own
	// instead of sharing the one cached for the same server.
	ForceNew bool

	// Parser encodes and decodes the packets (the JavaScript client's
	// parser option): nil for the default parser (JSON, with binary values
	// as attachments), or the one the server uses, such as
	// msgpackparser.New().
	Parser sioparser.Parser

	// TLSConfig is used for https:// and wss:// URLs.
	TLSConfig *tls.Config
	// PerMessageDeflate, when set, offers WebSocket compression
	// (permessage-deflate) to the server, which may decline it. Off by
	// default.
	PerMessageDeflate *engineio.DeflateOptions
	// HTTPClient sends the long-polling requests; its Jar, if any, also
	// gives the WebSocket handshake its cookies. Default: a client owned by
	// each connection.
	HTTPClient *http.Client
	// Logger receives debug logs and handler errors. Default
	// slog.Default().
	Logger *slog.Logger
}

// SocketOptions are the per-namespace options of Manager.Socket; see the
// fields of the same names in Options, and Manager.Socket for a namespace
// that already has its Socket.
type SocketOptions struct {
	Auth       any
	Retries    int
	AckTimeout time.Duration
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.Path == "" {
		r.Path = "/socket.io"
	}
	if r.ReconnectionDelay <= 0 {
		r.ReconnectionDelay = time.Second
	}
	if r.ReconnectionDelayMax <= 0 {
		r.ReconnectionDelayMax = 5 * time.Second
	}
	switch {
	case r.RandomizationFactor == 0:
		r.RandomizationFactor = 0.5
	case r.RandomizationFactor < 0:
		r.RandomizationFactor = 0
	case r.RandomizationFactor > 1:
		r.RandomizationFactor = 1
	}
	if r.Timeout == 0 {
		r.Timeout = 20 * time.Second
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	return r
}
