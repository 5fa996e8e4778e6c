package redisadapter

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/redisadapter/wire"
	"github.com/socketio-go/socketio/sioparser"
)

// The sharded protocol (WIRE.md §2): every message is the envelope
// {type, data, uid, nsp}, JSON unless a broadcast, an acknowledgement, a
// server-side event or a FetchSockets answer holds binary values
// (MessagePack then). Requests go to "<key>#<nsp>#" (broadcasts to one room
// may go to "<key>#<nsp>#<room>#"), responses to "<key>#<nsp>#<uid>#" of
// the requester.

// writeEnvelopeTail closes an envelope: uid and nsp, then the object.
func (a *Adapter) writeEnvelopeTail(w *wire.Writer) {
	w.Key("uid")
	w.String(a.uid)
	w.Key("nsp")
	w.String(a.name)
	w.EndObject()
}

// shardedMessage encodes a message without binary values for the main
// channel.
func (a *Adapter) shardedMessage(typ int, data func(w *wire.Writer)) (string, []byte) {
	var w wire.Writer
	w.BeginObject()
	w.Key("type")
	w.Int(int64(typ))
	w.Key("data")
	w.BeginObject()
	data(&w)
	w.EndObject()
	a.writeEnvelopeTail(&w)
	payload, _ := w.Encode(false)
	return a.channel, payload
}

func (a *Adapter) shardedBroadcast(p *sioparser.Packet, opts *adapter.BroadcastOptions, requestID string) (string, []byte, error) {
	var w wire.Writer
	w.BeginObject()
	w.Key("type")
	w.Int(wire.MsgBroadcast)
	w.Key("data")
	w.BeginObject()
	w.Key("packet")
	w.BeginObject()
	w.Key("type")
	w.Int(int64(sioparser.Event))
	w.Key("data")
	w.Raw(p.Data, p.Attachments)
	w.EndObject()
	if requestID != "" {
		w.Key("requestId")
		w.String(requestID)
	}
	w.Key("opts")
	writeOpts(&w, opts, true)
	w.EndObject()
	a.writeEnvelopeTail(&w)
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

// shardedEnvelope is any message of the sharded protocol.
type shardedEnvelope struct {
	Type int             `json:"type"`
	Data json.RawMessage `json:"data"`
	UID  string          `json:"uid"`
	Nsp  string          `json:"nsp"`
}

type shardedData struct {
	Packet      json.RawMessage `json:"packet"`
	Opts        *optsJSON       `json:"opts"`
	RequestID   string          `json:"requestId"`
	Rooms       []string        `json:"rooms"`
	Close       bool            `json:"close"`
	Sockets     json.RawMessage `json:"sockets"`
	ClientCount int             `json:"clientCount"`
}

func (a *Adapter) onShardedMessage(channel, _ string, payload []byte) {
	js, atts, err := decodePayload(payload)
	if err != nil {
		a.log.Debug("redisadapter: malformed message", "namespace", a.name, "err", err)
		return
	}
	var env shardedEnvelope
	if json.Unmarshal(js, &env) != nil {
		return
	}
	var d shardedData
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
		var p classicPacket
		if json.Unmarshal(d.Packet, &p) != nil {
			return
		}
		data, datts, err := extract(p.Data, atts)
		if err != nil {
			return
		}
		opts := toOpts(d.Opts)
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
				v, vatts := firstArg(r)
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
		_ = a.mem.AddSockets(toOpts(d.Opts), d.Rooms)
	case wire.MsgSocketsLeave:
		_ = a.mem.DelSockets(toOpts(d.Opts), d.Rooms)
	case wire.MsgDisconnectSockets:
		_ = a.mem.DisconnectSockets(toOpts(d.Opts), d.Close)

	case wire.MsgFetchSockets:
		local, _ := a.mem.FetchSockets(context.Background(), toOpts(d.Opts))
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
		data, datts, err := extract(d.Packet, atts)
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
	var w wire.Writer
	w.BeginObject()
	w.Key("type")
	w.Int(int64(typ))
	w.Key("data")
	w.BeginObject()
	data(&w)
	w.EndObject()
	a.writeEnvelopeTail(&w)
	payload, err := w.Encode(w.HasBinary())
	a.publishAsync(what, a.channel+requester+"#", payload, err)
}

func (a *Adapter) onShardedResponse(typ int, d *shardedData, atts [][]byte) {
	switch typ {
	case wire.MsgBroadcastClientCount:
		if ar := a.ackRequest(d.RequestID); ar != nil {
			ar.clientCount(d.ClientCount)
		}
	case wire.MsgBroadcastAck:
		if ar := a.ackRequest(d.RequestID); ar != nil {
			if v, vatts, err := extract(d.Packet, atts); err == nil {
				ar.ack(ackFromValue(v, vatts))
			}
		}
	case wire.MsgFetchSocketsResponse:
		sockets := readSockets(d.Sockets, atts)
		a.answered(d.RequestID, reqFetch, func(r *request) { r.sockets = append(r.sockets, sockets...) })
	case wire.MsgServerSideEmitResponse:
		v, vatts, err := extract(d.Packet, atts)
		if err != nil {
			return
		}
		a.answered(d.RequestID, reqServerSideEmit, func(r *request) {
			r.responses = append(r.responses, ackFromValue(v, vatts))
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
