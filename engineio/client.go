package engineio

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socketio-go/socketio/eioparser"
	"github.com/socketio-go/socketio/internal/websocket"
)

// This file is the client side of Engine.IO v4: Dial opens a session over
// long-polling or WebSocket and, by default, upgrades a long-polling session
// to WebSocket, as the reference client (npm engine.io-client) does.

// DialOptions configure Dial. The zero value of every field selects the
// default named in its comment, which is the engine.io-client default.
type DialOptions struct {
	// Path is the Engine.IO endpoint on the server. Default "/engine.io";
	// a trailing slash is added, as the reference client does.
	Path string
	// Transports lists the transports to use, among "polling" and
	// "websocket". The session opens on the first one and may upgrade to
	// WebSocket when it is listed later. Default polling then websocket.
	Transports []string
	// DisableUpgrade keeps the session on its first transport (the
	// reference client's upgrade: false).
	DisableUpgrade bool
	// Query holds extra query parameters sent with every request, added to
	// those of the URL given to Dial.
	Query url.Values
	// Header holds extra header fields sent with every HTTP request and
	// with the WebSocket handshake (the reference client's extraHeaders).
	Header http.Header
	// HTTPClient sends the long-polling requests. Default: a client owned
	// by the connection (its idle connections are closed with it) that
	// uses TLSConfig and NetDial. Its Jar, if any, also supplies the
	// cookies of the WebSocket handshake (sticky sessions).
	HTTPClient *http.Client
	// TLSConfig is used for https:// and wss:// URLs. Default: the system
	// configuration.
	TLSConfig *tls.Config
	// NetDial opens TCP connections. Default: a net.Dialer.
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)
	// MaxMessageSize bounds one received WebSocket message or long-polling
	// response, in bytes. Default 100 MiB (as Node's ws).
	MaxMessageSize int64
	// PerMessageDeflate, when set, offers WebSocket compression
	// (permessage-deflate) to the server, which may decline it; a server
	// answer that RFC 7692 does not allow fails the WebSocket handshake.
	// Off by default (the JavaScript client in Node offers it; the
	// browser decides for itself).
	PerMessageDeflate *DeflateOptions
	// Logger receives debug logs. Default slog.Default().
	Logger *slog.Logger

	// OnMessage receives each message from the server, in order, one at a
	// time, on the goroutine reading the transport. The data belongs to
	// the callee. A callback that blocks delays the session's reading,
	// and so its heartbeat.
	OnMessage func(data []byte, binary bool)
	// OnClose is called once when the session ends, with the reason
	// ("transport close", "transport error", "ping timeout", "forced
	// close") and, where there is one, the error behind it. No OnMessage
	// call starts after OnClose has started.
	OnClose func(reason string, err error)
	// OnUpgrade is called when the session has moved to another transport.
	OnUpgrade func(transport string)
	// OnPing is called for each ping of the server, after the pong is
	// queued, on the goroutine reading the transport: it must not block.
	OnPing func()
}

// DialError tells why Dial could not open a session.
type DialError struct {
	// Transport is the transport of the failed attempt.
	Transport string
	// StatusCode is the HTTP status of the server's answer; 0 when none
	// came (network error, timeout).
	StatusCode int
	// Message is the server's explanation (the "message" of an Engine.IO
	// error body) or a description of what was wrong with its answer.
	Message string
	// Err is the underlying error, if any.
	Err error
}

func (e *DialError) Error() string {
	var b strings.Builder
	b.WriteString("engineio: ")
	b.WriteString(e.Transport)
	b.WriteString(" handshake failed")
	if e.StatusCode != 0 {
		b.WriteString(": HTTP ")
		b.WriteString(strconv.Itoa(e.StatusCode))
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *DialError) Unwrap() error { return e.Err }

// clientDefaultMaxMessage is Node ws's default maxPayload.
const clientDefaultMaxMessage = 100 << 20

// clientGraceTimeout bounds the graceful part of Close (writing what is
// queued and the close packet) and the steps of an upgrade.
const (
	clientGraceTimeout   = 3 * time.Second
	clientUpgradeTimeout = 10 * time.Second
)

type clientState uint8

const (
	clientOpen    clientState = iota
	clientClosing             // Close was called: write what is queued, then close
	clientClosed
)

// ClientConn is the client side of one Engine.IO session.
//
// Concurrency: Send, Close and the accessors are safe to call from any
// goroutine; Send never blocks on the network. Messages reach
// DialOptions.OnMessage one at a time, in order, on the goroutine reading
// the current transport. Callbacks must not call Close and then wait for
// Done (Done waits for that goroutine).
//
// Goroutines: one reads the current transport (a long-polling GET loop or a
// WebSocket reader); a writer runs only while something is queued; an
// upgrade runs once, right after a long-polling handshake.
type ClientConn struct {
	opts      DialOptions // callbacks and settings; read-only after Dial
	log       *slog.Logger
	httpc     *http.Client
	ownHTTP   *http.Transport // non-nil when httpc is ours, to close its idle connections
	pollURL   string          // http(s)://host/path/ (no query)
	wsURL     string          // ws(s)://host/path/ (no query)
	query     url.Values      // user query parameters
	ctx       context.Context // cancelled when the session ends; bounds every request
	cancel    context.CancelFunc
	pending   []eioparser.Packet // packets that came with the handshake; owned by the first reader
	recvMu    sync.Mutex         // serialises delivery of received messages
	done      chan struct{}      // closed once the session ended and its goroutines exited
	stampSeed string

	// Handshake data, written by Dial and read-only afterwards.
	sid          string
	upgrades     []string
	pingInterval time.Duration
	pingTimeout  time.Duration
	maxPayload   int64

	mu        sync.Mutex
	state     clientState     // guarded by mu
	transport string          // guarded by mu
	ws        *websocket.Conn // guarded by mu; the WebSocket in use, once upgraded or opened on it
	probeWS   *websocket.Conn // guarded by mu; the WebSocket being probed
	queue     []*Message      // guarded by mu; packets waiting for the writer
	writing   bool            // guarded by mu; the writer goroutine runs
	polling   bool            // guarded by mu; the long-polling reader runs
	pausing   bool            // guarded by mu; an upgrade waits for polling to go idle
	pauseKick chan struct{}   // guarded by mu; 1-buffered, signalled when polling or writing stops
	pingDue   time.Time       // guarded by mu; when the session is considered dead without a ping
	pingTimer *time.Timer     // guarded by mu
	graceTmr  *time.Timer     // guarded by mu; bounds a graceful close
	running   int             // guarded by mu; goroutines started by the conn and not yet ended
	closedCB  bool            // guarded by mu; OnClose has returned
}

// clientStamps makes the "t" query parameter unique per request.
var clientStamps atomic.Uint64

// Dial opens an Engine.IO session with the server at rawURL (http, https,
// ws or wss; the URL's path is ignored, its query is kept) and returns when
// the server's handshake has been received. ctx bounds the handshake only.
//
// A long-polling session is upgraded to WebSocket in the background when
// the server offers it, WebSocket is among opts.Transports and
// DisableUpgrade is not set. The callbacks in opts receive everything that
// arrives once the handshake is done, possibly before Dial returns.
func Dial(ctx context.Context, rawURL string, opts *DialOptions) (*ClientConn, error) {
	var o DialOptions
	if opts != nil {
		o = *opts
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("engineio: invalid URL: %w", err)
	}
	var secure bool
	switch strings.ToLower(u.Scheme) {
	case "http", "ws":
	case "https", "wss":
		secure = true
	default:
		return nil, fmt.Errorf("engineio: unsupported URL scheme %q (want http, https, ws or wss)", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("engineio: URL has no host")
	}
	if len(o.Transports) == 0 {
		o.Transports = []string{Polling, WebSocket}
	}
	for _, t := range o.Transports {
		if t != Polling && t != WebSocket {
			return nil, fmt.Errorf("engineio: unknown transport %q", t)
		}
	}
	if o.Path == "" {
		o.Path = "/engine.io"
	}
	path := strings.TrimRight(o.Path, "/") + "/"
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = clientDefaultMaxMessage
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	query := url.Values{}
	for k, vs := range u.Query() {
		query[k] = append([]string(nil), vs...)
	}
	for k, vs := range o.Query {
		query[k] = append([]string(nil), vs...)
	}
	httpScheme, wsScheme := "http", "ws"
	if secure {
		httpScheme, wsScheme = "https", "wss"
	}
	hostPath := (&url.URL{Host: u.Host, Path: path}).String() // "//host/path/"
	c := &ClientConn{
		opts:      o,
		log:       o.Logger,
		pollURL:   httpScheme + ":" + hostPath,
		wsURL:     wsScheme + ":" + hostPath,
		query:     query,
		done:      make(chan struct{}),
		pauseKick: make(chan struct{}, 1),
		stampSeed: strconv.FormatInt(time.Now().UnixNano()%(1<<30), 36),
	}
	c.httpc = o.HTTPClient
	if c.httpc == nil {
		dial := o.NetDial
		if dial == nil {
			d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
			dial = d.DialContext
		}
		c.ownHTTP = &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         dial,
			TLSClientConfig:     o.TLSConfig,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     90 * time.Second,
		}
		c.httpc = &http.Client{Transport: c.ownHTTP}
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())

	first := o.Transports[0]
	c.transport = first
	var ws *websocket.Conn
	if first == Polling {
		err = c.handshakePolling(ctx)
	} else {
		ws, err = c.handshakeWebSocket(ctx)
	}
	if err != nil {
		c.cancel()
		if c.ownHTTP != nil {
			c.ownHTTP.CloseIdleConnections()
		}
		return nil, err
	}

	c.mu.Lock()
	c.pingDue = time.Now().Add(c.pingInterval + c.pingTimeout)
	c.pingTimer = time.AfterFunc(c.pingInterval+c.pingTimeout, c.onPingTimer)
	if ws != nil {
		c.ws = ws
		c.goLocked(func() { c.readWebSocket(ws) })
	} else {
		c.polling = true
		c.goLocked(c.pollLoop)
		if !o.DisableUpgrade && c.offers(WebSocket) {
			c.goLocked(c.upgrade)
		}
	}
	c.mu.Unlock()
	c.log.Debug("engineio: client session open", "sid", c.sid, "transport", first)
	return c, nil
}

// offers reports whether transport t is both allowed locally and offered
// by the server as an upgrade.
func (c *ClientConn) offers(t string) bool {
	allowed := false
	for _, x := range c.opts.Transports {
		allowed = allowed || x == t
	}
	if !allowed {
		return false
	}
	for _, x := range c.upgrades {
		if x == t {
			return true
		}
	}
	return false
}

// ID returns the session id given by the server.
func (c *ClientConn) ID() string { return c.sid }

// Transport returns the transport in use: "polling" or "websocket".
func (c *ClientConn) Transport() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.transport
}

// PingInterval and PingTimeout return the heartbeat settings the server
// announced; MaxPayload the largest long-polling body it accepts.
func (c *ClientConn) PingInterval() time.Duration { return c.pingInterval }

// PingTimeout returns the heartbeat timeout the server announced.
func (c *ClientConn) PingTimeout() time.Duration { return c.pingTimeout }

// MaxPayload returns the largest request body the server accepts.
func (c *ClientConn) MaxPayload() int64 { return c.maxPayload }

// Done returns a channel closed once the session has ended, OnClose has
// returned and every goroutine of the connection has exited.
func (c *ClientConn) Done() <-chan struct{} { return c.done }

// Writable reports whether a message sent now would be written at once:
// nothing is queued or being written and no upgrade is under way. Volatile
// messages are sent only then.
func (c *ClientConn) Writable() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writableLocked()
}

func (c *ClientConn) writableLocked() bool {
	return c.state == clientOpen && len(c.queue) == 0 && !c.writing && !c.pausing
}

// Send queues messages for the server, in order and contiguously. With
// volatile set they are dropped, without error, when the transport is not
// ready to write at once. Send returns ErrClosed once the session is
// closing or closed, and also when the server's heartbeat is overdue (the
// session is then being closed with reason "ping timeout"), so that the
// caller can keep the messages for the next session.
func (c *ClientConn) Send(volatile bool, msgs ...*Message) error {
	c.mu.Lock()
	if c.state != clientOpen {
		c.mu.Unlock()
		return ErrClosed
	}
	if !time.Now().Before(c.pingDue) {
		// The timer may not have run (a suspended process): end the
		// session now rather than writing into a dead one.
		c.mu.Unlock()
		go c.finalize(ReasonPingTimeout, nil)
		return ErrClosed
	}
	if volatile && !c.writableLocked() {
		c.mu.Unlock()
		return nil
	}
	c.queue = append(c.queue, msgs...)
	c.kickLocked()
	c.mu.Unlock()
	return nil
}

// Close ends the session gracefully: what is queued is written, then a
// close packet (long-polling) or a close frame (WebSocket), and the session
// ends with reason "forced close". An upgrade under way is abandoned. Close
// does not wait; Done tells when everything has stopped. The graceful part
// is bounded by a few seconds.
func (c *ClientConn) Close() {
	c.mu.Lock()
	if c.state != clientOpen {
		c.mu.Unlock()
		return
	}
	c.state = clientClosing
	if c.probeWS != nil {
		ws := c.probeWS
		c.probeWS = nil
		go ws.Close(websocket.CloseNormal, "")
	}
	c.pausing = false
	c.graceTmr = time.AfterFunc(clientGraceTimeout, func() { c.finalize(ReasonForcedClose, nil) })
	c.kickLocked()
	c.mu.Unlock()
}

// goLocked starts fn on a goroutine counted in running; c.mu is held.
func (c *ClientConn) goLocked(fn func()) {
	c.running++
	go func() {
		defer c.exited()
		fn()
	}()
}

// exited is called by each goroutine of the conn as it ends.
func (c *ClientConn) exited() {
	c.mu.Lock()
	c.running--
	c.maybeDoneLocked()
	c.mu.Unlock()
}

// maybeDoneLocked closes done once the session has ended and nothing runs.
func (c *ClientConn) maybeDoneLocked() {
	if c.running == 0 && c.closedCB {
		c.closedCB = false // close done once
		if c.ownHTTP != nil {
			c.ownHTTP.CloseIdleConnections()
		}
		close(c.done)
	}
}

// kickLocked starts the writer if there is something to write (or a close
// to perform) and the transport can take it.
func (c *ClientConn) kickLocked() {
	if c.writing || c.pausing || c.state == clientClosed {
		return
	}
	if len(c.queue) == 0 && c.state != clientClosing {
		return
	}
	c.writing = true
	c.goLocked(c.writeLoop)
}

// finalize ends the session once: it stops the timers, cancels requests,
// closes the WebSockets and runs OnClose.
func (c *ClientConn) finalize(reason string, err error) {
	c.mu.Lock()
	if c.state == clientClosed {
		c.mu.Unlock()
		return
	}
	if c.state == clientClosing {
		// Whatever ends the session during a graceful close (the server
		// answering the close packet, a failed request) is that close.
		reason, err = ReasonForcedClose, nil
	}
	c.state = clientClosed
	if c.pingTimer != nil {
		c.pingTimer.Stop()
	}
	if c.graceTmr != nil {
		c.graceTmr.Stop()
	}
	ws, pws := c.ws, c.probeWS
	c.probeWS = nil
	c.queue = nil
	c.pausing = false
	c.mu.Unlock()

	c.cancel()
	// Closing a WebSocket may wait for a write in progress; the readers
	// notice and exit.
	if ws != nil {
		code := websocket.CloseNormal
		if reason == ReasonTransportError || reason == ReasonParseError {
			code = websocket.CloseProtocolError
		}
		_ = ws.Close(code, "")
	}
	if pws != nil {
		_ = pws.Close(websocket.CloseNormal, "")
	}
	c.log.Debug("engineio: client session closed", "sid", c.sid, "reason", reason, "err", err)
	if c.opts.OnClose != nil {
		c.opts.OnClose(reason, err)
	}
	c.mu.Lock()
	c.closedCB = true
	c.maybeDoneLocked()
	c.mu.Unlock()
}

// onPingTimer ends the session when no ping came in time.
func (c *ClientConn) onPingTimer() {
	c.mu.Lock()
	if c.state == clientClosed {
		c.mu.Unlock()
		return
	}
	if wait := time.Until(c.pingDue); wait > 0 {
		// A ping arrived while the timer was firing.
		c.pingTimer.Reset(wait)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.finalize(ReasonPingTimeout, nil)
}

// deliver handles packets from the server, in order. It reports false when
// the session ended because of one of them.
func (c *ClientConn) deliver(packets []eioparser.Packet) bool {
	c.recvMu.Lock()
	defer c.recvMu.Unlock()
	for _, p := range packets {
		c.mu.Lock()
		open := c.state != clientClosed
		c.mu.Unlock()
		if !open {
			return false
		}
		switch p.Type {
		case eioparser.Message:
			if c.opts.OnMessage != nil {
				c.opts.OnMessage(p.Data, p.Binary)
			}
		case eioparser.Ping:
			c.mu.Lock()
			d := c.pingInterval + c.pingTimeout
			c.pingDue = time.Now().Add(d)
			c.pingTimer.Reset(d)
			if c.state == clientOpen {
				c.queue = append(c.queue, clientPong)
				c.kickLocked()
			}
			c.mu.Unlock()
			if c.opts.OnPing != nil {
				c.opts.OnPing()
			}
		case eioparser.Close:
			c.recvMu.Unlock()
			c.finalize(ReasonTransportClose, nil)
			c.recvMu.Lock()
			return false
		}
		// Open, pong, upgrade and noop packets need nothing here.
	}
	return true
}

// clientControl builds a control packet from the client.
func clientControl(t eioparser.Type, data string) *Message {
	buf := make([]byte, Headroom, Headroom+1+len(data))
	buf = append(buf, t.Char())
	buf = append(buf, data...)
	return NewTextMessageInPlace(buf)
}

var (
	clientPong    = clientControl(eioparser.Pong, "")
	clientClose   = clientControl(eioparser.Close, "")
	clientProbe   = clientControl(eioparser.Ping, "probe")
	clientUpgrade = clientControl(eioparser.Upgrade, "")
)

// clientMessagePacket converts m for the long-polling encoder.
func clientMessagePacket(m *Message) eioparser.Packet {
	d := m.Data()
	if m.Binary() {
		return eioparser.Packet{Type: eioparser.Message, Data: d, Binary: true}
	}
	return eioparser.Packet{Type: eioparser.Type(d[0] - '0'), Data: d[1:]}
}

// clientHandshake is the data of the open packet.
type clientHandshake struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int64    `json:"pingInterval"`
	PingTimeout  int64    `json:"pingTimeout"`
	MaxPayload   int64    `json:"maxPayload"`
}

// applyHandshake checks and stores the open packet's data.
func (c *ClientConn) applyHandshake(transport string, p eioparser.Packet) error {
	if p.Type != eioparser.Open {
		return &DialError{Transport: transport, Message: "first packet is " + p.Type.String() + ", not open"}
	}
	var h clientHandshake
	if err := json.Unmarshal(p.Data, &h); err != nil || h.SID == "" {
		return &DialError{Transport: transport, Message: "invalid open packet " + strconv.Quote(string(p.Data))}
	}
	if h.PingInterval <= 0 || h.PingTimeout <= 0 {
		return &DialError{Transport: transport, Message: "open packet without heartbeat settings"}
	}
	c.sid = h.SID
	c.upgrades = h.Upgrades
	c.pingInterval = time.Duration(h.PingInterval) * time.Millisecond
	c.pingTimeout = time.Duration(h.PingTimeout) * time.Millisecond
	c.maxPayload = h.MaxPayload
	return nil
}

// requestURL builds the URL of a request on transport t.
func (c *ClientConn) requestURL(base, transport string, stamp bool) string {
	q := make(url.Values, len(c.query)+4)
	for k, v := range c.query {
		q[k] = v
	}
	q.Set("EIO", "4")
	q.Set("transport", transport)
	if c.sid != "" {
		q.Set("sid", c.sid)
	}
	if stamp {
		q.Set("t", c.stampSeed+strconv.FormatUint(clientStamps.Add(1), 36))
	}
	return base + "?" + q.Encode()
}
