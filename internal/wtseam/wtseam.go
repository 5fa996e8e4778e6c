// Package wtseam joins package engineio to package webtransport, which
// serves Engine.IO over WebTransport (HTTP/3, quic-go): engineio runs the
// sessions without importing quic-go, and without exporting API that only
// that package would call.
//
// Package engineio sets the functions at init; package webtransport, which
// imports engineio, calls them.
package wtseam

import (
	"context"
	"io"
	"net/http"
	"time"
)

// Stream is the bidirectional stream of a WebTransport session that carries
// the Engine.IO packets (engine.io-parser's WebTransport framing).
type Stream interface {
	// Read returns io.EOF when the client ended the stream or closed the
	// session cleanly; other errors mean the stream or the connection broke.
	io.Reader
	io.Writer
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
	// Close ends the write side of the stream after what was written.
	Close() error
}

// Session is a WebTransport session.
type Session interface {
	// AcceptStream waits for the client's first bidirectional stream.
	AcceptStream(ctx context.Context) (Stream, error)
	// Close closes the session with an application error code and reason;
	// it does not wait.
	Close(code uint32, reason string)
	// Context is done once the session has ended, whoever closed it.
	Context() context.Context
}

// The functions package engineio provides; engine is a *engineio.Server.
var (
	// Admit checks a WebTransport CONNECT request as a WebSocket handshake
	// is checked (transport allowed, header size, origin, server open) and,
	// when it is refused, answers it with an HTTP error and reports false.
	Admit func(engine any, w http.ResponseWriter, r *http.Request) bool
	// Serve runs a session accepted from request r until it ends: a new
	// Engine.IO session, or the upgrade of a long-polling one, as the first
	// packet of its stream says.
	Serve func(engine any, s Session, r *http.Request)
)
