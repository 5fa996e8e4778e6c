package client

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/sioparser"
)

type managerState uint8

const (
	managerClosed managerState = iota
	managerOpening
	managerOpen
)

// closeWait bounds how long Manager.Close and Socket.Disconnect wait for the
// connection to finish writing and stop.
const closeWait = 5 * time.Second

// Manager is one connection to a Socket.IO server (the JavaScript client's
// Manager, socket.io): it opens the Engine.IO connection, reconnects it with
// exponential backoff when it is lost, and multiplexes the Sockets of its
// namespaces over it. The connection opens when a Socket connects and closes
// when the last Socket disconnects.
//
// Concurrency: every method is safe to call from any goroutine. The event
// handlers (OnOpen, OnClose, OnError, OnPacket, OnUpgrade, OnReconnect...)
// run on the Manager's handler goroutine, one at a time, in the order the
// events happened, with the handlers of its Sockets (see the package
// documentation). They must not block: a handler that blocks delays every
// handler after it, those of the Sockets included.
type Manager struct {
	base     string // scheme://host[?query], for engineio.Dial
	opts     Options
	log      *slog.Logger
	cacheKey string // non-empty while in the lookup cache
	events   dispatcher
	// dial opens the Engine.IO connection; tests replace it.
	dial func(ctx context.Context, rawURL string, o *engineio.DialOptions) (*engineio.ClientConn, error)

	mu             sync.Mutex
	state          managerState       // guarded by mu
	link           *link              // guarded by mu; the connection being opened or open
	sockets        map[string]*Socket // guarded by mu; by namespace, created on demand and kept
	order          []*Socket          // guarded by mu; sockets in creation order
	skipReconnect  bool               // guarded by mu
	reconnecting   bool               // guarded by mu; a reconnection attempt is scheduled or running
	failed         bool               // guarded by mu; attempts exhausted, until the next open
	backoff        backoff            // guarded by mu
	reconnectTimer *time.Timer        // guarded by mu

	// Event handlers, guarded by mu; they run on the handler goroutine.
	onOpen         []func()
	onClose        []func(reason DisconnectReason, err error)
	onError        []func(err error)
	onPacket       []func(p sioparser.Packet)
	onUpgrade      []func(transport string)
	onPing         []func()
	onAttempt      []func(attempt int)
	onReconnect    []func(attempt int)
	onFailed       []func()
	onReconnectErr []func(error)
}

// link is one Engine.IO connection of a Manager.
type link struct {
	m         *Manager
	reconnect bool               // opened by a reconnection attempt
	cancel    context.CancelFunc // cancels the dial
	decoder   sioparser.Decoder  // owned by the connection's reading goroutine

	conn       *engineio.ClientConn // guarded by m.mu; set once open
	earlyClose bool                 // guarded by m.mu; closed before Dial returned
	earlyWhy   string               // guarded by m.mu
	earlyErr   error                // guarded by m.mu
	earlyUp    string               // guarded by m.mu; upgraded before Dial returned
}

// NewManager returns a Manager for the server at rawURL (http, https, ws
// or wss; the path is ignored: namespaces are chosen with Socket). Nothing
// happens until one of its Sockets connects. The Manager is not cached: use
// it for its Sockets.
func NewManager(rawURL string, opts *Options) (*Manager, error) {
	u, _, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	if err := checkAuth(o.Auth); err != nil {
		return nil, fmt.Errorf("client: Options.Auth: %w", err)
	}
	return newManager(u, o), nil
}

func newManager(u *url.URL, o Options) *Manager {
	base := u.Scheme + "://" + u.Host
	if u.RawQuery != "" {
		base += "?" + u.RawQuery
	}
	m := &Manager{
		base:    base,
		opts:    o,
		log:     o.Logger,
		dial:    engineio.Dial,
		sockets: make(map[string]*Socket),
		backoff: newBackoff(o.ReconnectionDelay, o.ReconnectionDelayMax, o.RandomizationFactor),
	}
	m.events.log = o.Logger
	return m
}

var schemeRE = regexp.MustCompile(`^(?i)(https?|wss?)://`)

// parseURL parses a server URL as the JavaScript client does: without a
// scheme, https is assumed. It returns the URL and the namespace.
func parseURL(raw string) (*url.URL, string, error) {
	if !schemeRE.MatchString(raw) {
		raw = "https://" + strings.TrimPrefix(raw, "//")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", fmt.Errorf("client: invalid URL: %w", err)
	}
	if u.Host == "" {
		return nil, "", fmt.Errorf("client: URL %q has no host", raw)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	nsp := u.Path
	if nsp == "" {
		nsp = "/"
	}
	return u, nsp, nil
}

// cacheKeyFor identifies the managers that can be shared: scheme, host,
// port and path (the JavaScript client's cache id).
func cacheKeyFor(u *url.URL, path string) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" || u.Scheme == "wss" {
			port = "443"
		}
	}
	return u.Scheme + "://" + net.JoinHostPort(u.Hostname(), port) + path
}

// cache holds the shared Managers, as io() does.
var cache = struct {
	sync.Mutex
	m map[string]*Manager
}{m: make(map[string]*Manager)}

// NewSocket returns a Socket for the namespace named by rawURL's path ("/"
// when empty) without connecting it (io(url, {autoConnect: false})): set
// its handlers, then call Connect. Sockets of the same scheme, host, port
// and Options.Path share a Manager, hence one connection, unless
// opts.ForceNew is set or the namespace already has a Socket there; the
// Manager-level options of a shared Manager are those of its first Socket.
// Without a scheme, https is assumed.
func NewSocket(rawURL string, opts *Options) (*Socket, error) {
	u, nsp, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	if err := checkAuth(o.Auth); err != nil {
		return nil, fmt.Errorf("client: Options.Auth: %w", err)
	}
	so := &SocketOptions{Auth: o.Auth, Retries: o.Retries, AckTimeout: o.AckTimeout}
	if o.ForceNew {
		return newManager(u, o).Socket(nsp, so), nil
	}
	key := cacheKeyFor(u, o.Path)
	cache.Lock()
	m := cache.m[key]
	if m != nil && m.hasSocket(nsp) {
		cache.Unlock()
		return newManager(u, o).Socket(nsp, so), nil
	}
	if m == nil {
		m = newManager(u, o)
		m.cacheKey = key
		cache.m[key] = m
	}
	cache.Unlock()
	return m.Socket(nsp, so), nil
}

// Connect returns a connected Socket for the namespace named by rawURL's
// path: NewSocket, Socket.Connect and Socket.WaitConnect. It fails when
// the namespace is refused (a *ConnectError), when the connection cannot
// be opened and reconnection is disabled or exhausted, or when ctx ends
// first; the socket is then disconnected. Handlers set after Connect
// returns may miss events sent right at connection; use NewSocket to set
// them before.
func Connect(ctx context.Context, rawURL string, opts *Options) (*Socket, error) {
	s, err := NewSocket(rawURL, opts)
	if err != nil {
		return nil, err
	}
	s.Connect()
	if err := s.WaitConnect(ctx); err != nil {
		s.Disconnect()
		return nil, err
	}
	return s, nil
}

func (m *Manager) hasSocket(nsp string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sockets[nsp] != nil
}

// Socket returns the Socket of namespace nsp, creating it (not connected)
// with opts (nil: the Manager's Options) if there is none yet.
//
// For a namespace that already has its Socket, that Socket is returned and
// non-nil opts replace its options: Auth is sent from its next connection
// request (as with Socket.SetAuth), Retries and AckTimeout apply to the
// emits that follow; nil opts leave them as they are. (The JavaScript
// client ignores the options then, a known trap when a new token is passed
// this way; here they are not lost.) Socket panics if opts.Auth is a
// function other than a func() any.
func (m *Manager) Socket(nsp string, opts *SocketOptions) *Socket {
	if nsp == "" {
		nsp = "/"
	}
	if !strings.HasPrefix(nsp, "/") {
		nsp = "/" + nsp
	}
	if opts != nil {
		if err := checkAuth(opts.Auth); err != nil {
			panic("client: Manager.Socket: " + err.Error())
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.sockets[nsp]; s != nil {
		if opts != nil {
			s.auth, s.retries, s.ackTimeout = opts.Auth, opts.Retries, opts.AckTimeout
		}
		return s
	}
	if opts == nil {
		opts = &SocketOptions{Auth: m.opts.Auth, Retries: m.opts.Retries, AckTimeout: m.opts.AckTimeout}
	}
	s := newSocket(m, nsp, *opts)
	m.sockets[nsp] = s
	m.order = append(m.order, s)
	return s
}

// OnOpen registers fn, called each time the Engine.IO connection opens
// (the JavaScript Manager's "open"), before the Sockets ask to connect
// their namespaces; after a reconnection, before OnReconnect.
func (m *Manager) OnOpen(fn func()) {
	m.mu.Lock()
	m.onOpen = append(m.onOpen, fn)
	m.mu.Unlock()
}

// OnClose registers fn, called each time the connection that OnOpen
// announced closes ("close"), with the reason: ReasonTransportClose,
// ReasonTransportError, ReasonPingTimeout, ReasonParseError, or
// ReasonForcedClose when Manager.Close, or the Disconnect of the last
// connected Socket, closed it; and the error behind it, if any.
// Reconnection, if enabled, follows.
func (m *Manager) OnClose(fn func(reason DisconnectReason, err error)) {
	m.mu.Lock()
	m.onClose = append(m.onClose, fn)
	m.mu.Unlock()
}

// OnError registers fn, called when the connection cannot be opened (each
// failed attempt, reconnections included: before OnReconnectError) and
// when the open connection fails (before OnClose with
// ReasonTransportError): the JavaScript Manager's "error".
func (m *Manager) OnError(fn func(err error)) {
	m.mu.Lock()
	m.onError = append(m.onError, fn)
	m.mu.Unlock()
}

// OnPacket registers fn, called with each Socket.IO packet received
// ("packet"), whatever its namespace, before the Socket of its namespace
// handles it. The packet's Data and Attachments are shared: do not modify
// them.
func (m *Manager) OnPacket(fn func(p sioparser.Packet)) {
	m.mu.Lock()
	m.onPacket = append(m.onPacket, fn)
	m.mu.Unlock()
}

// OnUpgrade registers fn, called when the connection has moved to another
// transport ("websocket", from long-polling): the JavaScript client's
// manager.engine.on("upgrade").
func (m *Manager) OnUpgrade(fn func(transport string)) {
	m.mu.Lock()
	m.onUpgrade = append(m.onUpgrade, fn)
	m.mu.Unlock()
}

// OnPing registers fn, called for each ping of the server ("ping"), after
// the pong is on its way.
func (m *Manager) OnPing(fn func()) {
	m.mu.Lock()
	m.onPing = append(m.onPing, fn)
	m.mu.Unlock()
}

// postEach queues call(fn) for each of fns on the handler goroutine.
func postEach[F any](m *Manager, fns []F, call func(F)) {
	for _, fn := range fns {
		m.post(func() { call(fn) })
	}
}

// OnReconnectAttempt registers fn, called before each reconnection attempt
// with its number (from 1).
func (m *Manager) OnReconnectAttempt(fn func(attempt int)) {
	m.mu.Lock()
	m.onAttempt = append(m.onAttempt, fn)
	m.mu.Unlock()
}

// OnReconnect registers fn, called when a reconnection succeeded, with the
// number of attempts it took.
func (m *Manager) OnReconnect(fn func(attempt int)) {
	m.mu.Lock()
	m.onReconnect = append(m.onReconnect, fn)
	m.mu.Unlock()
}

// OnReconnectError registers fn, called when a reconnection attempt failed.
func (m *Manager) OnReconnectError(fn func(err error)) {
	m.mu.Lock()
	m.onReconnectErr = append(m.onReconnectErr, fn)
	m.mu.Unlock()
}

// OnReconnectFailed registers fn, called when ReconnectionAttempts
// attempts have failed; the Manager then stops trying.
func (m *Manager) OnReconnectFailed(fn func()) {
	m.mu.Lock()
	m.onFailed = append(m.onFailed, fn)
	m.mu.Unlock()
}

// Engine returns the open Engine.IO connection (for its ID and
// Transport), or nil.
func (m *Manager) Engine() *engineio.ClientConn {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.connLocked()
}

func (m *Manager) connLocked() *engineio.ClientConn {
	if m.state != managerOpen || m.link == nil {
		return nil
	}
	return m.link.conn
}

// Close disconnects every Socket (reason "io client disconnect"), stops
// reconnecting and closes the connection once what is queued is written
// (waiting a few seconds at most). Sockets can connect again later.
func (m *Manager) Close() {
	m.mu.Lock()
	for _, s := range m.order {
		s.disconnectLocked()
	}
	conn := m.closeLocked()
	m.mu.Unlock()
	waitClosed(conn)
}

// waitClosed closes conn gracefully and waits for it to stop.
func waitClosed(conn *engineio.ClientConn) {
	if conn == nil {
		return
	}
	conn.Close()
	t := time.NewTimer(closeWait)
	defer t.Stop()
	select {
	case <-conn.Done():
	case <-t.C:
	}
}

// uncacheLocked removes m from the lookup cache: a closed Manager is not
// shared again (a later NewSocket gets a new one).
func (m *Manager) uncacheLocked() {
	if m.cacheKey == "" {
		return
	}
	cache.Lock()
	if cache.m[m.cacheKey] == m {
		delete(cache.m, m.cacheKey)
	}
	cache.Unlock()
	m.cacheKey = ""
}

// post queues fn for the handler goroutine.
func (m *Manager) post(fn func()) { m.events.post(fn) }

// notifyLocked wakes the WaitConnect callers of every socket.
func (m *Manager) notifyLocked() {
	for _, s := range m.order {
		s.notifyLocked()
	}
}

// openLocked starts opening the connection (Manager.open).
func (m *Manager) openLocked(reconnect bool) {
	if m.state != managerClosed {
		return
	}
	m.state = managerOpening
	m.skipReconnect = false
	m.failed = false
	ctx, cancel := context.WithCancel(context.Background())
	if m.opts.Timeout > 0 {
		ctx, cancel = context.WithTimeoutCause(context.Background(), m.opts.Timeout, ErrConnectTimeout)
	}
	l := &link{m: m, reconnect: reconnect, cancel: cancel}
	m.link = l
	m.notifyLocked()
	go m.runDial(ctx, l)
}

// runDial opens the Engine.IO connection of l.
func (m *Manager) runDial(ctx context.Context, l *link) {
	u := m.base
	conn, err := m.dial(ctx, u, &engineio.DialOptions{
		Path:           m.opts.Path,
		Transports:     m.opts.Transports,
		DisableUpgrade: m.opts.DisableUpgrade,
		Query:          m.opts.Query,
		Header:         m.opts.Header,
		HTTPClient:     m.opts.HTTPClient,
		TLSConfig:      m.opts.TLSConfig,
		Logger:         m.log,
		OnMessage:      l.onMessage,
		OnClose:        l.onClose,
		OnUpgrade:      l.onUpgrade,
		OnPing:         l.onPing,

		PerMessageDeflate: m.opts.PerMessageDeflate,
	})
	if err != nil && context.Cause(ctx) == ErrConnectTimeout {
		err = fmt.Errorf("%w (%v)", ErrConnectTimeout, err)
	}
	l.cancel()
	m.mu.Lock()
	if m.link != l {
		// Closed while dialing.
		m.mu.Unlock()
		if conn != nil {
			conn.Close()
		}
		return
	}
	if err == nil && l.earlyClose {
		err = fmt.Errorf("client: connection closed at once (%s): %v", l.earlyWhy, l.earlyErr)
		conn = nil
	}
	if err != nil {
		m.openFailedLocked(l, err)
		m.mu.Unlock()
		return
	}
	l.conn = conn
	m.state = managerOpen
	m.log.Debug("client: connection open", "sid", conn.ID(), "transport", conn.Transport())
	postEach(m, m.onOpen, func(fn func()) { fn() })
	if t := l.earlyUp; t != "" {
		postEach(m, m.onUpgrade, func(fn func(string)) { fn(t) })
	}
	if l.reconnect {
		attempt := m.backoff.attempts
		m.reconnecting = false
		m.backoff.reset()
		postEach(m, m.onReconnect, func(fn func(int)) { fn(attempt) })
	}
	var active []*Socket
	for _, s := range m.order {
		if s.active {
			active = append(active, s)
		}
	}
	m.mu.Unlock()
	for _, s := range active {
		s.sendConnect(l)
	}
}

// openFailedLocked handles a failed open (the error branch of
// Manager.open).
func (m *Manager) openFailedLocked(l *link, err error) {
	m.cleanupLocked()
	m.state = managerClosed
	m.log.Debug("client: connection failed", "err", err)
	postEach(m, m.onError, func(fn func(error)) { fn(err) })
	for _, s := range m.order {
		if s.active && !s.connected {
			s.connectErrorLocked(err)
		}
	}
	if l.reconnect {
		m.reconnecting = false
		m.reconnectLocked()
		postEach(m, m.onReconnectErr, func(fn func(error)) { fn(err) })
	} else if !m.reconnecting && !m.opts.DisableReconnection && m.backoff.attempts == 0 {
		m.reconnectLocked()
	}
	m.notifyLocked()
}

// cleanupLocked forgets the current connection and stops the timers. It
// returns the connection, which the caller closes without holding m.mu.
func (m *Manager) cleanupLocked() *engineio.ClientConn {
	var conn *engineio.ClientConn
	if l := m.link; l != nil {
		l.cancel()
		conn = l.conn
		m.link = nil
	}
	if m.reconnectTimer != nil {
		m.reconnectTimer.Stop()
		m.reconnectTimer = nil
	}
	return conn
}

// oncloseLocked handles the end of the open connection: the sockets
// disconnect with reason, and reconnection starts. It returns the
// connection to close.
func (m *Manager) oncloseLocked(reason DisconnectReason, err error) *engineio.ClientConn {
	if m.state == managerOpen {
		if reason == ReasonTransportError && err != nil {
			postEach(m, m.onError, func(fn func(error)) { fn(err) })
		}
		postEach(m, m.onClose, func(fn func(DisconnectReason, error)) { fn(reason, err) })
	}
	conn := m.cleanupLocked()
	m.backoff.reset()
	m.state = managerClosed
	m.log.Debug("client: connection closed", "reason", reason, "err", err)
	for _, s := range m.order {
		if s.active {
			s.oncloseLocked(reason, err)
		}
	}
	if !m.opts.DisableReconnection && !m.skipReconnect {
		m.reconnectLocked()
	}
	m.notifyLocked()
	return conn
}

// closeLocked closes the connection for good (Manager._close): no
// reconnection. It returns the connection to close.
func (m *Manager) closeLocked() *engineio.ClientConn {
	m.skipReconnect = true
	m.reconnecting = false
	conn := m.oncloseLocked(ReasonForcedClose, nil)
	m.uncacheLocked()
	return conn
}

// destroyLocked is called when socket s stopped being active: the
// connection closes when no socket is active any more.
func (m *Manager) destroyLocked() *engineio.ClientConn {
	for _, s := range m.order {
		if s.active {
			return nil
		}
	}
	return m.closeLocked()
}

// reconnectLocked schedules the next reconnection attempt.
func (m *Manager) reconnectLocked() {
	if m.reconnecting || m.skipReconnect {
		return
	}
	if n := m.opts.ReconnectionAttempts; n > 0 && m.backoff.attempts >= n {
		m.log.Debug("client: reconnection failed")
		m.backoff.reset()
		m.reconnecting = false
		m.failed = true
		postEach(m, m.onFailed, func(fn func()) { fn() })
		m.notifyLocked()
		return
	}
	delay := m.backoff.duration()
	m.reconnecting = true
	m.log.Debug("client: reconnecting", "delay", delay)
	var t *time.Timer
	t = time.AfterFunc(delay, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.reconnectTimer != t || m.skipReconnect {
			return
		}
		m.reconnectTimer = nil
		attempt := m.backoff.attempts
		postEach(m, m.onAttempt, func(fn func(int)) { fn(attempt) })
		m.openLocked(true)
	})
	m.reconnectTimer = t
}

// onMessage receives the messages of the connection, in order.
func (l *link) onMessage(data []byte, binary bool) {
	m := l.m
	var p *sioparser.Packet
	var err error
	if pr := m.opts.Parser; pr != nil {
		// The bounds of the default decoder, which is left at its zero
		// value.
		p, err = pr.Decode(data, binary, sioparser.Limits{MaxAttachments: l.decoder.MaxAttachments, MaxBytes: l.decoder.MaxBytes})
	} else {
		p, err = l.decoder.Add(data, binary)
	}
	if err != nil {
		m.mu.Lock()
		if m.link != l {
			m.mu.Unlock()
			return
		}
		conn := m.oncloseLocked(ReasonParseError, err)
		m.mu.Unlock()
		if conn != nil {
			conn.Close()
		}
		return
	}
	if p == nil {
		return // waiting for attachments
	}
	m.mu.Lock()
	if m.link != l {
		m.mu.Unlock()
		return
	}
	postEach(m, m.onPacket, func(fn func(sioparser.Packet)) { fn(*p) })
	var conn *engineio.ClientConn
	if s := m.sockets[p.Namespace]; s != nil && s.active {
		conn = s.onPacketLocked(l, p)
	}
	m.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
}

// onClose is the Engine.IO close callback.
func (l *link) onClose(reason string, err error) {
	m := l.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.link != l {
		return
	}
	if l.conn == nil {
		l.earlyClose, l.earlyWhy, l.earlyErr = true, reason, err
		return
	}
	m.oncloseLocked(DisconnectReason(reason), err)
}

// onUpgrade is the Engine.IO upgrade callback.
func (l *link) onUpgrade(transport string) {
	m := l.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.link != l {
		return
	}
	if l.conn == nil {
		l.earlyUp = transport // told after OnOpen
		return
	}
	postEach(m, m.onUpgrade, func(fn func(string)) { fn(transport) })
}

func (l *link) onPing() {
	m := l.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.link == l && l.conn != nil {
		postEach(m, m.onPing, func(fn func()) { fn() })
	}
}

// dispatcher runs callbacks one at a time, in order, on a goroutine that
// exists only while callbacks are queued.
type dispatcher struct {
	log     *slog.Logger
	mu      sync.Mutex
	queue   []func() // guarded by mu
	running bool     // guarded by mu
}

func (d *dispatcher) post(fn func()) {
	d.mu.Lock()
	d.queue = append(d.queue, fn)
	if !d.running {
		d.running = true
		go d.run()
	}
	d.mu.Unlock()
}

func (d *dispatcher) run() {
	for {
		d.mu.Lock()
		if len(d.queue) == 0 {
			d.running = false
			d.queue = nil
			d.mu.Unlock()
			return
		}
		fn := d.queue[0]
		d.queue[0] = nil
		d.queue = d.queue[1:]
		d.mu.Unlock()
		if err := safeCall(fn); err != nil {
			d.log.Error("client: handler panicked", "err", err)
		}
	}
}

// safeCall runs user code, turning a panic into an error.
func safeCall(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("client: handler panicked: %v\n%s", r, debug.Stack())
		}
	}()
	fn()
	return nil
}
