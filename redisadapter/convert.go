package redisadapter

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	ev "github.com/socketio-go/socketio/internal/event"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/redisadapter/wire"
)

// extract returns a value of a received message with only its own
// attachments, numbered from 0.
func extract(js []byte, atts [][]byte) ([]byte, [][]byte, error) {
	return wire.Extract(js, atts)
}

// decodeValue turns a JSON value with placeholders into a generic Go value
// (map[string]any, []any, string, float64, bool, nil, []byte).
func decodeValue(js []byte, atts [][]byte) any {
	if len(js) == 0 {
		return nil
	}
	v, vatts, err := extract(js, atts)
	if err != nil {
		return nil
	}
	arr := make([]byte, 0, len(v)+2)
	arr = append(append(append(arr, '['), v...), ']')
	vals, err := ev.NewArgs(arr, vatts).Values()
	if err != nil || len(vals) != 1 {
		return nil
	}
	return vals[0]
}

// encodeValue returns a Go value as JSON with placeholders, as the socket
// packages encode event arguments ([]byte values become binary).
func encodeValue(v any) ([]byte, [][]byte, error) {
	data, atts, err := ev.EncodeArgs("", false, []any{v})
	if err != nil {
		return nil, nil, err
	}
	return data[1 : len(data)-1], atts, nil
}

// jsDateLayout is JavaScript's Date.prototype.toString for a date in UTC.
const jsDateLayout = "Mon Jan 02 2006 15:04:05 GMT-0700"

// writeSocketInfo writes a local socket as a FetchSockets answer: Node's
// {id, handshake, rooms, data}.
func (a *Adapter) writeSocketInfo(w *wire.Writer, info adapter.SocketInfo) {
	w.BeginObject()
	w.Key("id")
	w.String(info.ID)
	w.Key("handshake")
	writeHandshake(w, info.Handshake)
	w.Key("rooms")
	rooms := info.Rooms
	if rooms == nil {
		rooms = []string{info.ID}
	}
	w.Strings(rooms)
	w.Key("data")
	if info.Data == nil {
		w.Raw([]byte("{}"), nil) // socket.data's default in Node
	} else if v, atts, err := encodeValue(info.Data); err != nil {
		a.log.Warn("redisadapter: socket data cannot be encoded for other servers", "namespace", a.name, "sid", info.ID, "err", err)
		w.Null()
	} else {
		w.Raw(v, atts)
	}
	w.EndObject()
}

// writeHandshake writes a handshake as Node's socket.handshake.
func writeHandshake(w *wire.Writer, h *adapter.Handshake) {
	if h == nil {
		h = &adapter.Handshake{}
	}
	w.BeginObject()
	w.Key("headers")
	w.BeginObject()
	keys := make([]string, 0, len(h.Headers))
	for k := range h.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		vs := h.Headers[k]
		name := strings.ToLower(k)
		w.Key(name)
		switch name {
		case "set-cookie":
			w.Strings(vs)
		case "cookie":
			w.String(strings.Join(vs, "; "))
		default:
			w.String(strings.Join(vs, ", "))
		}
	}
	w.EndObject()
	w.Key("time")
	w.String(h.Time.UTC().Format(jsDateLayout) + " (Coordinated Universal Time)")
	w.Key("address")
	w.String(h.Address)
	w.Key("xdomain")
	w.Bool(h.XDomain)
	w.Key("secure")
	w.Bool(h.Secure)
	w.Key("issued")
	w.Int(h.Issued)
	w.Key("url")
	w.String(h.URL)
	w.Key("query")
	w.BeginObject()
	keys = keys[:0]
	for k := range h.Query {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		w.Key(k)
		if vs := h.Query[k]; len(vs) == 1 {
			w.String(vs[0])
		} else {
			w.Strings(vs)
		}
	}
	w.EndObject()
	w.Key("auth")
	if v, atts, err := encodeValue(h.Auth); err == nil && h.Auth != nil {
		w.Raw(v, atts)
	} else {
		w.Raw([]byte("{}"), nil)
	}
	w.EndObject()
}

// socketJSON is a socket in a FetchSockets answer.
type socketJSON struct {
	ID        string          `json:"id"`
	Handshake json.RawMessage `json:"handshake"`
	Rooms     []string        `json:"rooms"`
	Data      json.RawMessage `json:"data"`
}

type handshakeJSON struct {
	Headers map[string]json.RawMessage `json:"headers"`
	Time    string                     `json:"time"`
	Address string                     `json:"address"`
	XDomain bool                       `json:"xdomain"`
	Secure  bool                       `json:"secure"`
	Issued  float64                    `json:"issued"`
	URL     string                     `json:"url"`
	Query   map[string]json.RawMessage `json:"query"`
	Auth    json.RawMessage            `json:"auth"`
}

// readSockets decodes the sockets of a FetchSockets answer (raw JSON array,
// attachments of the whole message).
func readSockets(raw json.RawMessage, atts [][]byte) []adapter.SocketInfo {
	var list []socketJSON
	if len(raw) == 0 || json.Unmarshal(raw, &list) != nil {
		return nil
	}
	out := make([]adapter.SocketInfo, 0, len(list))
	for _, s := range list {
		info := adapter.SocketInfo{ID: s.ID, Rooms: s.Rooms, Handshake: readHandshake(s.Handshake, atts)}
		if len(s.Data) > 0 {
			info.Data = decodeValue(s.Data, atts)
		}
		out = append(out, info)
	}
	return out
}

func readHandshake(raw json.RawMessage, atts [][]byte) *adapter.Handshake {
	var h handshakeJSON
	if len(raw) == 0 || json.Unmarshal(raw, &h) != nil {
		return nil
	}
	out := &adapter.Handshake{
		Headers: make(http.Header, len(h.Headers)),
		Address: h.Address,
		XDomain: h.XDomain,
		Secure:  h.Secure,
		Issued:  int64(h.Issued),
		URL:     h.URL,
		Query:   make(url.Values, len(h.Query)),
	}
	for k, v := range h.Headers {
		out.Headers[http.CanonicalHeaderKey(k)] = stringValues(v)
	}
	for k, v := range h.Query {
		out.Query[k] = stringValues(v)
	}
	if out.Issued != 0 {
		out.Time = time.UnixMilli(out.Issued)
	} else if i := strings.Index(h.Time, " ("); i > 0 {
		out.Time, _ = time.Parse(jsDateLayout, h.Time[:i])
	}
	if auth, ok := decodeValue(h.Auth, atts).(map[string]any); ok {
		out.Auth = auth
	} else {
		out.Auth = map[string]any{}
	}
	return out
}

// stringValues reads a header or query value: a string or an array of
// strings.
func stringValues(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var ss []string
	if json.Unmarshal(raw, &ss) == nil {
		return ss
	}
	return []string{strings.Trim(string(raw), `"`)}
}

// toOpts converts received broadcast options.
func toOpts(o *optsJSON) *adapter.BroadcastOptions {
	if o == nil {
		return &adapter.BroadcastOptions{}
	}
	return &adapter.BroadcastOptions{
		Rooms:  o.Rooms,
		Except: o.Except,
		Flags:  adapter.BroadcastFlags{Volatile: o.Flags.Volatile},
	}
}

// optsJSON are broadcast options as they travel.
type optsJSON struct {
	Rooms  []string `json:"rooms"`
	Except []string `json:"except"`
	Flags  struct {
		Volatile bool    `json:"volatile"`
		Timeout  float64 `json:"timeout"`
	} `json:"flags"`
}

// flagsOf returns the flags of a broadcast as they travel (Local never
// does).
func flagsOf(f adapter.BroadcastFlags) wire.Flags {
	return wire.Flags{
		Volatile:             f.Volatile,
		TimeoutMillis:        f.Timeout.Milliseconds(),
		ExpectSingleResponse: f.ExpectSingleResponse,
	}
}

// writeOpts writes {rooms, except[, flags]}.
func writeOpts(w *wire.Writer, opts *adapter.BroadcastOptions, withFlags bool) {
	w.BeginObject()
	w.Key("rooms")
	w.Strings(opts.Rooms)
	w.Key("except")
	w.Strings(opts.Except)
	if withFlags {
		w.Key("flags")
		flagsOf(opts.Flags).Write(w)
	}
	w.EndObject()
}
