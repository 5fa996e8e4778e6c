package socketio

import (
	"errors"

	ev "github.com/socketio-go/socketio/internal/event"
)

// Errors returned by the package.
var (
	// ErrTimeout: an acknowledgement did not arrive in time. Its text is the
	// Node server's.
	ErrTimeout = errors.New("operation has timed out")
	// ErrDisconnected: the socket disconnected before the acknowledgement
	// arrived.
	ErrDisconnected = errors.New("socketio: socket disconnected")
	// ErrReservedEvent: the event name is reserved ("connect",
	// "connect_error", "disconnect", "disconnecting", "newListener",
	// "removeListener").
	ErrReservedEvent = errors.New("socketio: reserved event name")
	// ErrNoTimeout: a broadcast with an acknowledgement callback needs a
	// Timeout.
	ErrNoTimeout = errors.New("socketio: a broadcast with acknowledgements needs a Timeout")
	// ErrServerClosed: the server is shutting down.
	ErrServerClosed = errors.New("socketio: server closed")
	// ErrParentNamespace: the operation is not available on a dynamic
	// (parent) namespace.
	ErrParentNamespace = errors.New("socketio: not supported on a parent namespace")
	// ErrInvalidArguments is wrapped by the error OnError handlers receive
	// when an event's (or an acknowledgement's) arguments do not decode
	// into the handler's parameter types. The handler is then not called.
	ErrInvalidArguments = ev.ErrInvalidArguments
)

// ConnectError is an error with data for the client: returned by a
// middleware, it refuses the connection, and the client's connect_error
// event receives an error whose message is Message and whose data is Data.
type ConnectError struct {
	Message string
	Data    any
}

// NewConnectError returns a ConnectError.
func NewConnectError(message string, data any) *ConnectError {
	return &ConnectError{Message: message, Data: data}
}

func (e *ConnectError) Error() string { return e.Message }

// connectErrorPayload is the CONNECT_ERROR payload for err.
func connectErrorPayload(err error) map[string]any {
	payload := map[string]any{"message": err.Error()}
	var ce *ConnectError
	if errors.As(err, &ce) {
		payload["message"] = ce.Message
		if ce.Data != nil {
			payload["data"] = ce.Data
		}
		return payload
	}
	var withData interface{ Data() any }
	if errors.As(err, &withData) {
		if d := withData.Data(); d != nil {
			payload["data"] = d
		}
	}
	return payload
}
