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
	// WebTransport sessions come through package webtransport (HTTP/3),
	// not through ServeHTTP.
	WebTransport = "webtransport"
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
	// Transports lists the allowed transports, among "polling",
	// "websocket" and "webtransport". Default the first two. As in Node,
	// WebTransport must be listed to be used (it also needs package
	// webtransport's HTTP/3 server); long-polling sessions then offer it
	// as an upgrade.
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
	// AllowEIO3 accepts clients of Engine.IO protocol v3 (Socket.IO 2.x
	// clients), as Node's allowEIO3 does. Off by default: a handshake of
	// another protocol than v4 is refused with "Unsupported protocol
	// version". A request without EIO, or with any value but "4", is v3.
	AllowEIO3 bool
	// DisableUpgrades turns off upgrades from long-polling to WebSocket
	// (Node's allowUpgrades: false).
	DisableUpgrades bool
	// AllowRequest, when set, is called for every handshake; a non-nil error
	// rejects it with HTTP 403 and the error's text as message.
	AllowRequest func(r *http.Request) error
	// CORS, when set, adds CORS headers and answers preflight requests.
	// Unless its Origins hold "*", it also guards WebSocket requests
	// (handshakes and upgrades), which browsers do not subject to CORS: a
	// request whose Origin header is neither allowed by Origins or
	// AllowOrigin nor the server's own host is refused with HTTP 403.
	// Requests without an Origin header (not from a browser) are allowed.
	CORS *CORSOptions
	// CheckOrigin, when set, decides for every WebSocket request
	// (handshake or upgrade) whether it may proceed, instead of CORS's
	// origins; false refuses it with HTTP 403. When neither CheckOrigin
	// nor CORS is set, every origin is accepted, as Node does: a page of
	// any site can then open a WebSocket to the server with its user's
	// cookies. When cookies (or other credentials the browser adds)
	// authenticate users, set CORS.Origins or CheckOrigin.
	CheckOrigin func(r *http.Request) bool
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
	// PerMessageDeflate, when set, compresses WebSocket messages
	// (permessage-deflate) with clients that offer it, as browsers and
	// the Node client do. Off by default, as in Node.
	PerMessageDeflate *DeflateOptions
	// InitialPacket, when set, is sent as a message right after the open
	// packet.
	InitialPacket []byte
	// MaxBufferedBytes bounds the data queued for one connection. A
	// connection over the bound is closed with reason "transport error" and
	// ErrSlowConsumer; volatile messages are dropped before that. A single
	// message larger than the bound is accepted on an empty queue.
	// Default 4 MiB.
	MaxBufferedBytes int
	// WriteTimeout bounds one WebSocket write, and the writing of each
	// long-polling response (a session whose payload could not be written
	// in time ends with reason "transport error"). Default PingInterval +
	// PingTimeout.
	WriteTimeout time.Duration
	// MaxRequestHeaderBytes bounds the request header a handshake (long-
	// polling or WebSocket) or a WebSocket upgrade may carry, counted as
	// the request URI and host plus the header names and values: a session
	// keeps its handshake's header for as long as it lives. Over it the
	// request is answered HTTP 431 Request Header Fields Too Large and no
	// session is created. Default 16384 (16 KB), Node's limit; negative for
	// none (the http.Server's MaxHeaderBytes, 1 MB by default, still
	// applies).
	MaxRequestHeaderBytes int
	// GenerateID makes session ids. Default: 20 characters of base64url from
	// 15 random bytes, like Node's.
	GenerateID func(r *http.Request) (string, error)
	// Logger receives debug and error logs. Default slog.Default().
	Logger *slog.Logger
	// Observer, when set, is told about sessions and their traffic, for
	// metrics (see Observer; Server.AddObserver adds more).
	Observer Observer
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
	if r.MaxRequestHeaderBytes == 0 {
		r.MaxRequestHeaderBytes = 16 << 10
	}
	if r.HTTPCompression == nil {
		r.HTTPCompression = &CompressionOptions{}
	}
	r.PerMessageDeflate, _ = r.PerMessageDeflate.withDefaults()
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

// cookieHeader returns the session cookie; over TLS it is Secure whatever
// the options say, since the page that will send it back uses TLS too.
func (o *Options) cookieHeader(sid string, tls bool) string {
	c := o.Cookie
	cookie := http.Cookie{
		Name:     c.Name,
		Value:    sid,
		Path:     c.Path,
		Domain:   c.Domain,
		MaxAge:   c.MaxAge,
		Secure:   c.Secure || tls,
		HttpOnly: c.HTTPOnly == nil || *c.HTTPOnly,
		SameSite: c.SameSite,
	}
	return cookie.String()
}
