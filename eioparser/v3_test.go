package eioparser

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/socketio-go/socketio/internal/wellformed"
)

var v3TypeNames = map[string]Type{"open": Open, "close": Close, "ping": Ping, "pong": Pong, "message": Message, "upgrade": Upgrade, "noop": Noop}

type nodePacket struct {
	Type   *string `json:"type"`
	Binary bool    `json:"binary"`
	Data   string  `json:"data"`
}

// TestV3AgainstNode checks the v3 decoders and encoders against what Node's
// v3 parser made of the same input (testdata/v3_node.json, made by
// testdata/gen_v3.mjs): hand-picked corner cases and 800 seeded random
// payloads, good and bad.
func TestV3AgainstNode(t *testing.T) {
	raw, err := os.ReadFile("testdata/v3_node.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Decode []struct {
			Kind    string       `json:"kind"`
			In      string       `json:"in"`
			Packets []nodePacket `json:"packets"`
			Error   bool         `json:"error"`
		} `json:"decode"`
		Encode []struct {
			Packets []nodePacket `json:"packets"`
			Text    string       `json:"text"`
			XHR2    string       `json:"xhr2"`
		} `json:"encode"`
	}
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatal(err)
	}
	for i, c := range golden.Decode {
		in, _ := hex.DecodeString(c.In)
		var got []Packet
		var err error
		switch c.Kind {
		case "text":
			got, err = DecodePayloadV3(in, 0)
		case "binary":
			got, err = DecodeBinaryPayloadV3(in, 0)
		case "frame", "binframe":
			var p Packet
			p, err = DecodePacketV3(in, c.Kind == "binframe")
			if err == nil {
				got = []Packet{p}
			}
		}
		if (err != nil) != c.Error {
			t.Errorf("case %d %s %q: err = %v, Node's error = %v", i, c.Kind, in, err, c.Error)
			continue
		}
		if len(got) != len(c.Packets) {
			t.Errorf("case %d %s %q: %d packets %v, Node %d %+v", i, c.Kind, in, len(got), got, len(c.Packets), c.Packets)
			continue
		}
		for j, want := range c.Packets {
			g := got[j]
			wantType := ignoredType
			if want.Type != nil {
				wantType = v3TypeNames[*want.Type]
			}
			wantData, _ := hex.DecodeString(want.Data)
			if g.Type != wantType || g.Binary != want.Binary || !bytes.Equal(g.Data, wantData) {
				t.Errorf("case %d %s %q packet %d: got %v %v %x, Node %v %v %x", i, c.Kind, in, j, g.Type, g.Binary, g.Data, wantType, want.Binary, wantData)
			}
		}
	}
	for i, c := range golden.Encode {
		var packets []Packet
		hasBinary := false
		for _, np := range c.Packets {
			d, _ := hex.DecodeString(np.Data)
			packets = append(packets, Packet{Type: v3TypeNames[*np.Type], Data: d, Binary: np.Binary})
			hasBinary = hasBinary || np.Binary
		}
		if got := hex.EncodeToString(AppendPayloadV3(nil, packets)); got != c.Text {
			t.Errorf("encoding %d, text: %s, Node %s", i, got, c.Text)
		}
		xhr2 := AppendPayloadV3(nil, packets)
		if hasBinary {
			xhr2 = AppendBinaryPayloadV3(nil, packets)
		}
		if got := hex.EncodeToString(xhr2); got != c.XHR2 {
			t.Errorf("encoding %d, XHR2: %s, Node %s", i, got, c.XHR2)
		}
	}
}

func TestV3RoundTrip(t *testing.T) {
	packets := []Packet{
		{Type: Open, Data: []byte(`{"sid":"abc"}`)},
		{Type: Message, Data: []byte("héllo 😀")},
		{Type: Message, Data: []byte{0, 1, 2, 0xff}, Binary: true},
		{Type: Noop},
	}
	check := func(name string, got []Packet, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != len(packets) {
			t.Fatalf("%s: %d packets, want %d", name, len(got), len(packets))
		}
		for i, p := range packets {
			if got[i].Type != p.Type || got[i].Binary != p.Binary || !bytes.Equal(got[i].Data, p.Data) {
				t.Errorf("%s: packet %d = %+v, want %+v", name, i, got[i], p)
			}
		}
	}
	got, err := DecodePayloadV3(AppendPayloadV3(nil, packets), 0)
	check("text", got, err)
	got, err = DecodeBinaryPayloadV3(AppendBinaryPayloadV3(nil, packets), 0)
	check("binary", got, err)
	for _, p := range packets {
		if n := len(AppendPayloadV3(nil, []Packet{p})); n > EncodedLenV3(p) {
			t.Errorf("text encoding of %+v is %d bytes, EncodedLenV3 says %d", p, n, EncodedLenV3(p))
		}
		if n := len(AppendBinaryPayloadV3(nil, []Packet{p})); n > EncodedLenV3(p) {
			t.Errorf("binary encoding of %+v is %d bytes, EncodedLenV3 says %d", p, n, EncodedLenV3(p))
		}
	}
}

func TestV3MaxPackets(t *testing.T) {
	body := strings.Repeat("1:2", 5)
	if _, err := DecodePayloadV3([]byte(body), 4); !errors.Is(err, ErrTooManyPackets) {
		t.Errorf("text: err = %v, want ErrTooManyPackets", err)
	}
	if got, err := DecodePayloadV3([]byte(body), 5); err != nil || len(got) != 5 {
		t.Errorf("text: %d packets, err %v", len(got), err)
	}
	bin := bytes.Repeat([]byte{0, 1, 0xff, '2'}, 5)
	if _, err := DecodeBinaryPayloadV3(bin, 4); !errors.Is(err, ErrTooManyPackets) {
		t.Errorf("binary: err = %v, want ErrTooManyPackets", err)
	}
}

func TestUTF16Len(t *testing.T) {
	for s, want := range map[string]int{"": 0, "abc": 3, "é": 1, "€": 1, "😀": 2, "a😀é": 4} {
		if got := utf16Len([]byte(s)); got != want {
			t.Errorf("utf16Len(%q) = %d, want %d", s, got, want)
		}
	}
}

func FuzzDecodePayloadV3(f *testing.F) {
	for _, s := range []string{
		"1:2", `97:0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000}`,
		`2:4026:42["chat","héllo 😀"]`, "6:b4AQID", "1:6", "0:", " 6:4hello", "0x6:4hello", "2:4😀",
		`27:451-["bin",{"_placeholder":true,"num":0}]6:b4AQID`, "1:1", "bad", "", "3:4\xff\xfe",
		// Captured from Node and socket.io-client 2.5.0 (TestEIO3Wire).
		`2:4081:42["welcome",{"id":"SID","nsp":"/","recovered":false,"auth":{}}]`,
		`12:431[1,"é😀"]`, `9:40/admin,`, `21:44/admin,{"code":401}`,
		`36:461-3[{"_placeholder":true,"num":0}]6:b4Bwg=`, `39:44/nope,{"message":"Invalid namespace"}`,
		`118:0{"sid":"SID","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`,
	} {
		f.Add([]byte(s), false)
	}
	for _, b := range [][]byte{
		{0, 1, 0xff, '2'}, {1, 4, 0xff, 4, 1, 2, 3}, {0, 0xff}, {0, 10, 11, 0xff, '4'}, {2, 1, 0xff},
		append([]byte{0, 3, 0, 0xff}, `42["bin",{"_placeholder":true,"num":0}]`...),
		// Captured from Node (TestEIO3Wire): an XHR2 binary acknowledgement.
		append(append([]byte{0, 4, 0, 0xff}, `461-2["x",{"_placeholder":true,"num":0}]`...), 1, 4, 0xff, 4, 1, 2, 3),
	} {
		f.Add(b, true)
	}
	f.Fuzz(func(t *testing.T, body []byte, binary bool) {
		var packets []Packet
		if binary {
			packets, _ = DecodeBinaryPayloadV3(body, 1000)
		} else {
			packets, _ = DecodePayloadV3(body, 1000)
		}
		if len(packets) > 1000 {
			t.Fatalf("%d packets over the bound", len(packets))
		}
		for _, p := range packets {
			if !p.Binary && p.Type <= Noop && !bytes.Equal(p.Data, wellformed.UTF8(p.Data)) {
				t.Fatalf("text packet with invalid UTF-8: %q", p.Data)
			}
		}
		// What the encoders write, the decoders read back.
		var clean []Packet
		for _, p := range packets {
			if p.Type <= Noop {
				clean = append(clean, p)
			}
		}
		if len(clean) == 0 {
			return
		}
		back, err := DecodePayloadV3(AppendPayloadV3(nil, clean), 0)
		if err != nil || len(back) != len(clean) {
			t.Fatalf("text round trip of %+v: %d packets, %v", clean, len(back), err)
		}
		back, err = DecodeBinaryPayloadV3(AppendBinaryPayloadV3(nil, clean), 0)
		if err != nil || len(back) != len(clean) {
			t.Fatalf("binary round trip of %+v: %d packets, %v", clean, len(back), err)
		}
		for i := range clean {
			if back[i].Type != clean[i].Type || !bytes.Equal(back[i].Data, clean[i].Data) {
				t.Fatalf("binary round trip: %+v became %+v", clean[i], back[i])
			}
		}
	})
}
