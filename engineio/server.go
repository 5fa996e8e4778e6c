// Package engineio implements the server side of the Engine.IO protocol v4:
// sessions over HTTP long-polling and WebSocket, the upgrade from one to the
// other, heartbeats, payload limits and CORS.
//
// It knows nothing of Socket.IO namespaces or rooms; package socketio builds
// on it. A Server is an http.Handler; mount it at the Engine.IO path (for a
// standalone Engine.IO server, conventionally "/engine.io/").
package engineio

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/socketio-go/socketio/internal/id"
	"github.com/socketio-go/socketio/internal/websocket"
)

// Server accepts Engine.IO sessions. Register the callbacks (OnConnection,
// OnConnectionError) before serving; all other methods are safe for
// concurrent use.
type Server struct {
	opts      Options
	log       *slog.Logger
	wsDeflate *websocket.DeflateOptions // nil: WebSocket compression off

	onConnection func(*Conn)         // set before serving
	onConnError  func(*RequestError) // set before serving

	obsMu sync.Mutex                // serialises AddObserver
	obs   atomic.Pointer[observers] // nil without observers

	hb     heartbeats // the sessions' ping schedule
	flushq flushQueue // WebSocket connections with messages to write (flushq.go)

	mu      sync.RWMutex
	clients map[string]*Conn // guarded by mu
	closed  bool             // guarded by mu
}

// NewServer returns a server with the given options (nil for the defaults).
func NewServer(opts *Options) *Server {
	o := opts.withDefaults()
	_, wsDeflate := o.PerMessageDeflate.withDefaults()
	s := &Server{
		opts:      o,
		log:       o.Logger,
		wsDeflate: wsDeflate,
		clients:   make(map[string]*Conn),
	}
	s.AddObserver(o.Observer)
	return s
}

// Options returns the options in effect, defaults filled in.
func (s *Server) Options() Options { return s.opts }

// OnConnection sets the function called for each new session, before any
// of its messages is delivered. It must set the session's callbacks
// (Conn.OnMessage, Conn.OnClose) before returning.
func (s *Server) OnConnection(fn func(c *Conn)) { s.onConnection = fn }

// OnConnectionError sets a function told about every rejected request.
func (s *Server) OnConnectionError(fn func(e *RequestError)) { s.onConnError = fn }

// ClientsCount returns the number of open sessions.
func (s *Server) ClientsCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.clients)
}

// Conn returns the open session with the given id, or nil.
func (s *Server) Conn(sid string) *Conn {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.clients[sid]
}

// Close closes every session at once, without flushing what they have
// queued, and makes the server refuse new sessions. It does not stop the
// http.Server the handler is mounted on.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	conns := make([]*Conn, 0, len(s.clients))
	for _, c := range s.clients {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		// A session whose OnConnection has not returned yet is closed by
		// its handshake, which checks s.closed after setting ready: its
		// callbacks may not be set yet.
		c.mu.Lock()
		ready := c.ready
		c.mu.Unlock()
		if ready {
			c.finalize(ReasonForcedClose, nil)
		}
	}
}

func (s *Server) remove(c *Conn) {
	s.mu.Lock()
	if s.clients[c.id] == c {
		delete(s.clients, c.id)
	}
	s.mu.Unlock()
}

// ServeHTTP handles every Engine.IO request: handshakes, long-polling GET
// and POST, and WebSocket connections and upgrades.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := parseQuery(r.URL.RawQuery)
	transport := q.transport
	sid := q.sid
	upgrade := websocket.IsUpgradeRequest(r)

	if s.opts.CORS != nil && s.opts.CORS.Apply(w.Header(), r) {
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	fail := func(code ErrorCode, context, message string) {
		if message == "" {
			message = code.Message()
		}
		s.reject(w, r, upgrade, &RequestError{Code: code, Message: message, Context: context, Request: r})
	}

	// Handshakes are kept with their session, and upgrades are bounded
	// alike; other requests of a session are not kept.
	if (sid == "" || upgrade) && headerTooLarge(r, s.opts.MaxRequestHeaderBytes) {
		s.rejectHeaderTooLarge(w, r)
		return
	}
	// WebTransport sessions come through package webtransport, as in Node
	// (verify refuses the name over HTTP).
	if !s.opts.allows(transport) || transport == WebTransport {
		fail(UnknownTransport, "", "")
		return
	}
	if invalidHeaderValue(r.Header.Get("Origin")) {
		fail(BadRequest, "INVALID_ORIGIN", "")
		return
	}
	if upgrade && !s.originAllowed(r) {
		fail(Forbidden, originNotAllowed, "")
		return
	}
	if sid != "" {
		c := s.Conn(sid)
		if c == nil || c.expired() {
			fail(UnknownSID, "", "")
			return
		}
		if upgrade {
			if transport != WebSocket {
				fail(BadRequest, "TRANSPORT_MISMATCH", "")
				return
			}
			if protocolOf(q.eio) != c.Protocol() {
				fail(BadRequest, "PROTOCOL_MISMATCH", "")
				return
			}
			c.handleUpgrade(w, r)
			return
		}
		// Only long-polling is served over plain HTTP requests; a plain
		// request naming the WebSocket transport is not a WebSocket.
		if current := c.Transport(); current != transport || transport != Polling {
			fail(BadRequest, "TRANSPORT_MISMATCH", "")
			return
		}
		if protocolOf(q.eio) != c.Protocol() {
			fail(BadRequest, "PROTOCOL_MISMATCH", "")
			return
		}
		c.handlePolling(w, r)
		return
	}
	if r.Method != http.MethodGet {
		fail(BadHandshakeMethod, "", "")
		return
	}
	if transport == WebSocket && !upgrade {
		fail(BadRequest, "TRANSPORT_HANDSHAKE_ERROR", "")
		return
	}
	if s.opts.AllowRequest != nil {
		if err := s.opts.AllowRequest(r); err != nil {
			fail(Forbidden, "", err.Error())
			return
		}
	}
	if q.eio != "4" && !s.opts.AllowEIO3 {
		fail(UnsupportedProtocolVersion, "", "")
		return
	}
	s.handshake(w, r, transport, protocolOf(q.eio))
}

func (s *Server) reject(w http.ResponseWriter, r *http.Request, upgrade bool, e *RequestError) {
	s.log.Debug("engineio: request rejected", "code", int(e.Code), "message", e.Message, "context", e.Context, "url", r.URL.String())
	if s.onConnError != nil {
		s.onConnError(e)
	}
	if o := s.obs.Load(); o != nil {
		o.refused(e)
	}
	if upgrade {
		// Node answers every refused upgrade with a 400; a refused origin
		// is ours alone, and says so.
		status := http.StatusBadRequest
		if e.Context == originNotAllowed {
			status = http.StatusForbidden
		}
		writeUpgradeError(w, status, e.Message)
		return
	}
	writeJSONError(w, e.Code, e.Message)
}

// originNotAllowed is the context of WebSocket requests refused for their
// origin.
const originNotAllowed = "ORIGIN_NOT_ALLOWED"

// originAllowed reports whether a WebSocket request may proceed from its
// Origin. Browsers do not apply CORS to WebSockets: without this check any
// site's page could open one with its user's cookies.
func (s *Server) originAllowed(r *http.Request) bool {
	if s.opts.CheckOrigin != nil {
		return s.opts.CheckOrigin(r)
	}
	c := s.opts.CORS
	origin := r.Header.Get("Origin")
	if c == nil || origin == "" {
		return true // as Node; not a browser
	}
	for _, o := range c.Origins {
		if o == "*" || o == origin {
			return true
		}
	}
	if c.AllowOrigin != nil && c.AllowOrigin(origin, r) {
		return true
	}
	// The server's own pages need no CORS for long-polling either.
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

func (s *Server) handshake(w http.ResponseWriter, r *http.Request, transport string, protocol int) {
	sid := ""
	if s.opts.GenerateID != nil {
		var err error
		if sid, err = s.opts.GenerateID(r); err != nil || sid == "" {
			s.reject(w, r, transport == WebSocket, &RequestError{Code: BadRequest, Message: BadRequest.Message(), Context: "ID_GENERATION_ERROR", Request: r})
			return
		}
	} else {
		sid = id.New()
	}
	c := newConn(s, sid, r, transport)
	if protocol == 3 {
		c.proto3 = true
		c.v3flags = v3QueryFlags(r.URL.RawQuery, transport)
	}

	h := w.Header()
	if s.opts.Cookie != nil {
		h.Add("Set-Cookie", s.opts.cookieHeader(sid, r.TLS != nil))
	}
	if s.opts.InitialHeaders != nil {
		s.opts.InitialHeaders(h, r)
	}
	// Long-polling responses get the Headers hook in writePoll, like every
	// later GET; calling it here too would run it twice.
	if s.opts.Headers != nil && transport == WebSocket {
		s.opts.Headers(h, r)
	}

	// The session is registered before anything that carries its sid
	// leaves: a client may use the sid as soon as it has it. Server.Close
	// leaves it to this goroutine until OnConnection has returned (see
	// ready).
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		if transport == WebSocket {
			if ws, err := websocket.Accept(w, r, h); err != nil {
				s.rejectWebSocket(w, r, err)
			} else {
				_ = ws.Close(websocket.CloseGoingAway, "server closed")
			}
		} else {
			writeJSONError(w, BadRequest, "Server closed")
		}
		return
	}
	s.clients[sid] = c
	s.mu.Unlock()
	obs := s.obs.Load()
	if obs != nil {
		obs.opened(c)
	}

	open := c.openMessages()
	var ws *websocket.Conn
	if transport == WebSocket {
		// The open packet goes out with the handshake response, in one
		// write.
		frames := make([][]byte, len(open))
		for i, m := range open {
			frames[i] = m.frame
		}
		var err error
		ws, err = websocket.AcceptWith(w, r, &websocket.AcceptOptions{Header: h, Frames: frames, Deflate: s.wsDeflate})
		if err != nil {
			c.finalize(ReasonTransportError, err) // no callback is set yet
			s.rejectWebSocket(w, r, err)
			return
		}
		c.mu.Lock()
		c.ws = ws
		c.mu.Unlock()
		if obs != nil {
			obs.sent(open)
		}
	} else {
		_ = c.Send(false, open...)
	}
	if s.isClosed() {
		c.finalize(ReasonForcedClose, nil) // closes the WebSocket
		if ws == nil {
			writeJSONError(w, BadRequest, "Server closed")
		}
		return
	}
	if s.onConnection != nil {
		s.onConnection(c)
	}
	c.mu.Lock()
	c.ready = true
	c.mu.Unlock()
	if s.isClosed() {
		// Server.Close ran meanwhile and saw the session not ready (or
		// it did not, and this is a no-op).
		c.finalize(ReasonForcedClose, nil)
	}
	c.startHeartbeat()

	if ws != nil {
		c.serveWebSocket(ws)
		return
	}
	if c.proto3 {
		c.answerHandshakeV3(w, r)
		return
	}
	c.handlePolling(w, r)
}

func (s *Server) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// headerTooLarge reports whether r's header is over max bytes (negative:
// no limit), counting the request URI, the host, and the header names and
// values.
func headerTooLarge(r *http.Request, max int) bool {
	if max < 0 {
		return false
	}
	n := len(r.RequestURI) + len(r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v)
		}
		if n > max {
			return true
		}
	}
	return n > max
}

// rejectHeaderTooLarge answers 431, as Node's HTTP parser does, and closes
// the connection: a client that sends such headers is not worth keeping.
func (s *Server) rejectHeaderTooLarge(w http.ResponseWriter, r *http.Request) {
	const msg = "Request Header Fields Too Large"
	e := &RequestError{Code: BadRequest, Message: msg, Context: "REQUEST_HEADER_TOO_LARGE", Request: r}
	s.log.Debug("engineio: request rejected", "message", e.Message, "context", e.Context, "remote", r.RemoteAddr)
	if s.onConnError != nil {
		s.onConnError(e)
	}
	if o := s.obs.Load(); o != nil {
		o.refused(e)
	}
	h := w.Header()
	h.Set("Connection", "close")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h["X-Content-Type-Options"] = nosniff
	h.Set("Content-Length", strconv.Itoa(len(msg)))
	w.WriteHeader(http.StatusRequestHeaderFieldsTooLarge)
	_, _ = io.WriteString(w, msg)
}

// rejectWebSocket answers a WebSocket handshake that failed validation.
func (s *Server) rejectWebSocket(w http.ResponseWriter, r *http.Request, err error) {
	var he *websocket.HandshakeError
	if errors.As(err, &he) {
		if he.Status == http.StatusUpgradeRequired {
			w.Header().Set("Sec-WebSocket-Version", "13")
		}
		http.Error(w, he.Message, he.Status)
		return
	}
	// The connection was hijacked or broke; there is nothing left to answer.
	s.log.Debug("engineio: websocket accept failed", "err", err, "remote", r.RemoteAddr)
}

// invalidHeaderValue mirrors Node's check of the Origin header: control
// characters other than tab, and DEL, are invalid.
func invalidHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return true
		}
	}
	return false
}

// query holds the Engine.IO query parameters.
type query struct{ transport, sid, eio string }

// parseQuery extracts the Engine.IO parameters without building a map (the
// first occurrence of each wins, as with url.Values.Get).
func parseQuery(raw string) query {
	var q query
	var seenT, seenS, seenE bool
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(kv, "=")
		var dst *string
		switch {
		case k == "transport" && !seenT:
			dst, seenT = &q.transport, true
		case k == "sid" && !seenS:
			dst, seenS = &q.sid, true
		case k == "EIO" && !seenE:
			dst, seenE = &q.eio, true
		default:
			continue
		}
		if strings.ContainsAny(v, "%+") {
			if u, err := url.QueryUnescape(v); err == nil {
				v = u
			}
		}
		*dst = v
	}
	return q
}
