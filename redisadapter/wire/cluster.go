package wire

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	ev "github.com/socketio-go/socketio/internal/event"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/sioparser"
)

// The parts of messages that the cluster adapters share (broadcast
// options, FetchSockets answers, acknowledgements), as socket.io-adapter's
// ClusterAdapter writes them.

// decodeValue turns a JSON value with placeholders into a generic Go value
// (map[string]any, []any, string, float64, bool, nil, []byte), as the
// socket packages decode a handshake's auth.
func decodeValue(js []byte, atts [][]byte) any {
	if len(js) == 0 {
		return nil
	}
	v, vatts, err := Extract(js, atts)
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

// rawValue returns a JSON value with placeholders as JSON text of its own,
// binary values as base64 strings: the key order and integers of what the
// other server sent survive, where a generic Go value would sort the keys
// and round integers beyond 2^53 through float64.
func rawValue(js []byte, atts [][]byte) json.RawMessage {
	v, err := InlineBinary(js, atts)
	if err != nil {
		return nil
	}
	return v
}

// EncodeValue returns a Go value as JSON with placeholders, as the socket
// packages encode event arguments ([]byte values become binary). Structs
// keep their field order and a json.RawMessage its text; maps are sorted.
func EncodeValue(v any) ([]byte, [][]byte, error) {
	data, atts, err := ev.EncodeArgs("", false, []any{v})
	if err != nil {
		return nil, nil, err
	}
	return data[1 : len(data)-1], atts, nil
}

// jsDateLayout is JavaScript's Date.prototype.toString for a date in UTC.
const jsDateLayout = "Mon Jan 02 2006 15:04:05 GMT-0700"

// WriteSocketInfo writes a local socket as a FetchSockets answer: Node's
// {id, handshake, rooms, data}. Data that cannot be encoded is written
// null, and its error returned.
func WriteSocketInfo(w *Writer, info adapter.SocketInfo) error {
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
	err := WriteData(w, info.Data)
	w.EndObject()
	return err
}

// WriteData writes a socket's data: {} (socket.data's default in Node)
// for nil, null with the error when it cannot be encoded.
func WriteData(w *Writer, data any) error {
	if data == nil {
		w.Raw([]byte("{}"), nil)
		return nil
	}
	v, atts, err := EncodeValue(data)
	if err != nil {
		w.Null()
		return err
	}
	w.Raw(v, atts)
	return nil
}

// writeHandshake writes a handshake as Node's socket.handshake.
func writeHandshake(w *Writer, h *adapter.Handshake) {
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
	for _, k := range queryKeys(h.URL, h.Query) {
		w.Key(k)
		if vs := h.Query[k]; len(vs) == 1 {
			w.String(vs[0])
		} else {
			w.Strings(vs)
		}
	}
	w.EndObject()
	w.Key("auth")
	if v, atts, err := EncodeValue(h.Auth); err == nil && h.Auth != nil {
		w.Raw(v, atts)
	} else {
		w.Raw([]byte("{}"), nil)
	}
	w.EndObject()
}

// queryKeys returns the keys of q in the order they first appear in the
// query string of uri, the order of Node's handshake.query
// (Object.fromEntries of the URL's searchParams); keys missing there
// follow, sorted.
func queryKeys(uri string, q url.Values) []string {
	keys := make([]string, 0, len(q))
	seen := make(map[string]bool, len(q)) // a client chooses how many keys
	_, raw, _ := strings.Cut(uri, "?")
	for part := range strings.SplitSeq(raw, "&") {
		name, _, _ := strings.Cut(part, "=")
		k, err := url.QueryUnescape(name)
		if _, ok := q[k]; ok && err == nil && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	if len(keys) < len(q) {
		n := len(keys)
		for k := range q {
			if !seen[k] {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys[n:])
	}
	return keys
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

// ReadSockets decodes the sockets of a FetchSockets answer (raw JSON array,
// attachments of the whole message). Data is the json.RawMessage of
// rawValue, nil when the answer has none; the handshake gets Go types.
func ReadSockets(raw json.RawMessage, atts [][]byte) []adapter.SocketInfo {
	var list []socketJSON
	if len(raw) == 0 || json.Unmarshal(raw, &list) != nil {
		return nil
	}
	out := make([]adapter.SocketInfo, 0, len(list))
	for _, s := range list {
		info := adapter.SocketInfo{ID: s.ID, Rooms: s.Rooms, Handshake: readHandshake(s.Handshake, atts)}
		if len(s.Data) > 0 {
			if v := rawValue(s.Data, atts); v != nil {
				info.Data = v // never a nil json.RawMessage in an any
			}
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

// ToOptions converts received broadcast options.
func ToOptions(o *Opts) *adapter.BroadcastOptions {
	if o == nil {
		return &adapter.BroadcastOptions{}
	}
	return &adapter.BroadcastOptions{
		Rooms:  o.Rooms,
		Except: o.Except,
		Flags:  adapter.BroadcastFlags{Volatile: o.Flags.Volatile, NoCompress: o.Flags.Compress != nil && !*o.Flags.Compress},
	}
}

// Opts are broadcast options as they travel.
type Opts struct {
	Rooms  []string `json:"rooms"`
	Except []string `json:"except"`
	Flags  struct {
		Volatile bool    `json:"volatile"`
		Compress *bool   `json:"compress"` // Node's compress(false): false
		Timeout  float64 `json:"timeout"`
	} `json:"flags"`
}

// FlagsOf returns the flags of a broadcast as they travel (Local never
// does; NoCompress is Node's compress: false).
func FlagsOf(f adapter.BroadcastFlags) Flags {
	var compress *bool
	if f.NoCompress {
		compress = new(bool)
	}
	return Flags{
		Volatile:             f.Volatile,
		Compress:             compress,
		TimeoutMillis:        f.Timeout.Milliseconds(),
		ExpectSingleResponse: f.ExpectSingleResponse,
	}
}

// WriteBroadcastOptions writes {rooms, except[, flags]}.
func WriteBroadcastOptions(w *Writer, opts *adapter.BroadcastOptions, withFlags bool) {
	w.BeginObject()
	w.Key("rooms")
	w.Strings(opts.Rooms)
	w.Key("except")
	w.Strings(opts.Except)
	if withFlags {
		w.Key("flags")
		FlagsOf(opts.Flags).Write(w)
	}
	w.EndObject()
}

// FirstArg returns the first element of an acknowledgement's arguments (nil
// when there is none: JavaScript's undefined) with its attachments: what
// travels back to the server that asked.
func FirstArg(r adapter.AckResponse) ([]byte, [][]byte) {
	elems, err := sioparser.SplitArray(r.Data)
	if err != nil || len(elems) == 0 {
		return nil, nil
	}
	v, atts, err := Extract(elems[0], r.Attachments)
	if err != nil {
		return nil, nil
	}
	return v, atts
}

// AckFromValue turns one value received from another server into an
// acknowledgement's arguments: [value] (or [] for undefined).
func AckFromValue(v []byte, atts [][]byte) adapter.AckResponse {
	if len(v) == 0 {
		return adapter.AckResponse{Data: []byte("[]")}
	}
	data := make([]byte, 0, len(v)+2)
	data = append(append(append(data, '['), v...), ']')
	return adapter.AckResponse{Data: data, Attachments: atts}
}

// Packet is a Socket.IO packet inside a message: {type, data, nsp?}.
type Packet struct {
	Type int             `json:"type"`
	Data json.RawMessage `json:"data"`
	Nsp  *string         `json:"nsp"`
	ID   *int64          `json:"id"`
}

// DecodePayload returns a received payload, JSON or MessagePack, as JSON
// text and attachments.
func DecodePayload(payload []byte) ([]byte, [][]byte, error) {
	if IsJSON(payload) {
		return payload, nil, nil
	}
	return MsgpackToJSON(payload)
}
