package redisadapter

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/internal/clusterreq"
	"github.com/socketio-go/socketio/redisadapter/wire"
	"github.com/socketio-go/socketio/sioparser"
)

// The sharded protocol (WIRE.md §2): every message is the envelope
// {type, data, uid, nsp}, JSON unless a broadcast, an acknowledgement, a
// server-side event or a FetchSockets answer holds binary values
// (MessagePack then). Requests go to "<key>#<nsp>#" (broadcasts to one room
// may go to "<key>#<nsp>#<room>#"), responses to "<key>#<nsp>#<uid>#" of
// the requester.

// shardedMessage encodes a message without binary values for the main
// channel.
func (a *Adapter) shardedMessage(typ int, data func(w *wire.Writer)) (string, []byte) {
	payload, _ := wire.ClusterMessage(typ, a.uid, a.name, data).Encode(false)
	return a.channel, payload
}

func (a *Adapter) shardedBroadcast(p *sioparser.Packet, opts *adapter.BroadcastOptions, requestID string) (string, []byte, error) {
	w := wire.ClusterMessage(wire.MsgBroadcast, a.uid, a.name, func(w *wire.Writer) {
		wire.WriteBroadcastData(w, p, false, opts, requestID)
	})
	payload, err := w.Encode(w.HasBinary())
	return a.shardedChannel(opts, requestID), payload, err
}

// shardedChannel is Node's computeChannel: a broadcast without
// acknowledgements to exactly one room goes to the room's channel in the
// dynamic modes (unless, in "dynamic", the room looks like a socket id).
func (a *Adapter) shardedChannel(opts *adapter.BroadcastOptions, requestID string) string {
	if requestID != "" || len(opts.Rooms) != 1 {
		return a.channel
	}
	room := opts.Rooms[0]
	switch a.opts.SubscriptionMode {
	case DynamicPrivate:
		return a.channel + room + "#"
	case Dynamic:
		if len(room) != wire.SocketIDLength {
			return a.channel + room + "#"
		}
	}
	return a.channel
}

func (a *Adapter) onShardedMessage(channel, _ string, payload []byte) {
	js, atts, err := wire.DecodePayload(payload)
	if err != nil {
		a.log.Debug("redisadapter: malformed message", "namespace", a.name, "err", err)
		return
	}
	var env wire.ClusterEnvelope
	if json.Unmarshal(js, &env) != nil {
		return
	}
	var d wire.ClusterData
	if len(env.Data) > 0 && json.Unmarshal(env.Data, &d) != nil {
		return
	}
	if channel == a.ownResponseChannel {
		a.onShardedResponse(env.Type, &d, atts)
		return
	}
	if env.UID == a.uid || env.Nsp != a.name {
		return
	}
	requester := env.UID
	switch env.Type {
	case wire.MsgBroadcast:
		var p wire.Packet
		if json.Unmarshal(d.Packet, &p) != nil {
			return
		}
		data, datts, err := wire.Extract(p.Data, atts)
		if err != nil {
			return
		}
		opts := wire.ToOptions(d.Opts)
		if d.RequestID == "" {
			a.deliver(data, datts, opts)
			return
		}
		a.broadcastWithAckLocal(data, datts, opts,
			func(n int) {
				a.shardedRespond("broadcast client count", requester, wire.MsgBroadcastClientCount, func(w *wire.Writer) {
					w.Key("requestId")
					w.String(d.RequestID)
					w.Key("clientCount")
					w.Int(int64(n))
				})
			},
			func(r adapter.AckResponse) {
				v, vatts := wire.FirstArg(r)
				a.shardedRespond("broadcast acknowledgement", requester, wire.MsgBroadcastAck, func(w *wire.Writer) {
					w.Key("requestId")
					w.String(d.RequestID)
					if v != nil {
						w.Key("packet")
						w.Raw(v, vatts)
					}
				})
			})

	case wire.MsgSocketsJoin:
		_ = a.mem.AddSockets(wire.ToOptions(d.Opts), d.Rooms)
	case wire.MsgSocketsLeave:
		_ = a.mem.DelSockets(wire.ToOptions(d.Opts), d.Rooms)
	case wire.MsgDisconnectSockets:
		_ = a.mem.DisconnectSockets(wire.ToOptions(d.Opts), d.Close)

	case wire.MsgFetchSockets:
		local, _ := a.mem.FetchSockets(context.Background(), wire.ToOptions(d.Opts))
		a.shardedRespond("fetchSockets", requester, wire.MsgFetchSocketsResponse, func(w *wire.Writer) {
			w.Key("requestId")
			w.String(d.RequestID)
			w.Key("sockets")
			w.BeginArray()
			for _, info := range local {
				a.writeSocketInfo(w, info)
			}
			w.EndArray()
		})

	case wire.MsgServerSideEmit:
		data, datts, err := wire.Extract(d.Packet, atts)
		if err != nil {
			return
		}
		var reply func([]byte, [][]byte)
		if d.RequestID != "" {
			reply = func(v []byte, vatts [][]byte) {
				a.shardedRespond("serverSideEmit", requester, wire.MsgServerSideEmitResponse, func(w *wire.Writer) {
					w.Key("requestId")
					w.String(d.RequestID)
					if v != nil {
						w.Key("packet")
						w.Raw(v, vatts)
					}
				})
			}
		}
		a.serverSideEmitLocal(data, datts, reply)

	case wire.MsgFetchSocketsResponse, wire.MsgServerSideEmitResponse, wire.MsgBroadcastClientCount, wire.MsgBroadcastAck:
		a.onShardedResponse(env.Type, &d, atts)
	}
}

// shardedRespond publishes a response on the requester's channel.
func (a *Adapter) shardedRespond(what, requester string, typ int, data func(w *wire.Writer)) {
	w := wire.ClusterMessage(typ, a.uid, a.name, data)
	payload, err := w.Encode(w.HasBinary())
	a.publishAsync(what, a.channel+requester+"#", payload, err)
}

func (a *Adapter) onShardedResponse(typ int, d *wire.ClusterData, atts [][]byte) {
	switch typ {
	case wire.MsgBroadcastClientCount:
		if ar := a.reqs.Ack(d.RequestID); ar != nil {
			ar.ClientCount(d.ClientCount)
		}
	case wire.MsgBroadcastAck:
		if ar := a.reqs.Ack(d.RequestID); ar != nil {
			if v, vatts, err := wire.Extract(d.Packet, atts); err == nil {
				ar.Ack(wire.AckFromValue(v, vatts))
			}
		}
	case wire.MsgFetchSocketsResponse:
		sockets := wire.ReadSockets(d.Sockets, atts)
		a.reqs.Answered(d.RequestID, reqFetch, func(r *clusterreq.Request) { r.Sockets = append(r.Sockets, sockets...) })
	case wire.MsgServerSideEmitResponse:
		v, vatts, err := wire.Extract(d.Packet, atts)
		if err != nil {
			return
		}
		a.reqs.Answered(d.RequestID, reqServerSideEmit, func(r *clusterreq.Request) {
			r.Responses = append(r.Responses, wire.AckFromValue(v, vatts))
		})
	}
}

// hashSlot is the Redis Cluster hash slot of a key (CRC16/XMODEM of the key
// or of its {hash tag}, modulo 16384).
func hashSlot(key string) uint16 {
	if s := strings.IndexByte(key, '{'); s >= 0 {
		if e := strings.IndexByte(key[s+1:], '}'); e > 0 {
			key = key[s+1 : s+1+e]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for j := 0; j < 8; j++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc % 16384
}
