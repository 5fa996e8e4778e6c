// Package clusteradapter is socket.io-adapter's ClusterAdapter protocol
// for any broker: the messages of the cluster (types 1 to 13, as
// {type, data, uid, nsp}), what a server does with those of the others
// (Receiver, shared by every adapter that speaks it: Redis Streams,
// Postgres, NATS), and ClusterAdapterWithHeartbeat (Core): the servers
// known by their heartbeats, the server count they give, requests answered
// by each of them, and every operation published through a bounded outbox
// to a Broker (Postgres, NATS).
package clusteradapter

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/internal/clusterreq"
	"github.com/socketio-go/socketio/redisadapter/wire"
	"github.com/socketio-go/socketio/sioparser"
)

// Message types (socket.io-adapter lib/cluster-adapter.ts) beyond those of
// package wire: the heartbeat's.
const (
	MsgInitialHeartbeat = 1
	MsgHeartbeat        = 2
	MsgAdapterClose     = 13
)

// Receiver applies the messages of the other servers of a namespace.
type Receiver struct {
	Nsp    adapter.Namespace
	Name   string
	Mem    *adapter.Memory
	Reqs   *clusterreq.Table
	Log    *slog.Logger
	Prefix string // of log messages: the adapter's package
	// Respond publishes a response for the server requester; it must not
	// wait on the broker.
	Respond func(requester string, typ int, data func(w *wire.Writer))
	// Offset, when set, reports whether a broadcast received with an
	// offset (its position in a stream) gets it appended for connection
	// state recovery.
	Offset func(p *sioparser.Packet, opts *adapter.BroadcastOptions) bool
}

// Decode reads a message as JSON text (with placeholders) into its
// envelope and data.
func Decode(js []byte) (env wire.ClusterEnvelope, d wire.ClusterData, ok bool) {
	if json.Unmarshal(js, &env) != nil {
		return env, d, false
	}
	if len(env.Data) > 0 && string(env.Data) != "null" && json.Unmarshal(env.Data, &d) != nil {
		return env, d, false
	}
	return env, d, true
}

// Handle applies a message of type typ from the server requester
// (ClusterAdapter.onMessage and onResponse); atts are the attachments of
// the whole message, offset is its position in a stream ("" when none).
func (r *Receiver) Handle(typ int, requester string, d *wire.ClusterData, atts [][]byte, offset string) {
	switch typ {
	case wire.MsgBroadcast:
		r.broadcast(requester, d, atts, offset)
	case wire.MsgSocketsJoin:
		_ = r.Mem.AddSockets(wire.ToOptions(d.Opts), d.Rooms)
	case wire.MsgSocketsLeave:
		_ = r.Mem.DelSockets(wire.ToOptions(d.Opts), d.Rooms)
	case wire.MsgDisconnectSockets:
		_ = r.Mem.DisconnectSockets(wire.ToOptions(d.Opts), d.Close)

	case wire.MsgFetchSockets:
		local, _ := r.Mem.FetchSockets(context.Background(), wire.ToOptions(d.Opts))
		r.Respond(requester, wire.MsgFetchSocketsResponse, func(w *wire.Writer) {
			w.Key("requestId")
			w.String(d.RequestID)
			w.Key("sockets")
			w.BeginArray()
			for _, info := range local {
				if err := wire.WriteSocketInfo(w, info); err != nil {
					r.Log.Warn(r.Prefix+": socket data cannot be encoded for other servers", "namespace", r.Name, "sid", info.ID, "err", err)
				}
			}
			w.EndArray()
		})

	case wire.MsgServerSideEmit:
		data, datts, err := wire.Extract(d.Packet, atts)
		if err != nil || len(data) == 0 || data[0] != '[' {
			return
		}
		var ack func(adapter.AckResponse)
		if d.RequestID != "" {
			var once sync.Once
			ack = func(a adapter.AckResponse) {
				once.Do(func() { r.respondValue(requester, wire.MsgServerSideEmitResponse, d.RequestID, a) })
			}
		}
		r.Nsp.OnServerSideEmit(data, datts, ack)

	case wire.MsgBroadcastClientCount:
		if ar := r.Reqs.Ack(d.RequestID); ar != nil {
			ar.ClientCount(d.ClientCount)
		}
	case wire.MsgBroadcastAck:
		if ar := r.Reqs.Ack(d.RequestID); ar != nil {
			if v, vatts, err := wire.Extract(d.Packet, atts); err == nil {
				ar.Ack(wire.AckFromValue(v, vatts))
			}
		}
	case wire.MsgFetchSocketsResponse:
		sockets := wire.ReadSockets(d.Sockets, atts)
		r.Reqs.AnsweredBy(d.RequestID, wire.MsgFetchSockets, requester, func(q *clusterreq.Request) { q.Sockets = append(q.Sockets, sockets...) })
	case wire.MsgServerSideEmitResponse:
		v, vatts, err := wire.Extract(d.Packet, atts)
		if err != nil {
			return
		}
		r.Reqs.AnsweredBy(d.RequestID, wire.MsgServerSideEmit, requester, func(q *clusterreq.Request) {
			q.Responses = append(q.Responses, wire.AckFromValue(v, vatts))
		})
	}
}

func (r *Receiver) broadcast(requester string, d *wire.ClusterData, atts [][]byte, offset string) {
	var p wire.Packet
	if json.Unmarshal(d.Packet, &p) != nil {
		return
	}
	data, datts, err := wire.Extract(p.Data, atts)
	if err != nil || len(data) == 0 || data[0] != '[' {
		return
	}
	opts := wire.ToOptions(d.Opts)
	pkt := &sioparser.Packet{Type: sioparser.Event, Namespace: r.Name, Data: data, Attachments: datts}
	if d.RequestID == "" {
		if offset != "" && p.ID == nil && r.Offset != nil && r.Offset(pkt, opts) {
			pkt.Data = adapter.AppendOffset(data, offset)
		}
		r.Mem.BroadcastLocal(pkt, opts)
		return
	}
	opts.Flags = adapter.BroadcastFlags{NoCompress: opts.Flags.NoCompress}
	n := r.Mem.BroadcastWithAckLocal(pkt, opts, func(a adapter.AckResponse) {
		r.respondValue(requester, wire.MsgBroadcastAck, d.RequestID, a)
	})
	r.Respond(requester, wire.MsgBroadcastClientCount, func(w *wire.Writer) {
		w.Key("requestId")
		w.String(d.RequestID)
		w.Key("clientCount")
		w.Int(int64(n))
	})
}

// respondValue answers with the first argument of an acknowledgement
// (none for undefined, which JSON and MessagePack leave out).
func (r *Receiver) respondValue(requester string, typ int, requestID string, a adapter.AckResponse) {
	v, vatts := wire.FirstArg(a)
	r.Respond(requester, typ, func(w *wire.Writer) {
		w.Key("requestId")
		w.String(requestID)
		if v != nil {
			w.Key("packet")
			w.Raw(v, vatts)
		}
	})
}
