package wire

import (
	"encoding/json"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/sioparser"
)

// ClusterMessage builds a message of socket.io-adapter's ClusterAdapter
// protocol (the sharded Redis adapter and the Redis Streams adapter):
// {type, data: {...}, uid, nsp}, keys in that order; data writes the fields
// of data.
func ClusterMessage(typ int, uid, nsp string, data func(w *Writer)) *Writer {
	w := new(Writer)
	w.BeginObject()
	w.Key("type")
	w.Int(int64(typ))
	w.Key("data")
	w.BeginObject()
	data(w)
	w.EndObject()
	w.Key("uid")
	w.String(uid)
	w.Key("nsp")
	w.String(nsp)
	w.EndObject()
	return w
}

// WriteBroadcastData writes the fields of a BROADCAST's data:
// packet {type: 2, data[, id]}, requestId when not empty, opts. The packet
// has no nsp (the message has it); its id is written with withID (a direct
// emit with an acknowledgement, kept for recovery).
func WriteBroadcastData(w *Writer, p *sioparser.Packet, withID bool, opts *adapter.BroadcastOptions, requestID string) {
	w.Key("packet")
	w.BeginObject()
	w.Key("type")
	w.Int(int64(sioparser.Event))
	w.Key("data")
	w.Raw(p.Data, p.Attachments)
	if withID && p.HasID {
		w.Key("id")
		w.Int(int64(p.ID))
	}
	w.EndObject()
	if requestID != "" {
		w.Key("requestId")
		w.String(requestID)
	}
	w.Key("opts")
	WriteBroadcastOptions(w, opts, true)
}

// ClusterEnvelope is a received ClusterAdapter message.
type ClusterEnvelope struct {
	Type int             `json:"type"`
	Data json.RawMessage `json:"data"`
	UID  string          `json:"uid"`
	Nsp  string          `json:"nsp"`
}

// ClusterData is the data of any ClusterAdapter message.
type ClusterData struct {
	Packet      json.RawMessage `json:"packet"`
	Opts        *Opts           `json:"opts"`
	RequestID   string          `json:"requestId"`
	Rooms       []string        `json:"rooms"`
	Close       bool            `json:"close"`
	Sockets     json.RawMessage `json:"sockets"`
	ClientCount int             `json:"clientCount"`
}
