package socketio

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"log/slog"

	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/sioparser"
)

// Server is a Socket.IO server: an http.Handler to mount at its path
// ("/socket.io/" by default) in any router.
//
//	srv := socketio.NewServer(nil)
//	srv.OnConnection(func(s *socketio.Socket) { s.Emit("hello", "world") })
//	http.Handle("/socket.io/", srv)
//
// Its methods that act on sockets (Emit, To, FetchSockets, ...) act on the
// main namespace "/". All methods are safe for concurrent use; register
// handlers and middlewares before serving.
type Server struct {
	opts    Options
	log     *slog.Logger
	engine  *engineio.Server
	main    *Namespace
	client  *clientFiles
	closing atomic.Bool
	// limits bound a received packet whatever the parser: MaxAttachments
	// binary values, and no more bytes in all than one message may have.
	limits sioparser.Limits

	mu          sync.RWMutex
	nsps        map[string]*Namespace // guarded by mu
	parents     []*Namespace          // guarded by mu; dynamic namespaces, in registration order
	onNewNsp    []func(*Namespace)    // guarded by mu
	clients     map[*client]struct{}  // guarded by mu
	clientsGone *sync.Cond            // signalled (with mu) when clients shrinks
	observers   []Observer            // guarded by mu; see AddObserver
}

// NewServer returns a server with the given options (nil for the defaults).
func NewServer(opts *Options) *Server {
	o := opts.withDefaults()
	s := &Server{
		opts:    o,
		log:     o.Logger,
		nsps:    make(map[string]*Namespace),
		clients: make(map[*client]struct{}),
	}
	s.clientsGone = sync.NewCond(&s.mu)
	if o.Observer != nil {
		s.observers = []Observer{o.Observer}
	}
	s.engine = engineio.NewServer(&o.Engine)
	s.limits = sioparser.Limits{MaxAttachments: o.MaxAttachments, MaxBytes: s.engine.Options().MaxHTTPBufferSize}
	s.engine.OnConnection(s.onEngineConnection)
	s.main = s.Of("/")
	if !o.DisableServeClient {
		s.client = newClientFiles(o.ClientDir, o.Logger)
	}
	return s
}

// Engine returns the underlying Engine.IO server.
func (s *Server) Engine() *engineio.Server { return s.engine }

// ServeHTTP serves the Socket.IO protocol and, unless disabled, the
// JavaScript client files.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, s.opts.Path)
	if !ok || (rest != "" && rest[0] != '/') {
		http.NotFound(w, r)
		return
	}
	if s.client != nil && s.client.serve(w, r, strings.TrimPrefix(rest, "/"), s.opts.Engine.CORS) {
		return
	}
	s.engine.ServeHTTP(w, r)
}

func (s *Server) onEngineConnection(conn *engineio.Conn) {
	c := newClient(s, conn)
	s.mu.Lock()
	s.clients[c] = struct{}{}
	s.mu.Unlock()
	conn.SetHandler(c)
	if s.closing.Load() {
		c.close()
		return
	}
	if conn.Protocol() == 3 {
		c.connectV3Main()
	}
}

func (s *Server) removeClient(c *client) {
	s.mu.Lock()
	delete(s.clients, c)
	s.clientsGone.Broadcast()
	s.mu.Unlock()
}

// Of returns the namespace with the given name, creating it if needed. A
// name without a leading slash gets one. A new name that matches a dynamic
// namespace made by OfRegexp becomes one of its children.
func (s *Server) Of(name string) *Namespace {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	s.mu.Lock()
	if n := s.nsps[name]; n != nil {
		s.mu.Unlock()
		return n
	}
	var parent *Namespace
	for _, p := range s.parents {
		if p.re != nil && p.re.MatchString(name) {
			parent = p
			break
		}
	}
	n := s.createLocked(name, parent)
	hooks := s.onNewNsp
	s.mu.Unlock()
	s.announce(n, hooks)
	return n
}

// OfRegexp returns a dynamic namespace: a client connecting to a namespace
// whose name matches re creates it as a child of the returned namespace,
// whose middlewares and handlers apply to every child. Emitting on it
// broadcasts to all its children.
func (s *Server) OfRegexp(re *regexp.Regexp) *Namespace {
	n := newParentNamespace(s, func(name string, _ map[string]any) bool { return re.MatchString(name) })
	n.re = re
	return s.addParent(n)
}

// OfFunc returns a dynamic namespace whose children are the namespaces that
// allow accepts, given the namespace name and the client's auth payload.
// See OfRegexp.
func (s *Server) OfFunc(allow func(name string, auth map[string]any) bool) *Namespace {
	return s.addParent(newParentNamespace(s, allow))
}

func (s *Server) addParent(n *Namespace) *Namespace {
	s.mu.Lock()
	s.parents = append(s.parents, n)
	s.mu.Unlock()
	return n
}

// createLocked makes a namespace; the caller holds s.mu.
func (s *Server) createLocked(name string, parent *Namespace) *Namespace {
	n := newNamespace(s, name, parent)
	for _, o := range s.observers {
		n.observe(o)
	}
	s.nsps[name] = n
	if parent != nil {
		parent.addChild(n)
	}
	return n
}

// announce initialises a new namespace's adapter and tells the hooks.
func (s *Server) announce(n *Namespace, hooks []func(*Namespace)) {
	if err := n.adapter.Init(); err != nil {
		s.log.Error("socketio: adapter init failed", "namespace", n.name, "err", err)
	}
	if n.name != "/" {
		for _, fn := range hooks {
			fn(n)
		}
	}
}

// namespaceFor returns the namespace a client may connect to, creating a
// dynamic child when a parent allows it; nil if there is none.
func (s *Server) namespaceFor(name string, auth map[string]any) *Namespace {
	s.mu.RLock()
	n := s.nsps[name]
	parents := s.parents
	s.mu.RUnlock()
	if n != nil {
		return n
	}
	for _, p := range parents {
		if !p.match(name, auth) {
			continue
		}
		s.mu.Lock()
		if n = s.nsps[name]; n != nil {
			s.mu.Unlock()
			return n
		}
		n = s.createLocked(name, p)
		hooks := s.onNewNsp
		s.mu.Unlock()
		s.announce(n, hooks)
		return n
	}
	return nil
}

func (s *Server) removeNamespace(n *Namespace) {
	s.mu.Lock()
	if s.nsps[n.name] == n {
		delete(s.nsps, n.name)
	}
	s.mu.Unlock()
}

// OnNewNamespace registers fn to be called when a namespace other than the
// main one is created (Node's "new_namespace" event).
func (s *Server) OnNewNamespace(fn func(*Namespace)) {
	s.mu.Lock()
	s.onNewNsp = append(s.onNewNsp, fn)
	s.mu.Unlock()
}

// Sockets returns the main namespace (Node's io.sockets).
func (s *Server) Sockets() *Namespace { return s.main }

// OnConnection registers fn for each socket connecting to the main
// namespace.
func (s *Server) OnConnection(fn func(*Socket)) { s.main.OnConnection(fn) }

// Use registers a middleware of the main namespace.
func (s *Server) Use(mw Middleware) { s.main.Use(mw) }

// On registers a handler of events other servers send to the main
// namespace with ServerSideEmit.
func (s *Server) On(event string, handler any) { s.main.On(event, handler) }

// To selects the sockets in rooms of the main namespace.
func (s *Server) To(rooms ...string) *BroadcastOperator { return s.main.To(rooms...) }

// In is To.
func (s *Server) In(rooms ...string) *BroadcastOperator { return s.main.In(rooms...) }

// Except selects the sockets of the main namespace not in rooms.
func (s *Server) Except(rooms ...string) *BroadcastOperator { return s.main.Except(rooms...) }

// Local restricts the next operation to this server.
func (s *Server) Local() *BroadcastOperator { return s.main.Local() }

// Volatile lets the next emit be dropped for clients not ready to receive.
func (s *Server) Volatile() *BroadcastOperator { return s.main.Volatile() }

// Compress sets whether the next emit uses WebSocket compression (Node's
// io.compress(false)): see Socket.Compress.
func (s *Server) Compress(compress bool) *BroadcastOperator { return s.main.Compress(compress) }

// Timeout sets how long a broadcast waits for acknowledgements.
func (s *Server) Timeout(d time.Duration) *BroadcastOperator { return s.main.Timeout(d) }

// Emit sends an event to every socket of the main namespace.
func (s *Server) Emit(event string, args ...any) error { return s.main.Emit(event, args...) }

// Send emits a "message" event to every socket of the main namespace.
func (s *Server) Send(args ...any) error { return s.main.Send(args...) }

// EmitWithAck sends an event to every socket of the main namespace and
// collects their acknowledgements.
func (s *Server) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	return s.main.EmitWithAck(ctx, event, args...)
}

// FetchSockets describes the sockets of the main namespace, across the
// cluster.
func (s *Server) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return s.main.FetchSockets(ctx)
}

// SocketsJoin makes every socket of the main namespace join rooms.
func (s *Server) SocketsJoin(rooms ...string) error { return s.main.SocketsJoin(rooms...) }

// SocketsLeave makes every socket of the main namespace leave rooms.
func (s *Server) SocketsLeave(rooms ...string) error { return s.main.SocketsLeave(rooms...) }

// DisconnectSockets disconnects every socket of the main namespace; with
// close, their connections are closed too.
func (s *Server) DisconnectSockets(close bool) error { return s.main.DisconnectSockets(close) }

// ServerSideEmit sends an event to the main namespace of the other servers
// of the cluster.
func (s *Server) ServerSideEmit(event string, args ...any) error {
	return s.main.ServerSideEmit(event, args...)
}

// ServerSideEmitWithAck sends an event to the other servers and collects one
// answer from each.
func (s *Server) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	return s.main.ServerSideEmitWithAck(ctx, event, args...)
}

// Shutdown disconnects every socket with reason "server shutting down",
// closes the connections and the adapters, and waits until the connections
// are gone or ctx is done. The server then refuses new connections. It does
// not stop the http.Server.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.mu.RLock()
	nsps := make([]*Namespace, 0, len(s.nsps))
	for _, n := range s.nsps {
		nsps = append(nsps, n)
	}
	s.mu.RUnlock()
	for _, n := range nsps {
		for _, sock := range n.localSockets() {
			sock.onClose(ReasonServerShuttingDown, nil)
		}
	}
	s.engine.Close()

	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.clientsGone.Broadcast()
		s.mu.Unlock()
	})
	defer stop()
	go func() {
		s.mu.Lock()
		for len(s.clients) > 0 && ctx.Err() == nil {
			s.clientsGone.Wait()
		}
		s.mu.Unlock()
		close(done)
	}()
	<-done
	for _, n := range nsps {
		_ = n.adapter.Close()
	}
	return ctx.Err()
}

// Close is Shutdown without a deadline.
func (s *Server) Close() error { return s.Shutdown(context.Background()) }
