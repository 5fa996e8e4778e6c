// Package webtransport serves Engine.IO (and so Socket.IO) sessions over
// WebTransport: an HTTP/3 server (quic-go and webtransport-go) that hands
// each session to an engineio.Server, as Node's
// engine.onWebTransportSession does. The official JavaScript client 4.7+
// uses it with transports: ["webtransport", ...], either first or as an
// upgrade from long-polling.
//
// It lives in its own package so that programs which do not serve
// WebTransport do not link quic-go. The engine must list
// engineio.WebTransport in Options.Transports (as Node's transports
// option): long-polling sessions then offer it as an upgrade.
//
//	srv := socketio.NewServer(&socketio.Options{Engine: engineio.Options{
//		Transports: []string{engineio.Polling, engineio.WebSocket, engineio.WebTransport},
//	}})
//	http.Handle("/socket.io/", srv)
//	wt, err := webtransport.New(srv.Engine(), &webtransport.Options{Addr: ":3000", TLSConfig: tlsConfig})
//	go wt.ListenAndServe() // UDP: the same port number as the HTTP server is customary
//
// Browsers reach WebTransport only over HTTPS with a certificate they
// trust, or one they were given the hash of (serverCertificateHashes; see
// SelfSigned).
package webtransport

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	wtgo "github.com/quic-go/webtransport-go"

	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/internal/wtseam"
)

// Errors of New.
var (
	// ErrNotEnabled: the engine's Options.Transports does not list
	// engineio.WebTransport.
	ErrNotEnabled = errors.New("webtransport: the engine's Options.Transports does not list \"webtransport\"")
	// ErrNoCertificate: Options.TLSConfig is missing.
	ErrNoCertificate = errors.New("webtransport: Options.TLSConfig with a certificate is required")
)

// Options configure a Server. Zero values select the defaults in the
// comments.
type Options struct {
	// Addr is the UDP address ListenAndServe listens on. Default ":https".
	Addr string
	// TLSConfig holds the server's certificate (required). Its NextProtos
	// are replaced by HTTP/3's.
	TLSConfig *tls.Config
	// Path is the Engine.IO path, as the client's path option (with the
	// trailing slash the client adds). Default "/socket.io/".
	Path string
	// Handler serves the other HTTP/3 requests (a site served over HTTP/3
	// too). Default: 404 Not Found.
	Handler http.Handler
	// QUICConfig, when set, replaces the QUIC configuration. The default
	// bounds what one client may make the server hold: 4 bidirectional
	// and 6 unidirectional streams at once per connection (a session
	// needs 2 and 3), receive windows of at most 2 MB per stream and 4 MB
	// per connection, an idle timeout of PingInterval + PingTimeout and a
	// keep-alive every 10 seconds.
	QUICConfig *quic.Config
}

// Server is an HTTP/3 server whose WebTransport sessions at Options.Path
// are Engine.IO sessions of an engineio.Server. Its methods are safe for
// concurrent use.
//
// Each session is served on the goroutine of its CONNECT request, which
// reads its stream; messages are delivered there, in order, as on a
// WebSocket's reader. Writes go through the session's bounded queue and a
// flusher that runs only while there is something to write.
type Server struct {
	engine   *engineio.Server
	path     string
	handler  http.Handler
	log      *slog.Logger
	addr     string
	wt       *wtgo.Server
	tlsConf  *tls.Config
	quicConf *quic.Config

	mu      sync.Mutex
	closed  bool                             // guarded by mu
	lns     map[*quic.EarlyListener]struct{} // guarded by mu
	serving sync.WaitGroup                   // Serve calls (added under mu while open) and their connections
}

// New returns a server handing its WebTransport sessions to engine.
func New(engine *engineio.Server, opts *Options) (*Server, error) {
	eo := engine.Options()
	if !slices.Contains(eo.Transports, engineio.WebTransport) {
		return nil, ErrNotEnabled
	}
	if opts == nil || opts.TLSConfig == nil {
		return nil, ErrNoCertificate
	}
	s := &Server{engine: engine, path: opts.Path, handler: opts.Handler, log: eo.Logger, addr: opts.Addr,
		lns: make(map[*quic.EarlyListener]struct{})}
	if s.addr == "" {
		s.addr = ":https"
	}
	if s.path == "" {
		s.path = "/socket.io/"
	}
	if s.handler == nil {
		s.handler = http.NotFoundHandler()
	}
	qc := opts.QUICConfig
	if qc == nil {
		qc = &quic.Config{
			MaxIncomingStreams:         4,
			MaxIncomingUniStreams:      6,
			MaxStreamReceiveWindow:     2 << 20,
			MaxConnectionReceiveWindow: 4 << 20,
			MaxIdleTimeout:             eo.PingInterval + eo.PingTimeout,
			KeepAlivePeriod:            10 * time.Second,
		}
	}
	// WebTransport needs these two QUIC extensions.
	s.quicConf = qc.Clone()
	s.quicConf.EnableDatagrams = true
	s.quicConf.EnableStreamResetPartialDelivery = true
	s.tlsConf = http3.ConfigureTLSConfig(opts.TLSConfig)
	s.wt = &wtgo.Server{
		H3: &http3.Server{
			TLSConfig:  s.tlsConf,
			QUICConfig: s.quicConf,
			Handler:    http.HandlerFunc(s.serveHTTP),
			// The QUIC connection goes with its requests: a stream's end
			// is read from its close cause (see stream.Read).
			ConnContext: func(ctx context.Context, c *quic.Conn) context.Context {
				return context.WithValue(ctx, quicConnKey{}, c)
			},
		},
		// The engine checks origins (Options.CORS, CheckOrigin) as for
		// WebSockets, in Admit.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return s, nil
}

// ListenAndServe listens on Options.Addr (UDP) and serves until Close;
// after Close it returns http.ErrServerClosed.
func (s *Server) ListenAndServe() error {
	addr, err := net.ResolveUDPAddr("udp", s.addr)
	if err != nil {
		return err
	}
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	return s.Serve(conn)
}

// Serve serves the QUIC connections that arrive on conn until Close;
// after Close it returns http.ErrServerClosed. It does not close conn.
//
// The accept loop is ours, not webtransport-go's Server.Serve: that one
// registers itself in a WaitGroup that its Close waits on, which races
// when Close comes while a Serve is starting.
func (s *Server) Serve(conn net.PacketConn) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	ln, err := quic.ListenEarly(conn, s.tlsConf, s.quicConf)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	s.lns[ln] = struct{}{}
	s.serving.Add(1)
	s.mu.Unlock()
	defer s.serving.Done()
	defer func() {
		s.mu.Lock()
		delete(s.lns, ln)
		s.mu.Unlock()
		_ = ln.Close()
	}()
	for {
		qc, err := ln.Accept(context.Background())
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return http.ErrServerClosed
			}
			return err
		}
		s.serving.Go(func() {
			// It returns when the connection ends, or at once once
			// closed (http.ErrServerClosed).
			if err := s.wt.ServeQUICConn(qc); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Debug("webtransport: connection failed", "err", err, "remote", qc.RemoteAddr())
			}
		})
	}
}

// Close closes the listeners and every connection at once: their sessions
// end with "transport close" or "transport error". It returns once every
// Serve has returned.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	lns := make([]*quic.EarlyListener, 0, len(s.lns))
	for ln := range s.lns {
		lns = append(lns, ln)
	}
	s.mu.Unlock()
	// Connections first, while the sockets are open: their
	// CONNECTION_CLOSE frames get out.
	err := s.wt.Close()
	for _, ln := range lns {
		_ = ln.Close()
	}
	s.serving.Wait()
	return err
}

// serveHTTP receives every HTTP/3 request: WebTransport sessions at the
// Engine.IO path, and the rest for Options.Handler.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		s.handler.ServeHTTP(w, r)
		return
	}
	if r.URL.Path != s.path && !(strings.HasSuffix(s.path, "/") && strings.HasPrefix(r.URL.Path, s.path)) {
		http.NotFound(w, r)
		return
	}
	if !strings.HasPrefix(r.Proto, "webtransport") { // "webtransport-h3" in recent drafts
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if !wtseam.Admit(s.engine, w, r) {
		return
	}
	sess, err := s.wt.Upgrade(w, r)
	if err != nil {
		s.log.Debug("webtransport: upgrade failed", "err", err, "remote", r.RemoteAddr)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	qc, _ := r.Context().Value(quicConnKey{}).(*quic.Conn)
	wtseam.Serve(s.engine, session{sess, qc}, r)
}

// quicConnKey is the request context key of the QUIC connection.
type quicConnKey struct{}

// session is a webtransport-go session as the engine sees it.
type session struct {
	s  *wtgo.Session
	qc *quic.Conn // its QUIC connection; nil if unknown
}

func (x session) AcceptStream(ctx context.Context) (wtseam.Stream, error) {
	st, err := x.s.AcceptStream(ctx)
	if err != nil {
		return nil, err
	}
	return stream{st, x.qc}, nil
}

// Close does not wait: CloseWithError waits for the close to be written.
func (x session) Close(code uint32, reason string) {
	go x.s.CloseWithError(wtgo.SessionErrorCode(code), reason)
}

func (x session) Context() context.Context { return x.s.Context() }

// stream is a webtransport-go stream whose reads end with io.EOF when the
// client closed the session or its connection cleanly.
type stream struct {
	*wtgo.Stream
	qc *quic.Conn
}

func (s stream) Read(p []byte) (int, error) {
	n, err := s.Stream.Read(p)
	if err != nil && (cleanEnd(err) || s.peerClosedConn()) {
		err = io.EOF
	}
	return n, err
}

// connCloseWait bounds how long a failed read waits for its QUIC
// connection to report how it ended.
const connCloseWait = 100 * time.Millisecond

// peerClosedConn reports whether the QUIC connection was closed by the
// client on purpose. When the client closes its session and then its
// idle connection (H3_NO_ERROR), the connection's close can overtake the
// session's; HTTP/3 then fails the stream with an error of its own
// (*http3.Error, which wraps nothing), and only the connection's close
// cause says that the client ended it.
func (s stream) peerClosedConn() bool {
	if s.qc == nil {
		return false
	}
	ctx := s.qc.Context()
	t := time.NewTimer(connCloseWait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
		return false // the connection lives on: the stream itself failed
	}
	return cleanEnd(context.Cause(ctx))
}

// cleanEnd reports whether err says that the client closed the session,
// or its QUIC connection, on purpose.
func cleanEnd(err error) bool {
	if se, ok := errors.AsType[*wtgo.SessionError](err); ok {
		return se.Remote
	}
	if ae, ok := errors.AsType[*quic.ApplicationError](err); ok {
		return ae.Remote
	}
	return false
}
