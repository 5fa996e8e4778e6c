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

// The classic protocol (WIRE.md §1): broadcasts are MessagePack arrays on
// "<key>#<nsp>#[<room>#]"; requests and responses are JSON objects on
// "<key>-request#<nsp>#" and "<key>-response#<nsp>#[<uid>#]", except the
// broadcast with acknowledgements and its acknowledgements (MessagePack).
// The sharded protocol is in sharded.go; the encode* methods serve both.

// --- encoding (both protocols) ---

func (a *Adapter) encodeBroadcast(p *sioparser.Packet, opts *adapter.BroadcastOptions, requestID string) (string, []byte, error) {
	if a.sharded {
		return a.shardedBroadcast(p, opts, requestID)
	}
	if requestID == "" {
		payload, err := wire.ClassicBroadcast(a.uid, a.name, p.Data, p.Attachments, opts.Rooms, opts.Except, wire.FlagsOf(opts.Flags))
		return wire.ClassicBroadcastChannel(a.opts.Key, a.name, opts.Rooms), payload, err
	}
	var w wire.Writer
	w.BeginObject()
	w.Key("uid")
	w.String(a.uid)
	w.Key("requestId")
	w.String(requestID)
	w.Key("type")
	w.Int(wire.ReqBroadcast)
	w.Key("packet")
	w.BeginObject()
	w.Key("type")
	w.Int(int64(sioparser.Event))
	w.Key("data")
	w.Raw(p.Data, p.Attachments)
	w.Key("nsp")
	w.String(a.name)
	w.EndObject()
	w.Key("opts")
	wire.WriteBroadcastOptions(&w, opts, true)
	w.EndObject()
	payload, err := w.Encode(true)
	return a.requestChannel, payload, err
}

func (a *Adapter) encodeRoomsOp(opts *adapter.BroadcastOptions, rooms []string, join bool) (string, []byte) {
	if a.sharded {
		typ := wire.MsgSocketsLeave
		if join {
			typ = wire.MsgSocketsJoin
		}
		return a.shardedMessage(typ, func(w *wire.Writer) {
			w.Key("opts")
			wire.WriteBroadcastOptions(w, opts, true)
			w.Key("rooms")
			w.Strings(rooms)
		})
	}
	typ := wire.ReqRemoteLeave
	if join {
		typ = wire.ReqRemoteJoin
	}
	return a.requestChannel, wire.ClassicRoomsRequest(a.uid, typ, opts.Rooms, opts.Except, rooms)
}

func (a *Adapter) encodeDisconnect(opts *adapter.BroadcastOptions, close bool) (string, []byte) {
	if a.sharded {
		return a.shardedMessage(wire.MsgDisconnectSockets, func(w *wire.Writer) {
			w.Key("opts")
			wire.WriteBroadcastOptions(w, opts, true)
			w.Key("close")
			w.Bool(close)
		})
	}
	return a.requestChannel, wire.ClassicDisconnectRequest(a.uid, opts.Rooms, opts.Except, close)
}

func (a *Adapter) encodeFetch(opts *adapter.BroadcastOptions, requestID string) (string, []byte) {
	if a.sharded {
		return a.shardedMessage(wire.MsgFetchSockets, func(w *wire.Writer) {
			w.Key("opts")
			wire.WriteBroadcastOptions(w, opts, true)
			w.Key("requestId")
			w.String(requestID)
		})
	}
	var w wire.Writer
	w.BeginObject()
	w.Key("uid")
	w.String(a.uid)
	w.Key("requestId")
	w.String(requestID)
	w.Key("type")
	w.Int(wire.ReqRemoteFetch)
	w.Key("opts")
	wire.WriteBroadcastOptions(&w, opts, false)
	w.EndObject()
	payload, _ := w.Encode(false)
	return a.requestChannel, payload
}

func (a *Adapter) encodeServerSideEmit(data []byte, atts [][]byte, requestID string) (string, []byte, error) {
	if a.sharded {
		w := wire.ClusterMessage(wire.MsgServerSideEmit, a.uid, a.name, func(w *wire.Writer) {
			if requestID != "" {
				w.Key("requestId")
				w.String(requestID)
			}
			w.Key("packet")
			w.Raw(data, atts)
		})
		payload, err := w.Encode(w.HasBinary())
		return a.channel, payload, err
	}
	payload, err := wire.ClassicServerSideEmit(a.uid, requestID, data, atts)
	return a.requestChannel, payload, err
}

func (a *Adapter) classicSocketsRequest(requestID string, rooms []string) []byte {
	var w wire.Writer
	w.BeginObject()
	w.Key("uid")
	w.String(a.uid)
	w.Key("requestId")
	w.String(requestID)
	w.Key("type")
	w.Int(wire.ReqSockets)
	w.Key("rooms")
	w.Strings(rooms)
	w.EndObject()
	payload, _ := w.Encode(false)
	return payload
}

func (a *Adapter) classicAllRoomsRequest(requestID string) []byte {
	var w wire.Writer
	w.BeginObject()
	w.Key("uid")
	w.String(a.uid)
	w.Key("requestId")
	w.String(requestID)
	w.Key("type")
	w.Int(wire.ReqAllRooms)
	w.EndObject()
	payload, _ := w.Encode(false)
	return payload
}

// --- receiving ---

// classicRequest is any request of the request channel.
type classicRequest struct {
	UID       string          `json:"uid"`
	RequestID string          `json:"requestId"`
	Type      int             `json:"type"`
	Rooms     []string        `json:"rooms"`
	Opts      *wire.Opts      `json:"opts"`
	Close     bool            `json:"close"`
	Data      json.RawMessage `json:"data"`
	Packet    *wire.Packet    `json:"packet"`
	SID       string          `json:"sid"`
	Room      string          `json:"room"`
}

// classicResponse is any response of the response channels.
type classicResponse struct {
	Type        int             `json:"type"`
	RequestID   string          `json:"requestId"`
	ClientCount int             `json:"clientCount"`
	Packet      json.RawMessage `json:"packet"`
	Data        json.RawMessage `json:"data"`
	Sockets     json.RawMessage `json:"sockets"`
	Rooms       []string        `json:"rooms"`
}

func (a *Adapter) onClassicMessage(channel, pattern string, payload []byte) {
	switch {
	case pattern != "":
		a.onClassicBroadcast(channel, payload)
	case channel == a.requestChannel:
		a.onClassicRequest(payload)
	case channel == a.responseChannel || channel == a.ownResponseChannel:
		a.onClassicResponse(payload)
	}
}

func (a *Adapter) onClassicBroadcast(channel string, payload []byte) {
	if !strings.HasPrefix(channel, a.channel) {
		return
	}
	if len(channel) > len(a.channel) {
		if room := channel[len(a.channel) : len(channel)-1]; room != "" && !a.mem.HasRoom(room) {
			return // no local socket is in the room
		}
	}
	js, atts, err := wire.DecodePayload(payload)
	if err != nil {
		a.log.Debug("redisadapter: malformed broadcast", "namespace", a.name, "err", err)
		return
	}
	var msg []json.RawMessage
	if json.Unmarshal(js, &msg) != nil || len(msg) < 3 {
		return
	}
	var uid string
	_ = json.Unmarshal(msg[0], &uid)
	if uid == a.uid {
		return
	}
	var p wire.Packet
	var opts wire.Opts
	if json.Unmarshal(msg[1], &p) != nil || json.Unmarshal(msg[2], &opts) != nil {
		return
	}
	nsp := "/"
	if p.Nsp != nil {
		nsp = *p.Nsp
	}
	if nsp != a.name {
		return
	}
	data, datts, err := wire.Extract(p.Data, atts)
	if err != nil {
		return
	}
	a.deliver(data, datts, wire.ToOptions(&opts))
}

func (a *Adapter) onClassicRequest(payload []byte) {
	js, atts, err := wire.DecodePayload(payload)
	if err != nil {
		a.log.Debug("redisadapter: malformed request", "namespace", a.name, "err", err)
		return
	}
	var req classicRequest
	if json.Unmarshal(js, &req) != nil {
		return
	}
	respond := func(what string, w *wire.Writer, msgpack bool) {
		payload, err := w.Encode(msgpack)
		ch := a.responseChannel
		if a.opts.PublishOnSpecificResponseChannel {
			ch = a.responseChannel + req.UID + "#"
		}
		a.publishAsync(what, ch, payload, err)
	}
	switch req.Type {
	case wire.ReqSockets:
		if a.reqs.Own(req.RequestID) {
			return
		}
		ids, _ := a.mem.SocketIDs(context.Background(), req.Rooms)
		var w wire.Writer
		w.BeginObject()
		w.Key("requestId")
		w.String(req.RequestID)
		w.Key("sockets")
		w.Strings(ids)
		w.EndObject()
		respond("sockets", &w, false)

	case wire.ReqAllRooms:
		if a.reqs.Own(req.RequestID) {
			return
		}
		var w wire.Writer
		w.BeginObject()
		w.Key("requestId")
		w.String(req.RequestID)
		w.Key("rooms")
		w.Strings(a.mem.Rooms())
		w.EndObject()
		respond("allRooms", &w, false)

	case wire.ReqRemoteJoin, wire.ReqRemoteLeave, wire.ReqRemoteDisconnect:
		if req.Opts == nil {
			a.onLegacyRequest(&req, respond)
			return
		}
		if req.UID == a.uid {
			return // applied locally when sent
		}
		opts := &adapter.BroadcastOptions{Rooms: req.Opts.Rooms, Except: req.Opts.Except}
		switch req.Type {
		case wire.ReqRemoteJoin:
			_ = a.mem.AddSockets(opts, req.Rooms)
		case wire.ReqRemoteLeave:
			_ = a.mem.DelSockets(opts, req.Rooms)
		default:
			_ = a.mem.DisconnectSockets(opts, req.Close)
		}

	case wire.ReqRemoteFetch:
		if req.UID == a.uid || a.reqs.Own(req.RequestID) {
			return
		}
		local, _ := a.mem.FetchSockets(context.Background(), wire.ToOptions(req.Opts))
		var w wire.Writer
		w.BeginObject()
		w.Key("requestId")
		w.String(req.RequestID)
		w.Key("sockets")
		w.BeginArray()
		for _, info := range local {
			a.writeSocketInfo(&w, info)
		}
		w.EndArray()
		w.EndObject()
		respond("fetchSockets", &w, w.HasBinary())

	case wire.ReqServerSideEmit:
		if req.UID == a.uid {
			return
		}
		data, datts, err := wire.Extract(req.Data, atts)
		if err != nil {
			return
		}
		var reply func([]byte, [][]byte)
		if req.RequestID != "" {
			reply = func(v []byte, vatts [][]byte) {
				var w wire.Writer
				w.BeginObject()
				w.Key("type")
				w.Int(wire.ReqServerSideEmit)
				w.Key("requestId")
				w.String(req.RequestID)
				if v != nil {
					w.Key("data")
					w.Raw(v, vatts)
				}
				w.EndObject()
				payload, err := w.Encode(w.HasBinary())
				// Node answers these on the common channel whatever its option.
				a.publishAsync("serverSideEmit", a.responseChannel, payload, err)
			}
		}
		a.serverSideEmitLocal(data, datts, reply)

	case wire.ReqBroadcast:
		if req.UID == a.uid || a.reqs.Own(req.RequestID) || req.Packet == nil {
			return
		}
		data, datts, err := wire.Extract(req.Packet.Data, atts)
		if err != nil {
			return
		}
		opts := wire.ToOptions(req.Opts)
		opts.Flags = adapter.BroadcastFlags{} // as Node: no flags for the receivers' part
		a.broadcastWithAckLocal(data, datts, opts,
			func(n int) {
				var w wire.Writer
				w.BeginObject()
				w.Key("type")
				w.Int(wire.ReqBroadcastClientCount)
				w.Key("requestId")
				w.String(req.RequestID)
				w.Key("clientCount")
				w.Int(int64(n))
				w.EndObject()
				respond("broadcast client count", &w, false)
			},
			func(r adapter.AckResponse) {
				v, vatts := wire.FirstArg(r)
				var w wire.Writer
				w.BeginObject()
				w.Key("type")
				w.Int(wire.ReqBroadcastAck)
				w.Key("requestId")
				w.String(req.RequestID)
				if v != nil {
					w.Key("packet")
					w.Raw(v, vatts)
				}
				w.EndObject()
				respond("broadcast acknowledgement", &w, true)
			})
	}
}

// onLegacyRequest answers the per-socket requests of adapter 7.x.
func (a *Adapter) onLegacyRequest(req *classicRequest, respond func(string, *wire.Writer, bool)) {
	if req.SID == "" || a.mem.SocketRooms(req.SID) == nil {
		return // not a socket of this server
	}
	opts := &adapter.BroadcastOptions{Rooms: []string{req.SID}}
	switch req.Type {
	case wire.ReqRemoteJoin:
		_ = a.mem.AddSockets(opts, []string{req.Room})
	case wire.ReqRemoteLeave:
		_ = a.mem.DelSockets(opts, []string{req.Room})
	default:
		_ = a.mem.DisconnectSockets(opts, req.Close)
	}
	var w wire.Writer
	w.BeginObject()
	w.Key("requestId")
	w.String(req.RequestID)
	w.EndObject()
	respond("remote operation", &w, false)
}

func (a *Adapter) onClassicResponse(payload []byte) {
	js, atts, err := wire.DecodePayload(payload)
	if err != nil {
		return
	}
	var resp classicResponse
	if json.Unmarshal(js, &resp) != nil || resp.RequestID == "" {
		return
	}
	if ar := a.reqs.Ack(resp.RequestID); ar != nil {
		switch resp.Type {
		case wire.ReqBroadcastClientCount:
			ar.ClientCount(resp.ClientCount)
		case wire.ReqBroadcastAck:
			v, vatts, err := wire.Extract(resp.Packet, atts)
			if err == nil {
				ar.Ack(wire.AckFromValue(v, vatts))
			}
		}
		return
	}
	switch a.reqs.Kind(resp.RequestID) {
	case reqFetch:
		sockets := wire.ReadSockets(resp.Sockets, atts)
		a.reqs.Answered(resp.RequestID, reqFetch, func(r *clusterreq.Request) { r.Sockets = append(r.Sockets, sockets...) })
	case reqSockets:
		var ids []string
		_ = json.Unmarshal(resp.Sockets, &ids)
		a.reqs.Answered(resp.RequestID, reqSockets, func(r *clusterreq.Request) { r.IDs = append(r.IDs, ids...) })
	case reqAllRooms:
		a.reqs.Answered(resp.RequestID, reqAllRooms, func(r *clusterreq.Request) {
			for _, room := range resp.Rooms {
				if r.Rooms == nil {
					r.Rooms = make(map[string]struct{})
				}
				r.Rooms[room] = struct{}{}
			}
		})
	case reqServerSideEmit:
		v, vatts, err := wire.Extract(resp.Data, atts)
		if err != nil {
			return
		}
		a.reqs.Answered(resp.RequestID, reqServerSideEmit, func(r *clusterreq.Request) {
			r.Responses = append(r.Responses, wire.AckFromValue(v, vatts))
		})
	}
}
