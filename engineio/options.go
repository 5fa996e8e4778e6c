package engineio

import (
	"log/slog"
	"net/http"
	"time"
)

// Transport names.
const (
	Polling   = "polling"
	WebSocket = "websocket"
)

// Options configure a Server. The zero value of every field selects the
// default named in its comment, which is also the Node.js engine.io default.
type Options struct {
	// PingInterval is how often the server sends a ping. Default 25s.
	PingInterval time.Duration
	// PingTimeout is how long the server waits for the pong before it closes
	// the session with reason "ping timeout". Default 20s.
	PingTimeout time.Duration
	// UpgradeTimeout bounds a transport upgrade. Default 10s.
	UpgradeTimeout time.Duration
	// MaxHTTPBufferSize is the largest message or long-polling request body
	// accepted, in bytes; it is announced to clients as maxPayload.
	// Default 1e6.
	MaxHTTPBufferSize int64
	// Transports lists the allowed transports, among "polling" and
	// "websocket". Default both.
	Transports []string
	// KeepRequestContext keeps the handshake request's context values (not
	// its cancellation) for Conn.Request, for handlers that need what an
	// HTTP middleware stored there. Off by default: it keeps the HTTP
	// connection's context chain alive as long as the session.
	KeepRequestContext bool
	// DisablePoller reads every WebSocket with a goroutine of its own
	// instead of the shared epoll poller (Linux), which lets idle
	// connections hold no goroutine. TLS connections always use a
	// goroutine.
	DisablePoller bool
	// DisableUpgrades turns off upgrades from long-polling to WebSocket
	// (Node's allowUpgrades: false).
	DisableUpgrades bool
	// AllowRequest, when set, is called for every handshake; a non-nil error
	// rejects it with HTTP 403 and the error's text as message.
	AllowRequest func(r *http.Request) error
	// CORS, when set, adds CORS headers and answers preflight requests.
	CORS *CORSOptions
	// Cookie, when set, sends a cookie holding the session id with the
	// handshake response.
	Cookie *CookieOptions
	// InitialHeaders is called with the response headers of each handshake
	// request, before they are written.
	InitialHeaders func(h http.Header, r *http.Request)
	// Headers is called with the response headers of every request.
	Headers func(h http.Header, r *http.Request)
	// HTTPCompression sets how long-polling responses are compressed.
	// Default: gzip or deflate, as the client accepts, from 1024 bytes.
	HTTPCompression *CompressionOptions
	// InitialPacket, when set, is sent as a message right after the open
	// packet.
	InitialPacket []byte
	// MaxBufferedBytes bounds the data queued for one connection. A
	// connection over the bound is closed with reason "transport error" and
	// ErrSlowConsumer; volatile messages are dropped before that. A single
	// message larger than the bound is accepted on an empty queue.
	// Default 4 MiB.
	MaxBufferedBytes int
	// WriteTimeout bounds one WebSocket write. Default PingInterval +
	// PingTimeout.
	WriteTimeout time.Duration
	// GenerateID makes session ids. Default: 20 characters of base64url from
	// 15 random bytes, like Node's.
	GenerateID func(r *http.Request) (string, error)
	// Logger receives debug and error logs. Default slog.Default().
	Logger *slog.Logger
}

// CompressionOptions configure the compression of long-polling responses.
type CompressionOptions struct {
	// Disable turns compression off.
	Disable bool
	// Threshold is the smallest response compressed, in bytes. Default 1024.
	Threshold int
}

// CookieOptions describe the session cookie (Node's cookie option).
type CookieOptions struct {
	Name     string        // default "io"
	Path     string        // default "/"
	HTTPOnly *bool         // default true
	SameSite http.SameSite // default Lax
	Secure   bool
	Domain   string
	MaxAge   int // seconds; 0 = session cookie
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.PingInterval <= 0 {
		r.PingInterval = 25 * time.Second
	}
	if r.PingTimeout <= 0 {
		r.PingTimeout = 20 * time.Second
	}
	if r.UpgradeTimeout <= 0 {
		r.UpgradeTimeout = 10 * time.Second
	}
	if r.MaxHTTPBufferSize <= 0 {
		r.MaxHTTPBufferSize = 1e6
	}
	if len(r.Transports) == 0 {
		r.Transports = []string{Polling, WebSocket}
	}
	if r.MaxBufferedBytes <= 0 {
		r.MaxBufferedBytes = 4 << 20
	}
	if r.WriteTimeout <= 0 {
		r.WriteTimeout = r.PingInterval + r.PingTimeout
	}
	if r.HTTPCompression == nil {
		r.HTTPCompression = &CompressionOptions{}
	}
	if r.HTTPCompression.Threshold <= 0 {
		c := *r.HTTPCompression
		c.Threshold = 1024
		r.HTTPCompression = &c
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	if r.Cookie != nil {
		c := *r.Cookie
		if c.Name == "" {
			c.Name = "io"
		}
		if c.Path == "" {
			c.Path = "/"
		}
		if c.SameSite == 0 {
			c.SameSite = http.SameSiteLaxMode
		}
		r.Cookie = &c
	}
	return r
}

func (o *Options) allows(transport string) bool {
	for _, t := range o.Transports {
		if t == transport {
			return true
		}
	}
	return false
}

func (o *Options) cookieHeader(sid string) string {
	c := o.Cookie
	cookie := http.Cookie{
		Name:     c.Name,
		Value:    sid,
		Path:     c.Path,
		Domain:   c.Domain,
		MaxAge:   c.MaxAge,
		Secure:   c.Secure,
		HttpOnly: c.HTTPOnly == nil || *c.HTTPOnly,
		SameSite: c.SameSite,
	}
	return cookie.String()
}
