// Package adapter defines how a Socket.IO namespace finds the sockets a
// broadcast or a server-wide operation is for: the Adapter interface, and
// Memory, the adapter of a single server.
//
// An adapter owns the room index of one namespace. A cluster adapter (Redis,
// ...) implements the same interface and forwards each operation to the other
// servers as well; it usually wraps a Memory for the local part. The package
// never sees a transport: local sockets are reached through the Socket
// interface, which package socketio implements.
package adapter

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/socketio-go/socketio/sioparser"
)

// SocketID identifies a socket in its namespace (20 characters).
type SocketID = string

// Room names a group of sockets. Every socket is in the room named by its
// own id.
type Room = string

// BroadcastFlags modify a broadcast.
type BroadcastFlags struct {
	// Volatile packets may be dropped when a client is not ready to receive.
	Volatile bool
	// Local restricts the operation to this server.
	Local bool
	// Timeout bounds a broadcast with acknowledgements.
	Timeout time.Duration
	// ExpectSingleResponse marks an emit to one remote socket with an
	// acknowledgement (as Node's RemoteSocket.emit does).
	ExpectSingleResponse bool
	// NoCompress sends the packet without WebSocket compression (Node's
	// compress(false)).
	NoCompress bool
	// Direct marks an emit to one socket of this server that goes through
	// the adapter because connection state recovery is on (Rooms holds the
	// socket's id, Local is set). An adapter that keeps packets for
	// recovery across servers (Redis Streams) records it for the cluster,
	// as Node does; others deliver it locally.
	Direct bool
}

// BroadcastOptions select the sockets of an operation: those in any of Rooms
// (every socket when Rooms is empty) and in none of Except.
type BroadcastOptions struct {
	Rooms  []Room
	Except []Room
	Flags  BroadcastFlags
}

// AckResponse is a client's acknowledgement of a broadcast: Data is the JSON
// array of its arguments, with placeholders for Attachments. (Across a
// cluster only the first argument travels, as with Node's adapters.)
type AckResponse struct {
	Data        []byte
	Attachments [][]byte
}

// Handshake describes the request that opened a socket's connection.
type Handshake struct {
	// Headers of the handshake request.
	Headers http.Header
	// Time the socket was created.
	Time time.Time
	// Address of the client (its IP address).
	Address string
	// XDomain reports a cross-origin request (an Origin header was present).
	XDomain bool
	// Secure reports a connection over TLS.
	Secure bool
	// Issued is Time in milliseconds since the Unix epoch.
	Issued int64
	// URL is the request URI of the handshake.
	URL string
	// Query holds the query parameters of the handshake.
	Query url.Values
	// Auth is the payload of the client's CONNECT packet (its "auth" option).
	Auth map[string]any
}

// SocketInfo describes a socket, local or on another server, for
// FetchSockets.
type SocketInfo struct {
	ID        SocketID
	Handshake *Handshake
	Rooms     []Room
	Data      any
}

// Session is the state of a disconnected socket kept for connection state
// recovery.
type Session struct {
	SID   SocketID
	PID   string // private session id, known only to the client
	Rooms []Room
	Data  any
	// MissedPackets are the event payloads (JSON arrays) broadcast to the
	// socket's rooms while it was away, oldest first.
	MissedPackets []MissedPacket
}

// MissedPacket is one event payload kept for connection state recovery.
type MissedPacket struct {
	Data        []byte
	Attachments [][]byte
}

// Prepared is a packet encoded once by Namespace.Prepare, opaque to the
// adapter, written to any number of local sockets.
type Prepared any

// Socket is a local socket as the adapter sees it. Its methods must not
// block: they queue work.
type Socket interface {
	ID() SocketID
	// Send writes a prepared packet to the client.
	Send(p Prepared, flags BroadcastFlags)
	// SendWithAck writes a prepared packet with acknowledgement id and
	// registers ack to be called with the client's answer.
	SendWithAck(p Prepared, flags BroadcastFlags, id uint64, ack func(AckResponse))
	// Join and Leave change the socket's rooms (through the adapter).
	Join(rooms ...Room)
	Leave(room Room)
	// Disconnect disconnects the socket; close also closes its connection.
	Disconnect(close bool)
	// Info describes the socket for FetchSockets.
	Info() SocketInfo
}

// Namespace is what an adapter needs from its namespace.
type Namespace interface {
	// Name is the namespace name, such as "/" or "/chat".
	Name() string
	// Prepare encodes p once for writing to local sockets.
	Prepare(p *sioparser.Packet) Prepared
	// NextAckID returns a fresh acknowledgement id.
	NextAckID() uint64
	// OnServerSideEmit delivers an event that another server sent with
	// ServerSideEmit: data is the JSON array [event, args...]. ack is nil
	// when the sender expects no answer.
	OnServerSideEmit(data []byte, attachments [][]byte, ack func(AckResponse))
}

// RoomEventKind names a change of the room index, with Node's event names.
type RoomEventKind string

// The room events, as Node's adapter emits them.
const (
	CreateRoom RoomEventKind = "create-room" // a room got its first member
	DeleteRoom RoomEventKind = "delete-room" // a room lost its last member
	JoinRoom   RoomEventKind = "join-room"   // a socket joined a room
	LeaveRoom  RoomEventKind = "leave-room"  // a socket left a room
)

// RoomEvent is a change of the local room index. Every socket is in the
// room named by its id, so its arrival and departure make events too.
type RoomEvent struct {
	Kind RoomEventKind
	Room Room
	ID   SocketID // the socket (JoinRoom, LeaveRoom)
}

// RoomWatcher is implemented by a Namespace that wants its adapter's room
// events (package socketio's namespaces do). Memory finds it on the
// Namespace it is given.
type RoomWatcher interface {
	// RoomsWatched reports whether events are wanted now; it is asked on
	// every change and must be cheap.
	RoomsWatched() bool
	// QueueRoomEvent records an event. It is called with the adapter's
	// lock held, in the order of the changes: it must not call back.
	QueueRoomEvent(e RoomEvent)
	// DeliverRoomEvents is called once the lock is released, to hand the
	// recorded events to their listeners.
	DeliverRoomEvents()
}

// RecoveryAware is implemented by a Namespace (package socketio's do) to
// tell cluster adapters that keep sessions themselves whether connection
// state recovery is on.
type RecoveryAware interface {
	// RecoveryDuration returns how long a disconnected session may be
	// recovered (RecoveryOptions.MaxDisconnectionDuration), 0 when
	// connection state recovery is off.
	RecoveryDuration() time.Duration
}

// Adapter routes the operations of one namespace. All methods are safe for
// concurrent use. Methods that reach other servers take a context and
// return an error; local work never blocks on the network.
type Adapter interface {
	// Init is called once, before the namespace is used.
	Init() error
	// Close releases the adapter's resources.
	Close() error

	// AddAll adds the socket to rooms, registering it on first use.
	AddAll(s Socket, rooms ...Room)
	// Del removes the socket from one room.
	Del(id SocketID, room Room)
	// DelAll removes the socket from every room and forgets it.
	DelAll(id SocketID)
	// SocketRooms returns the rooms of a local socket (nil if unknown).
	SocketRooms(id SocketID) []Room
	// Rooms returns the local rooms that have members.
	Rooms() []Room

	// Broadcast sends an EVENT packet to the selected sockets.
	Broadcast(p *sioparser.Packet, opts *BroadcastOptions) error
	// BroadcastWithAck sends an EVENT packet that asks for
	// acknowledgements. clientCount is called once per server with the
	// number of sockets the packet went to there; ack is called for each
	// answer. The packet's ID is set by the adapter.
	BroadcastWithAck(p *sioparser.Packet, opts *BroadcastOptions, clientCount func(int), ack func(AckResponse)) error
	// ServerCount returns the number of servers in the cluster.
	ServerCount(ctx context.Context) (int, error)

	// SocketIDs returns the ids of the sockets in any of rooms (all when
	// rooms is empty), across the cluster.
	SocketIDs(ctx context.Context, rooms []Room) ([]SocketID, error)
	// FetchSockets describes the selected sockets, across the cluster.
	FetchSockets(ctx context.Context, opts *BroadcastOptions) ([]SocketInfo, error)
	// AddSockets makes the selected sockets join rooms.
	AddSockets(opts *BroadcastOptions, rooms []Room) error
	// DelSockets makes the selected sockets leave rooms.
	DelSockets(opts *BroadcastOptions, rooms []Room) error
	// DisconnectSockets disconnects the selected sockets.
	DisconnectSockets(opts *BroadcastOptions, close bool) error

	// ServerSideEmit sends an event (data: JSON array [event, args...]) to
	// the namespace on every other server.
	ServerSideEmit(data []byte, attachments [][]byte) error
	// ServerSideEmitWithAck does the same and collects one answer from each
	// other server until ctx is done.
	ServerSideEmitWithAck(ctx context.Context, data []byte, attachments [][]byte) ([]AckResponse, error)

	// PersistSession keeps the state of a disconnected socket for
	// connection state recovery.
	PersistSession(s *Session)
	// RestoreSession returns the state of a disconnected socket and the
	// packets it missed since offset, or nil if it cannot be recovered.
	RestoreSession(pid, offset string) (*Session, error)
}

// ErrTimeout is returned when servers of a cluster did not answer in time.
var ErrTimeout = errors.New("adapter: operation has timed out")
