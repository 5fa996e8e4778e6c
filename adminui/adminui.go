// Package adminui is the server side of the official Socket.IO Admin UI
// (npm @socket.io/admin-ui 0.5.1): the /admin namespace that the UI
// connects to, speaking the protocol of that package's instrument(), and
// an http.Handler serving the UI's built files.
//
//	srv := socketio.NewServer(nil)
//	ui, err := adminui.Instrument(srv, &adminui.Options{
//		Auth: &adminui.BasicAuth{Username: "admin", Password: bcryptHash},
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer ui.Close()
//	http.Handle("/socket.io/", srv)
//	files := adminui.Handler(nil) // the UI, from node_modules
//	http.Handle("/admin", files)  // redirects to /admin/
//	http.Handle("/admin/", files)
//
// The UI (a browser page) connects to the server as a Socket.IO client on
// the admin namespace, logs in with the user name and password, and gets:
// the server's configuration, statistics every 2 seconds, every socket of
// every namespace (across a cluster, through the adapter's FetchSockets)
// and, in development mode, every connection, disconnection, room change
// and event as it happens. From it an administrator makes sockets join or
// leave rooms and disconnects them, on any server of the cluster
// (SocketsJoin, SocketsLeave, DisconnectSockets through the adapter).
//
// Differences from Node's instrument() are listed in the README ("Admin
// UI").
package adminui

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/sioparser"
)

// Options configure the admin namespace. Auth or NoAuth must be set.
type Options struct {
	// Namespace is the admin namespace. Default "/admin".
	Namespace string
	// Auth, when set, requires the UI to log in with this user name and
	// password.
	Auth *BasicAuth
	// NoAuth lets anyone connect to the admin namespace without a
	// password (Node's auth: false). Use it on a private network only.
	NoAuth bool
	// ReadOnly refuses every action of the UI (join, leave, disconnect,
	// emit): only monitoring.
	ReadOnly bool
	// Production sends only the server statistics (Node's mode:
	// "production"): no socket list and no per-socket events, which cost
	// a message to every UI for every event of the application.
	Production bool
	// ServerID identifies this server in the UI's Servers page. Default:
	// the host name. In a cluster, give each server its own.
	ServerID string
	// StatsInterval is how often the server statistics are sent. Default
	// 2 seconds, as the UI expects (it marks a server unhealthy after 10
	// seconds without).
	StatsInterval time.Duration
	// SessionTTL is how long a login session (what lets a reloaded UI in
	// without the password) lasts. Default 24 hours; at most MaxSessions
	// are kept, the oldest going first.
	SessionTTL  time.Duration
	MaxSessions int
	// Logger receives the package's logs. Default slog.Default().
	Logger *slog.Logger
}

// BasicAuth is the UI's login: a user name and the bcrypt hash of the
// password (as Node's option takes it: "$2a$", "$2b$" or "$2y$", any
// cost), never the password itself. Make one with:
//
//	hash, _ := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
type BasicAuth struct {
	Username string
	Password string
}

// The features the UI reads from the configuration.
const (
	featureEmit             = "EMIT"
	featureJoin             = "JOIN"
	featureLeave            = "LEAVE"
	featureDisconnect       = "DISCONNECT"
	featureMJoin            = "MJOIN"
	featureMLeave           = "MLEAVE"
	featureMDisconnect      = "MDISCONNECT"
	featureAggregatedEvents = "AGGREGATED_EVENTS"
	featureAllEvents        = "ALL_EVENTS"
)

// errInvalidCredentials is the exact message the UI recognises: it then
// asks for the password again.
var errInvalidCredentials = errors.New("invalid credentials")

// ErrNoAuth is returned by Instrument when neither Auth nor NoAuth is set.
var ErrNoAuth = errors.New("adminui: set Options.Auth, or NoAuth to allow anyone in")

// AdminUI is the admin namespace of one server. All methods are safe for
// concurrent use.
type AdminUI struct {
	srv      *socketio.Server
	admin    *socketio.Namespace
	opts     Options
	log      *slog.Logger
	features []string
	dev      bool
	hashCost int // for a dummy comparison when the user name is wrong

	sessions sessionStore
	stats    eventBuffer
	hostname string

	authSem chan struct{} // bounds the bcrypt comparisons running at once
	pending sync.Map      // *socketio.Socket -> the session id its login created, until sent

	mu        sync.Mutex
	conns     map[string][]*socketio.Socket // guarded by mu; Engine.IO id -> its sockets (development mode)
	watched   map[*socketio.Namespace]bool  // guarded by mu; namespaces whose rooms are watched
	timer     *time.Timer                   // guarded by mu; the next statistics
	closed    bool                          // guarded by mu
	closeOnce sync.Once
}

// Instrument creates the admin namespace on srv and starts sending
// statistics. Call it before serving, and Close when done.
func Instrument(srv *socketio.Server, opts *Options) (*AdminUI, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Auth == nil && !o.NoAuth {
		return nil, ErrNoAuth
	}
	cost := 0
	if o.Auth != nil {
		c, err := bcrypt.Cost([]byte(o.Auth.Password))
		if err != nil {
			return nil, fmt.Errorf("adminui: the password must be a bcrypt hash: %w", err)
		}
		cost = c
	}
	if o.Namespace == "" {
		o.Namespace = "/admin"
	}
	if o.StatsInterval <= 0 {
		o.StatsInterval = 2 * time.Second
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 24 * time.Hour
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = 1000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	host, _ := os.Hostname()
	if o.ServerID == "" {
		o.ServerID = host
	}
	ui := &AdminUI{
		srv:      srv,
		opts:     o,
		log:      o.Logger,
		dev:      !o.Production,
		hashCost: cost,
		hostname: host,
		authSem:  make(chan struct{}, 4),
		conns:    make(map[string][]*socketio.Socket),
		watched:  make(map[*socketio.Namespace]bool),
	}
	ui.sessions.init(o.SessionTTL, o.MaxSessions)
	ui.stats.init()
	if !o.ReadOnly {
		ui.features = []string{featureEmit, featureJoin, featureLeave, featureDisconnect, featureMJoin, featureMLeave, featureMDisconnect}
	}
	ui.features = append(ui.features, featureAggregatedEvents)
	if ui.dev {
		ui.features = append(ui.features, featureAllEvents)
	}

	ui.admin = srv.Of(o.Namespace)
	ui.admin.Use(ui.authenticate)
	ui.admin.OnConnection(ui.onAdminConnection)
	srv.Engine().AddObserver((*engineObserver)(ui))
	if ui.dev {
		srv.OnNewNamespace(ui.watchRooms)
		for _, n := range srv.Namespaces() {
			ui.watchRooms(n)
		}
		srv.AddObserver((*observer)(ui))
	}
	ui.sendStats()
	return ui, nil
}

// Close stops the statistics. The admin namespace stays; its sockets are
// not disconnected.
func (ui *AdminUI) Close() error {
	ui.mu.Lock()
	ui.closed = true
	if ui.timer != nil {
		ui.timer.Stop()
	}
	ui.mu.Unlock()
	return nil
}

// Namespace returns the admin namespace.
func (ui *AdminUI) Namespace() *socketio.Namespace { return ui.admin }

// authenticate is the admin namespace's middleware (Node's order: a known
// session id, then the user name and password).
func (ui *AdminUI) authenticate(s *socketio.Socket) error {
	a := ui.opts.Auth
	if a == nil {
		return nil
	}
	auth := s.Handshake().Auth
	if id, ok := auth["sessionId"].(string); ok && id != "" && ui.sessions.valid(id) {
		return nil
	}
	user, _ := auth["username"].(string)
	pass, ok := auth["password"].(string)
	if !ok || len(pass) > 72 {
		// Not a string (Node crashes there), or longer than bcrypt reads.
		return errInvalidCredentials
	}
	// One bcrypt comparison costs tens of milliseconds: a few at a time.
	ui.authSem <- struct{}{}
	defer func() { <-ui.authSem }()
	hash := []byte(a.Password)
	if user != a.Username {
		// Compare anyway, so that a wrong name takes as long as a wrong
		// password.
		_ = bcrypt.CompareHashAndPassword(hash, []byte(pass+"\x00"))
		return errInvalidCredentials
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(pass)) != nil {
		return errInvalidCredentials
	}
	id := newSessionID()
	ui.sessions.add(id)
	ui.pending.Store(s, id)
	return nil
}

func newSessionID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (ui *AdminUI) onAdminConnection(s *socketio.Socket) {
	if id, ok := ui.pending.LoadAndDelete(s); ok {
		// After the CONNECT (Node sends it before, where the UI cannot
		// see it): the UI keeps it, and a reload skips the password.
		_ = s.Emit("session", id.(string))
	}
	if !ui.opts.ReadOnly {
		s.On("join", func(nsp, room string, filter *string) {
			ui.act(nsp, filter, func(b *socketio.BroadcastOperator) error { return b.SocketsJoin(room) })
		})
		s.On("leave", func(nsp, room string, filter *string) {
			ui.act(nsp, filter, func(b *socketio.BroadcastOperator) error { return b.SocketsLeave(room) })
		})
		s.On("_disconnect", func(nsp string, close bool, filter *string) {
			ui.act(nsp, filter, func(b *socketio.BroadcastOperator) error { return b.DisconnectSockets(close) })
		})
		s.On("emit", func(args socketio.Args) { ui.emit(args) })
	}
	_ = s.Emit("config", struct {
		SupportedFeatures []string `json:"supportedFeatures"`
	}{ui.features})
	if ui.dev {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = s.Emit("all_sockets", ui.allSockets(ctx))
		}()
	}
}

// namespace returns an existing namespace: unlike Node, actions never
// create one.
func (ui *AdminUI) namespace(name string) *socketio.Namespace {
	for _, n := range ui.srv.Namespaces() {
		if n.Name() == name {
			return n
		}
	}
	return nil
}

// act runs an action on the sockets of nsp, or of the filter room in it,
// across the cluster.
func (ui *AdminUI) act(nsp string, filter *string, fn func(*socketio.BroadcastOperator) error) {
	n := ui.namespace(nsp)
	if n == nil {
		return
	}
	b := n.In()
	if filter != nil && *filter != "" {
		b = n.In(*filter)
	}
	if err := fn(b); err != nil {
		ui.log.Warn("adminui: action failed", "namespace", nsp, "err", err)
	}
}

// emit handles ["emit", nsp, filter, event, ...args]; reserved event
// names are refused (Node crashes on them).
func (ui *AdminUI) emit(args socketio.Args) {
	var nsp, event string
	var filter *string
	if args.Len() < 3 || args.Decode(&nsp, &filter, &event) != nil || event == "" || sioparser.IsReservedEvent(event) {
		return
	}
	n := ui.namespace(nsp)
	if n == nil {
		return
	}
	vals, err := args.Values()
	if err != nil {
		return
	}
	b := n.In()
	if filter != nil && *filter != "" {
		b = n.In(*filter)
	}
	if err := b.Emit(event, rawArgs(args, vals[3:], 3)...); err != nil {
		ui.log.Warn("adminui: emit failed", "namespace", nsp, "event", event, "err", err)
	}
}

// rawArgs returns arguments to emit again: their JSON as it came (key order
// and numbers kept), or the decoded value for one holding binary data.
func rawArgs(args socketio.Args, vals []any, from int) []any {
	out := make([]any, len(vals))
	for i := range vals {
		raw := args.Raw(from + i)
		if hasBinary(vals[i]) {
			out[i] = vals[i]
		} else {
			out[i] = raw
		}
	}
	return out
}

func hasBinary(v any) bool {
	switch x := v.(type) {
	case []byte:
		return true
	case []any:
		return slices.ContainsFunc(x, hasBinary)
	case map[string]any:
		for _, e := range x {
			if hasBinary(e) {
				return true
			}
		}
	}
	return false
}

// broadcast sends an event to every UI (on every server of a cluster).
func (ui *AdminUI) broadcast(event string, args ...any) {
	if err := ui.admin.Emit(event, args...); err != nil {
		ui.log.Debug("adminui: broadcast failed", "event", event, "err", err)
	}
}

// now is the timestamp format of the UI: JavaScript's Date in JSON.
func now() string { return time.Now().UTC().Format(jsTime) }

const jsTime = "2006-01-02T15:04:05.000Z"
