package clusteradapter

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/redisadapter/wire"
)

// Connection state recovery across servers, shared by the adapters whose
// broker keeps messages (Redis Streams, NATS JetStream): a disconnected
// socket's session is stored as MessagePack {sid, pid, rooms, data} (as
// Node's streams adapter stores it, before base64), and the broadcasts
// after the client's offset that were for its rooms are replayed.

// ErrSessionNotFound is returned by a restore when the session or the
// offset is gone (the socket then starts a new session).
var ErrSessionNotFound = errors.New("session or offset not found")

// EncodeSession returns the stored form of a session. Data that cannot be
// encoded is stored as null, and its error returned with the bytes.
func EncodeSession(s *adapter.Session) ([]byte, error) {
	var w wire.Writer
	w.BeginObject()
	w.Key("sid")
	w.String(s.SID)
	w.Key("pid")
	w.String(s.PID)
	w.Key("rooms")
	w.Strings(s.Rooms)
	w.Key("data")
	dataErr := wire.WriteData(&w, s.Data)
	w.EndObject()
	mp, err := w.Encode(true)
	if err != nil {
		return nil, err
	}
	return mp, dataErr
}

// DecodeSession reads a stored session. Its data is the JSON the old
// server stored (a json.RawMessage), nil for Node's default {}.
func DecodeSession(mp []byte) (*adapter.Session, error) {
	js, atts, err := wire.MsgpackToJSON(mp)
	if err != nil {
		return nil, fmt.Errorf("stored session: %w", err)
	}
	var sj struct {
		SID   string          `json:"sid"`
		PID   string          `json:"pid"`
		Rooms []string        `json:"rooms"`
		Data  json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(js, &sj); err != nil {
		return nil, fmt.Errorf("stored session: %w", err)
	}
	s := &adapter.Session{SID: sj.SID, PID: sj.PID, Rooms: sj.Rooms}
	if d := strings.TrimSpace(string(sj.Data)); d != "" && d != "null" && d != "{}" {
		if v, err := wire.InlineBinary(sj.Data, atts); err == nil {
			s.Data = json.RawMessage(v)
		}
	}
	return s, nil
}

// Missed returns the event a session in rooms missed, with offset
// appended, when d (the data of a BROADCAST, with the message's
// attachments) was a broadcast it would have got: not volatile, without
// acknowledgement, for its rooms. Volatile broadcasts and emits with
// acknowledgements are not replayed (Node replays them as plain events).
func Missed(rooms []string, d *wire.ClusterData, atts [][]byte, offset string) (adapter.MissedPacket, bool) {
	var p wire.Packet
	if d.Opts == nil || d.RequestID != "" || json.Unmarshal(d.Packet, &p) != nil {
		return adapter.MissedPacket{}, false
	}
	if p.ID != nil || d.Opts.Flags.Volatile || !reached(rooms, d.Opts) {
		return adapter.MissedPacket{}, false
	}
	args, argAtts, err := wire.Extract(p.Data, atts)
	if err != nil || len(args) == 0 || args[0] != '[' {
		return adapter.MissedPacket{}, false
	}
	return adapter.MissedPacket{Data: adapter.AppendOffset(args, offset), Attachments: argAtts}, true
}

// reached reports whether a socket in rooms was among the recipients of a
// broadcast with options o.
func reached(rooms []string, o *wire.Opts) bool {
	in := func(set []string) func(string) bool {
		return func(r string) bool { return slices.Contains(set, r) }
	}
	if slices.ContainsFunc(rooms, in(o.Except)) {
		return false
	}
	return len(o.Rooms) == 0 || slices.ContainsFunc(rooms, in(o.Rooms))
}
