package wire

import (
	"encoding/json"
	"math"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/adapter"
)

// TestSocketDataTrip sends a socket's data as a Go server answers
// FetchSockets and reads it back as the asking server does, as JSON and as
// MessagePack (an answer goes as MessagePack when any socket in it has
// binary): the JSON text must come back as the first server wrote it.
func TestSocketDataTrip(t *testing.T) {
	type inner struct {
		Z int     `json:"z"`
		A float64 `json:"a"`
	}
	type data struct {
		Name  string `json:"name"`
		Max   int64  `json:"max"`
		Inner inner  `json:"inner"`
		Blob  []byte `json:"blob,omitempty"`
	}
	raw := `{"z":[1.5,9007199254740993,-1e-7],"a":{"y":null,"b":"x"}}`
	tests := []struct {
		name string
		data any
		want string
	}{
		{"struct in field order", data{Name: "x", Max: math.MaxInt64, Inner: inner{1, 1.5}},
			`{"name":"x","max":9223372036854775807,"inner":{"z":1,"a":1.5}}`},
		{"raw JSON as written", json.RawMessage(raw), raw},
		{"map sorted by Go's encoder", map[string]any{"z": 1, "a": 2}, `{"a":2,"z":1}`},
		{"no data: Node's default", nil, `{}`},
		{"binary as base64", data{Name: "b", Blob: []byte{1, 2, 3}},
			`{"name":"b","max":0,"inner":{"z":0,"a":0},"blob":"AQID"}`},
		{"nested binary", map[string]any{"list": []any{[]byte{0xff}, []byte{}}}, `{"list":["/w==",""]}`},
	}
	hs := &adapter.Handshake{
		Time:  time.UnixMilli(1795648738248),
		URL:   "/socket.io/?z=1&EIO=4&a=2&z=3&transport=websocket",
		Query: url.Values{"z": {"1", "3"}, "EIO": {"4"}, "a": {"2"}, "transport": {"websocket"}},
		Auth:  map[string]any{"token": "t", "n": 7},
	}
	for _, tt := range tests {
		for _, msgpack := range []bool{false, true} {
			name := tt.name + "/json"
			if msgpack {
				name = tt.name + "/msgpack"
			}
			t.Run(name, func(t *testing.T) {
				var w Writer
				w.BeginObject()
				w.Key("sockets")
				w.BeginArray()
				_ = WriteSocketInfo(&w, adapter.SocketInfo{ID: "s1", Handshake: hs, Data: tt.data})
				w.EndArray()
				w.EndObject()
				if w.HasBinary() && !msgpack {
					t.Skip("binary goes as MessagePack only")
				}
				payload, err := w.Encode(msgpack)
				if err != nil {
					t.Fatal(err)
				}
				js, atts, err := DecodePayload(payload)
				if err != nil {
					t.Fatal(err)
				}
				var resp struct {
					Sockets json.RawMessage `json:"sockets"`
				}
				if err := json.Unmarshal(js, &resp); err != nil {
					t.Fatal(err)
				}
				got := ReadSockets(resp.Sockets, atts)
				if len(got) != 1 {
					t.Fatalf("%d sockets", len(got))
				}
				if d, ok := got[0].Data.(json.RawMessage); !ok || string(d) != tt.want {
					t.Errorf("data %T %s, want %s", got[0].Data, got[0].Data, tt.want)
				}
				h := got[0].Handshake
				if h == nil || !reflect.DeepEqual(h.Query, hs.Query) || !reflect.DeepEqual(h.Auth, map[string]any{"token": "t", "n": 7.0}) {
					t.Errorf("handshake %+v", h)
				}
			})
		}
	}
}

// TestHandshakeQueryOrder checks that a Go socket's query goes out in the
// order of its URL, as Node builds handshake.query.
func TestHandshakeQueryOrder(t *testing.T) {
	h := &adapter.Handshake{
		URL:   "/socket.io/?z=1&EIO=4&a%20b=2&z=3&transport=websocket",
		Query: url.Values{"z": {"1", "3"}, "EIO": {"4"}, "a b": {"2"}, "transport": {"websocket"}, "y": {""}, "c": {""}},
	}
	var w Writer
	writeHandshake(&w, h)
	js, _, _ := w.JSON()
	var got struct {
		Query json.RawMessage `json:"query"`
	}
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatal(err)
	}
	// keys not in the URL follow, sorted
	want := `{"z":["1","3"],"EIO":"4","a b":"2","transport":"websocket","c":"","y":""}`
	if string(got.Query) != want {
		t.Errorf("query %s, want %s", got.Query, want)
	}
}

// TestCompressFlag: Compress(false) travels as Node's flags.compress: false,
// both ways, in every adapter (they all write and read options here).
func TestCompressFlag(t *testing.T) {
	var w Writer
	WriteBroadcastOptions(&w, &adapter.BroadcastOptions{Rooms: []string{"r"}, Flags: adapter.BroadcastFlags{Volatile: true, NoCompress: true}}, true)
	js, _, _ := w.JSON()
	if want := `{"rooms":["r"],"except":[],"flags":{"volatile":true,"compress":false}}`; string(js) != want {
		t.Errorf("written %s, want %s", js, want)
	}
	for in, want := range map[string]bool{
		`{"rooms":[],"except":[],"flags":{"volatile":true,"compress":false}}`: true,
		`{"rooms":[],"except":[],"flags":{"compress":true}}`:                  false,
		`{"rooms":[],"except":[],"flags":{}}`:                                 false,
	} {
		var o Opts
		if err := json.Unmarshal([]byte(in), &o); err != nil {
			t.Fatal(err)
		}
		if got := ToOptions(&o).Flags.NoCompress; got != want {
			t.Errorf("%s: NoCompress %v", in, got)
		}
	}
	payload, err := ClassicBroadcast("u", "/", []byte(`["e"]`), nil, nil, nil, FlagsOf(adapter.BroadcastFlags{NoCompress: true}))
	if err != nil {
		t.Fatal(err)
	}
	back, _, _ := MsgpackToJSON(payload)
	if !strings.Contains(string(back), `"flags":{"compress":false}`) {
		t.Errorf("classic broadcast %s", back)
	}
}
