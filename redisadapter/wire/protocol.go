package wire

// Request types of the classic adapter (RequestType in
// @socket.io/redis-adapter lib/index.ts). The channel and the encoding of
// each are in WIRE.md, section 1.
const (
	ReqSockets              = 0 // answered only; no 8.x server sends it
	ReqAllRooms             = 1
	ReqRemoteJoin           = 2
	ReqRemoteLeave          = 3
	ReqRemoteDisconnect     = 4
	ReqRemoteFetch          = 5
	ReqServerSideEmit       = 6
	ReqBroadcast            = 7 // a broadcast with acknowledgements (MessagePack)
	ReqBroadcastClientCount = 8
	ReqBroadcastAck         = 9 // MessagePack
)

// Message types of the sharded adapter (MessageType in socket.io-adapter
// lib/cluster-adapter.ts).
const (
	MsgBroadcast              = 3
	MsgSocketsJoin            = 4
	MsgSocketsLeave           = 5
	MsgDisconnectSockets      = 6
	MsgFetchSockets           = 7
	MsgFetchSocketsResponse   = 8
	MsgServerSideEmit         = 9
	MsgServerSideEmitResponse = 10
	MsgBroadcastClientCount   = 11
	MsgBroadcastAck           = 12
)

const (
	packetTypeEvent            = 2 // socket.io-parser's EVENT
	defaultKey                 = "socket.io"
	emitterUID                 = "emitter"
	classicRequestSuffix       = "-request#"
	classicResponseSuffix      = "-response#"
	shardedDynamicRoomIDLength = 20
)

// DefaultKey is the default channel prefix of Node's adapters and emitter.
const DefaultKey = defaultKey

// EmitterUID is the uid the Node emitter puts in its messages.
const EmitterUID = emitterUID

// SocketIDLength is the length of Node's (and this module's) socket ids; a
// sharded "dynamic" sender treats a room of this length as a socket id.
const SocketIDLength = shardedDynamicRoomIDLength

// Flags are the broadcast flags that travel in messages.
type Flags struct {
	Volatile             bool
	Compress             *bool // nil: absent
	TimeoutMillis        int64 // 0: absent
	ExpectSingleResponse bool
}

// Write writes the flags object, with only the flags that are set (notepack
// drops undefined values).
func (f Flags) Write(w *Writer) {
	w.BeginObject()
	if f.Volatile {
		w.Key("volatile")
		w.Bool(true)
	}
	if f.Compress != nil {
		w.Key("compress")
		w.Bool(*f.Compress)
	}
	if f.TimeoutMillis > 0 {
		w.Key("timeout")
		w.Int(f.TimeoutMillis)
	}
	if f.ExpectSingleResponse {
		w.Key("expectSingleResponse")
		w.Bool(true)
	}
	w.EndObject()
}

// --- classic channels ---

// ClassicChannel is the channel of broadcasts to a namespace, "<key>#<nsp>#";
// servers PSUBSCRIBE to it followed by "*".
func ClassicChannel(key, nsp string) string { return key + "#" + nsp + "#" }

// ClassicBroadcastChannel is the channel a broadcast to rooms is published
// on: the room's own channel for exactly one room, else the namespace's.
func ClassicBroadcastChannel(key, nsp string, rooms []string) string {
	if len(rooms) == 1 {
		return key + "#" + nsp + "#" + rooms[0] + "#"
	}
	return ClassicChannel(key, nsp)
}

// ClassicRequestChannel is "<key>-request#<nsp>#".
func ClassicRequestChannel(key, nsp string) string { return key + classicRequestSuffix + nsp + "#" }

// ClassicResponseChannel is "<key>-response#<nsp>#".
func ClassicResponseChannel(key, nsp string) string {
	return key + classicResponseSuffix + nsp + "#"
}

// --- classic messages ---

// ClassicBroadcast encodes the MessagePack message of a broadcast:
// [uid, {type: 2, data, nsp}, {rooms, except, flags}]. data is the JSON
// array [event, ...args] with placeholders for attachments.
func ClassicBroadcast(uid, nsp string, data []byte, attachments [][]byte, rooms, except []string, flags Flags) ([]byte, error) {
	return classicBroadcast(uid, nsp, data, attachments, rooms, except, flags, false)
}

// EmitterBroadcast is ClassicBroadcast as the Node emitter writes it: uid
// "emitter" and the options in the order {rooms, flags, except}.
func EmitterBroadcast(nsp string, data []byte, attachments [][]byte, rooms, except []string, flags Flags) ([]byte, error) {
	return classicBroadcast(emitterUID, nsp, data, attachments, rooms, except, flags, true)
}

func classicBroadcast(uid, nsp string, data []byte, attachments [][]byte, rooms, except []string, flags Flags, emitterOrder bool) ([]byte, error) {
	var w Writer
	w.BeginArray()
	w.String(uid)
	w.BeginObject()
	w.Key("type")
	w.Int(packetTypeEvent)
	w.Key("data")
	w.Raw(data, attachments)
	w.Key("nsp")
	w.String(nsp)
	w.EndObject()
	w.BeginObject()
	w.Key("rooms")
	w.Strings(rooms)
	if emitterOrder {
		w.Key("flags")
		flags.Write(&w)
		w.Key("except")
		w.Strings(except)
	} else {
		w.Key("except")
		w.Strings(except)
		w.Key("flags")
		flags.Write(&w)
	}
	w.EndObject()
	w.EndArray()
	return w.Encode(true)
}

// ClassicRoomsRequest encodes the JSON request of socketsJoin
// (ReqRemoteJoin) or socketsLeave (ReqRemoteLeave):
// {uid, type, opts: {rooms, except}, rooms}. An empty uid is left out, as
// the Node emitter does.
func ClassicRoomsRequest(uid string, typ int, rooms, except, targets []string) []byte {
	var w Writer
	w.BeginObject()
	if uid != "" {
		w.Key("uid")
		w.String(uid)
	}
	w.Key("type")
	w.Int(int64(typ))
	writeOpts(&w, rooms, except)
	w.Key("rooms")
	w.Strings(targets)
	w.EndObject()
	return w.buf
}

// ClassicDisconnectRequest encodes the JSON request of disconnectSockets:
// {uid, type: 4, opts: {rooms, except}, close}.
func ClassicDisconnectRequest(uid string, rooms, except []string, close bool) []byte {
	var w Writer
	w.BeginObject()
	if uid != "" {
		w.Key("uid")
		w.String(uid)
	}
	w.Key("type")
	w.Int(ReqRemoteDisconnect)
	writeOpts(&w, rooms, except)
	w.Key("close")
	w.Bool(close)
	w.EndObject()
	return w.buf
}

// ClassicServerSideEmit encodes the request of serverSideEmit:
// {uid, requestId?, type: 6, data: [event, ...args]}, as JSON, or as
// MessagePack when the arguments hold binary values (Node's receivers
// accept both; Node itself would write a Buffer as JSON).
func ClassicServerSideEmit(uid, requestID string, data []byte, attachments [][]byte) ([]byte, error) {
	var w Writer
	w.BeginObject()
	w.Key("uid")
	w.String(uid)
	if requestID != "" {
		w.Key("requestId")
		w.String(requestID)
	}
	w.Key("type")
	w.Int(ReqServerSideEmit)
	w.Key("data")
	w.Raw(data, attachments)
	w.EndObject()
	return w.Encode(w.HasBinary())
}

func writeOpts(w *Writer, rooms, except []string) {
	w.Key("opts")
	w.BeginObject()
	w.Key("rooms")
	w.Strings(rooms)
	w.Key("except")
	w.Strings(except)
	w.EndObject()
}
