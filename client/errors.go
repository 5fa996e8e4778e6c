package client

import (
	"encoding/json"
	"errors"

	"github.com/socketio-go/socketio/internal/event"
)

// DisconnectReason tells why a socket was disconnected. The values are the
// JavaScript client's strings.
type DisconnectReason string

// The disconnect reasons.
const (
	// ReasonIOServerDisconnect: the server disconnected the socket
	// (socket.disconnect() on the server). No reconnection follows.
	ReasonIOServerDisconnect DisconnectReason = "io server disconnect"
	// ReasonIOClientDisconnect: Socket.Disconnect or Manager.Close.
	ReasonIOClientDisconnect DisconnectReason = "io client disconnect"
	// ReasonPingTimeout: the server sent no ping in time.
	ReasonPingTimeout DisconnectReason = "ping timeout"
	// ReasonTransportClose: the connection was closed (the server went
	// away, the network was lost).
	ReasonTransportClose DisconnectReason = "transport close"
	// ReasonTransportError: the connection failed (an HTTP request or a
	// write failed).
	ReasonTransportError DisconnectReason = "transport error"
	// ReasonParseError: the server sent a packet that could not be
	// decoded.
	ReasonParseError DisconnectReason = "parse error"
	// ReasonForcedClose: the connection was closed by Manager.Close or by
	// the Disconnect of its last Socket. Only Manager.OnClose sees it (the
	// Sockets were disconnected with ReasonIOClientDisconnect).
	ReasonForcedClose DisconnectReason = "forced close"
)

// Errors returned by the package.
var (
	// ErrTimeout: an acknowledgement did not arrive in time (the
	// JavaScript client's message).
	ErrTimeout = errors.New("operation has timed out")
	// ErrDisconnected: the socket disconnected before the acknowledgement
	// arrived (the JavaScript client's message).
	ErrDisconnected = errors.New("socket has been disconnected")
	// ErrReservedEvent: the event name is reserved ("connect",
	// "connect_error", "disconnect", "disconnecting", "newListener",
	// "removeListener").
	ErrReservedEvent = errors.New("client: reserved event name")
	// ErrConnectTimeout: the Engine.IO connection did not open within
	// Options.Timeout.
	ErrConnectTimeout = errors.New("client: connection timeout")
	// ErrReconnectFailed: the reconnection attempts are exhausted.
	ErrReconnectFailed = errors.New("client: reconnection attempts exhausted")
	// ErrNotConnecting: WaitConnect on a socket that is not trying to
	// connect (never connected, or disconnected, with no attempt pending).
	ErrNotConnecting = errors.New("client: socket is not connecting")
	// ErrInvalidArguments is wrapped by the error OnError handlers receive
	// when an event's (or an acknowledgement's) arguments do not decode
	// into the handler's parameter types. The handler is then not called.
	// It is socketio.ErrInvalidArguments.
	ErrInvalidArguments = event.ErrInvalidArguments
)

// ConnectError is a namespace connection refused by the server (a
// CONNECT_ERROR packet): an unknown namespace ("Invalid namespace") or a
// middleware's error, with the data the middleware attached.
type ConnectError struct {
	Namespace string
	Message   string
	// Data is the JSON of the error's data, nil when there is none.
	Data json.RawMessage
}

func (e *ConnectError) Error() string { return e.Message }

// connectErrorFrom decodes a CONNECT_ERROR payload: {"message":..,
// "data":..} or, from older servers, a string.
func connectErrorFrom(nsp string, data []byte) *ConnectError {
	ce := &ConnectError{Namespace: nsp}
	var obj struct {
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	var s string
	switch {
	case json.Unmarshal(data, &obj) == nil:
		ce.Message, ce.Data = obj.Message, obj.Data
	case json.Unmarshal(data, &s) == nil:
		ce.Message = s
	default:
		ce.Message = string(data)
	}
	if len(ce.Data) == 0 || string(ce.Data) == "null" {
		ce.Data = nil
	}
	return ce
}
