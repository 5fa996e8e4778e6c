package redisstreamsadapter

import (
	"encoding/base64"
	"encoding/json"
	"strconv"

	"github.com/socketio-go/socketio/redisadapter/wire"
)

// decodeEntryData reads the data field of a stream entry: JSON when it
// starts with "{", else base64(MessagePack).
func decodeEntryData(data string) ([]byte, [][]byte, error) {
	if data == "" || data[0] == '{' {
		return []byte(data), nil, nil
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, nil, err
	}
	return wire.MsgpackToJSON(raw)
}

// onEntry handles a stream entry (on the reader's goroutine): entries of
// other namespaces, without nsp, or of this server are skipped.
func (a *Adapter) onEntry(id string, values map[string]any) {
	nsp, _ := values["nsp"].(string)
	uid, _ := values["uid"].(string)
	if nsp != a.name || uid == a.uid {
		return
	}
	ts, _ := values["type"].(string)
	typ, err := strconv.Atoi(ts)
	if err != nil {
		return
	}
	data, _ := values["data"].(string)
	js, atts, err := decodeEntryData(data)
	if err != nil {
		a.log.Debug("redisstreamsadapter: malformed entry", "namespace", a.name, "id", id, "err", err)
		return
	}
	var d wire.ClusterData
	if len(js) > 0 && json.Unmarshal(js, &d) != nil {
		return
	}
	a.handle(typ, uid, &d, atts, id)
}

// onPubSub handles a pub/sub message (on the subscriber's goroutine).
func (a *Adapter) onPubSub(_, _ string, payload []byte) {
	js, atts, err := wire.DecodePayload(payload)
	if err != nil {
		a.log.Debug("redisstreamsadapter: malformed message", "namespace", a.name, "err", err)
		return
	}
	var env wire.ClusterEnvelope
	if json.Unmarshal(js, &env) != nil || env.UID == a.uid || env.Nsp != a.name {
		return
	}
	var d wire.ClusterData
	if len(env.Data) > 0 && json.Unmarshal(env.Data, &d) != nil {
		return
	}
	a.handle(env.Type, env.UID, &d, atts, "")
}

// handle applies a message of another server (ClusterAdapter.onMessage);
// offset is the stream entry id, "" for pub/sub.
func (a *Adapter) handle(typ int, requester string, d *wire.ClusterData, atts [][]byte, offset string) {
	a.recv.Handle(typ, requester, d, atts, offset)
}
