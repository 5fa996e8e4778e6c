package socketio

// DisconnectReason tells why a socket was disconnected. The values are the
// strings of the Node.js server.
type DisconnectReason string

// The disconnect reasons.
const (
	// ReasonTransportError: the connection failed (write error, protocol
	// violation, oversized message, slow consumer).
	ReasonTransportError DisconnectReason = "transport error"
	// ReasonTransportClose: the client closed the connection (a closed tab,
	// a lost network).
	ReasonTransportClose DisconnectReason = "transport close"
	// ReasonForcedClose: the connection was closed by the server's Engine.IO
	// layer.
	ReasonForcedClose DisconnectReason = "forced close"
	// ReasonPingTimeout: the client did not answer a heartbeat in time.
	ReasonPingTimeout DisconnectReason = "ping timeout"
	// ReasonParseError: the client sent a packet that could not be decoded.
	ReasonParseError DisconnectReason = "parse error"
	// ReasonServerShuttingDown: Server.Shutdown or Server.Close was called.
	ReasonServerShuttingDown DisconnectReason = "server shutting down"
	// ReasonForcedServerClose: the server closed the connection (a socket
	// disconnected with close, or no namespace joined in time).
	ReasonForcedServerClose DisconnectReason = "forced server close"
	// ReasonClientNamespaceDisconnect: the client left the namespace
	// (socket.disconnect() in the client).
	ReasonClientNamespaceDisconnect DisconnectReason = "client namespace disconnect"
	// ReasonServerNamespaceDisconnect: the server removed the socket from
	// the namespace (Socket.Disconnect).
	ReasonServerNamespaceDisconnect DisconnectReason = "server namespace disconnect"
)

// recoverable reports whether a session ending this way may be resumed with
// connection state recovery.
func (r DisconnectReason) recoverable() bool {
	switch r {
	case ReasonTransportError, ReasonTransportClose, ReasonForcedClose, ReasonPingTimeout,
		ReasonServerShuttingDown, ReasonForcedServerClose:
		return true
	}
	return false
}
