package engineio

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
)

// ErrorCode is an Engine.IO request error code, as sent in the JSON body of
// a rejected HTTP request: {"code":N,"message":"..."}.
type ErrorCode int

// The request error codes of the reference server.
const (
	UnknownTransport           ErrorCode = 0
	UnknownSID                 ErrorCode = 1
	BadHandshakeMethod         ErrorCode = 2
	BadRequest                 ErrorCode = 3
	Forbidden                  ErrorCode = 4
	UnsupportedProtocolVersion ErrorCode = 5
)

var errorMessages = [...]string{
	"Transport unknown",
	"Session ID unknown",
	"Bad handshake method",
	"Bad request",
	"Forbidden",
	"Unsupported protocol version",
}

// Message is the text the reference server sends for the code.
func (c ErrorCode) Message() string {
	if c >= 0 && int(c) < len(errorMessages) {
		return errorMessages[c]
	}
	return "Unknown error"
}

// RequestError describes a rejected HTTP request; it is passed to
// Server.OnConnectionError.
type RequestError struct {
	Code    ErrorCode
	Message string        // sent to the client
	Context string        // what went wrong, for logs (e.g. "TRANSPORT_MISMATCH")
	Request *http.Request // the rejected request
}

func (e *RequestError) Error() string {
	s := "engineio: " + e.Message
	if e.Context != "" {
		s += " (" + e.Context + ")"
	}
	return s
}

// Reasons a session closes; they are the reference server's strings.
const (
	ReasonTransportError = "transport error"
	ReasonTransportClose = "transport close"
	ReasonForcedClose    = "forced close"
	ReasonPingTimeout    = "ping timeout"
	ReasonParseError     = "parse error"
)

// Errors that describe why a session closed (the err argument of the close
// callback).
var (
	// ErrSlowConsumer: the connection's outbound queue went over
	// Options.MaxBufferedBytes.
	ErrSlowConsumer = errors.New("engineio: outbound queue full (slow consumer)")
	// ErrPollOverlap: a second long-polling GET arrived while one was pending.
	ErrPollOverlap = errors.New("engineio: overlap from client")
	// ErrDataOverlap: a second long-polling POST arrived while one was read.
	ErrDataOverlap = errors.New("engineio: data request overlap from client")
	// ErrPollClosed: the client went away during a long-polling request,
	// or the body of its POST did not come in time (the error then wraps
	// the read error too).
	ErrPollClosed = errors.New("engineio: poll connection closed prematurely")
	// ErrInvalidContent: a long-polling POST declared binary content.
	ErrInvalidContent = errors.New("engineio: invalid content")
	// ErrHeartbeatDirection: the client sent a ping, which v4 forbids (or,
	// with protocol v3, where the client pings, a pong).
	ErrHeartbeatDirection = errors.New("engineio: invalid heartbeat direction")
	// ErrClosed is returned by Send once the connection is closing or closed.
	ErrClosed = errors.New("engineio: connection closed")
)

// writeJSONError answers like Node's abortRequest.
func writeJSONError(w http.ResponseWriter, code ErrorCode, message string) {
	status := http.StatusBadRequest
	if code == Forbidden {
		status = http.StatusForbidden
	}
	msg, _ := json.Marshal(message)
	body := `{"code":` + strconv.Itoa(int(code)) + `,"message":` + string(msg) + `}`
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h["X-Content-Type-Options"] = nosniff
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// writeUpgradeError answers a failed WebSocket upgrade like Node's
// abortUpgrade (which always answers 400): plain message, connection
// closed.
func writeUpgradeError(w http.ResponseWriter, status int, message string) {
	h := w.Header()
	h.Set("Connection", "close")
	h.Set("Content-Type", "text/html")
	h["X-Content-Type-Options"] = nosniff
	h.Set("Content-Length", strconv.Itoa(len(message)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(message))
}
