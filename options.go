package socketio

import (
	"log/slog"
	"time"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/sioparser"
)

// Options configure a Server. The zero value of each field selects the
// default named in its comment, which is the Node.js server's default.
type Options struct {
	// Path is where the server answers, "/socket.io" by default. Mount the
	// Server on Path + "/" in your router.
	Path string
	// ConnectTimeout closes a connection that joins no namespace in time.
	// Default 45s.
	ConnectTimeout time.Duration
	// Adapter creates the adapter of each namespace. Default: an in-memory
	// adapter (adapter.NewMemory).
	Adapter func(nsp adapter.Namespace) adapter.Adapter
	// ConnectionStateRecovery, when set, lets clients that lost their
	// connection for a short while get their id, rooms, data and the
	// events they missed back.
	ConnectionStateRecovery *RecoveryOptions
	// CleanupEmptyChildNamespaces removes a namespace created by a dynamic
	// namespace when its last socket leaves.
	CleanupEmptyChildNamespaces bool
	// MaxAttachments bounds the binary attachments of one received packet
	// (with a Parser such as msgpackparser, its binary values). Default 10.
	// All of a packet's attachments together, with its JSON payload (for
	// another parser, once decoded), may weigh no more than
	// Engine.MaxHTTPBufferSize.
	MaxAttachments int
	// AttachmentTimeout bounds how long a received binary packet may wait
	// for its attachments; a connection whose packet stays incomplete
	// longer is closed with reason "parse error". Default 30s.
	AttachmentTimeout time.Duration
	// MaxNamespacesPerConnection bounds the namespaces one connection may
	// be in at a time, and the CONNECTs it may have refused (an unknown
	// namespace, a middleware's error) over its life: a CONNECT over either
	// gets a connect_error "Too many namespaces on this connection" and
	// creates no dynamic namespace. Default 100.
	MaxNamespacesPerConnection int
	// DisableServeClient stops the server from serving the JavaScript
	// client files at Path + "/socket.io.js" and friends.
	DisableServeClient bool
	// ClientDir is where the client files are read from. Default: the
	// node_modules/socket.io-client/dist folder found from the working
	// directory upwards.
	ClientDir string
	// Parser encodes and decodes the packets (Node's parser option): nil
	// for the default parser (JSON, with binary values as attachments),
	// or another one, such as msgpackparser.New(), which clients must use
	// too. Handlers, acknowledgements and adapters work the same whatever
	// the parser.
	Parser sioparser.Parser
	// Engine configures the Engine.IO layer: heartbeat, transports, CORS,
	// payload limits, cookies.
	Engine engineio.Options
	// Logger receives the server's logs. Default slog.Default().
	Logger *slog.Logger
	// Observer, when set, is told about namespaces, sockets and events,
	// for metrics and monitoring (see Observer; Server.AddObserver adds
	// more, Engine.Observer watches the Engine.IO layer).
	Observer Observer
}

// RecoveryOptions configure connection state recovery.
type RecoveryOptions struct {
	// MaxDisconnectionDuration is how long a disconnected session can be
	// recovered. Default 2 minutes.
	MaxDisconnectionDuration time.Duration
	// RunMiddlewares runs the middlewares again for a recovered socket
	// (Node's skipMiddlewares: false).
	RunMiddlewares bool
}

// CORSOptions configure CORS; see engineio.CORSOptions.
type CORSOptions = engineio.CORSOptions

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.Path == "" {
		r.Path = "/socket.io"
	}
	for len(r.Path) > 1 && r.Path[len(r.Path)-1] == '/' {
		r.Path = r.Path[:len(r.Path)-1]
	}
	if r.ConnectTimeout <= 0 {
		r.ConnectTimeout = 45 * time.Second
	}
	if r.MaxAttachments <= 0 {
		r.MaxAttachments = 10
	}
	if r.AttachmentTimeout <= 0 {
		r.AttachmentTimeout = 30 * time.Second
	}
	if r.MaxNamespacesPerConnection <= 0 {
		r.MaxNamespacesPerConnection = 100
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	if r.Engine.Logger == nil {
		r.Engine.Logger = r.Logger
	}
	if r.ConnectionStateRecovery != nil && r.ConnectionStateRecovery.MaxDisconnectionDuration <= 0 {
		c := *r.ConnectionStateRecovery
		c.MaxDisconnectionDuration = 2 * time.Minute
		r.ConnectionStateRecovery = &c
	}
	if r.Adapter == nil {
		var mo *adapter.MemoryOptions
		if rec := r.ConnectionStateRecovery; rec != nil {
			mo = &adapter.MemoryOptions{Recovery: &adapter.RecoveryOptions{MaxDisconnectionDuration: rec.MaxDisconnectionDuration}}
		}
		r.Adapter = func(nsp adapter.Namespace) adapter.Adapter { return adapter.NewMemory(nsp, mo) }
	}
	return r
}
