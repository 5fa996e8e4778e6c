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
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/socketio-go/socketio/internal/id"
	"github.com/socketio-go/socketio/internal/websocket"
)

// Server accepts Engine.IO sessions. Register the callbacks (OnConnection,
// OnConnectionError) before serving; all other methods are safe for
// concurrent use.
type Server struct {
	opts Options
	log  *slog.Logger

	onConnection func(*Conn)         // set before serving
	onConnError  func(*RequestError) // set before serving

	hb heartbeats // the sessions' ping schedule

	mu      sync.RWMutex
	clients map[string]*Conn // guarded by mu
	closed  bool             // guarded by mu
}

// NewServer returns a server with the given options (nil for the defaults).
func NewServer(opts *Options) *Server {
	o := opts.withDefaults()
	return &Server{
		opts:    o,
		log:     o.Logger,
		clients: make(map[string]*Conn),
	}
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
		c.finalize(ReasonForcedClose, nil)
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

	if !s.opts.allows(transport) {
		fail(UnknownTransport, "", "")
		return
	}
	if invalidHeaderValue(r.Header.Get("Origin")) {
		fail(BadRequest, "INVALID_ORIGIN", "")
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
			c.handleUpgrade(w, r)
			return
		}
		// Only long-polling is served over plain HTTP requests; a plain
		// request naming the WebSocket transport is not a WebSocket.
		if current := c.Transport(); current != transport || transport != Polling {
			fail(BadRequest, "TRANSPORT_MISMATCH", "")
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
	if q.eio != "4" {
		fail(UnsupportedProtocolVersion, "", "")
		return
	}
	s.handshake(w, r, transport)
}

func (s *Server) reject(w http.ResponseWriter, r *http.Request, upgrade bool, e *RequestError) {
	s.log.Debug("engineio: request rejected", "code", int(e.Code), "message", e.Message, "context", e.Context, "url", r.URL.String())
	if s.onConnError != nil {
		s.onConnError(e)
	}
	if upgrade {
		writeUpgradeError(w, e.Message)
		return
	}
	writeJSONError(w, e.Code, e.Message)
}

func (s *Server) handshake(w http.ResponseWriter, r *http.Request, transport string) {
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

	h := w.Header()
	if s.opts.Cookie != nil {
		h.Add("Set-Cookie", s.opts.cookieHeader(sid))
	}
	if s.opts.InitialHeaders != nil {
		s.opts.InitialHeaders(h, r)
	}
	// Long-polling responses get the Headers hook in writePoll, like every
	// later GET; calling it here too would run it twice.
	if s.opts.Headers != nil && transport == WebSocket {
		s.opts.Headers(h, r)
	}

	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	var open []*Message
	if !closed {
		open = c.openMessages()
	}
	var ws *websocket.Conn
	if transport == WebSocket {
		// The open packet goes out with the handshake response, in one
		// write.
		frames := make([][]byte, len(open))
		for i, m := range open {
			frames[i] = m.frame
		}
		var err error
		ws, err = websocket.AcceptWithFrames(w, r, h, frames)
		if err != nil {
			s.rejectWebSocket(w, r, err)
			return
		}
		c.ws = ws
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		if ws != nil {
			_ = ws.Close(websocket.CloseGoingAway, "server closed")
		} else {
			writeJSONError(w, BadRequest, "Server closed")
		}
		return
	}
	s.clients[sid] = c
	s.mu.Unlock()

	if ws == nil {
		_ = c.Send(false, open...)
	}
	if s.onConnection != nil {
		s.onConnection(c)
	}
	c.startHeartbeat()

	if ws != nil {
		c.serveWebSocket(ws)
		return
	}
	c.handlePolling(w, r)
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
