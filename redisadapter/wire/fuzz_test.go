package wire

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzMsgpackToJSON feeds arbitrary bytes, as another server or a broken
// broker could publish, to the msgpack decoder: it must never panic, and
// what it accepts must be valid JSON that encodes back. Without binary, that
// JSON is a fixed point of the two conversions: they keep key order and
// number forms. With binary, InlineBinary writes valid JSON.
func FuzzMsgpackToJSON(f *testing.F) {
	for _, seed := range [][]byte{
		{0x80},                   // {}
		{0x93, 0x01, 0xc3, 0xc0}, // [1,true,nil]
		{0x82, 0xa4, 't', 'y', 'p', 'e', 0x02, 0xa4, 'd', 'a', 't', 'a', 0x92, 0xa1, 'x', 0xc4, 0x02, 0x01, 0x02},
		{0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0},             // 1.5
		{0xcb, 0x80, 0, 0, 0, 0, 0, 0, 0},                // -0
		{0xd7, 0xff, 0x77, 0x35, 0x94, 0x00, 0, 0, 0, 1}, // timestamp
		{0xdc, 0xff, 0xff},                               // array16 with no elements present
		{0xdf, 0xff, 0xff, 0xff, 0xff},                   // huge map header
		{0x82, 0xa1, 'z', 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xa1, 'a', 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}, // keys out of order, extreme integers
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		js, atts, err := MsgpackToJSON(src)
		if err != nil {
			return
		}
		if !json.Valid(js) {
			t.Fatalf("invalid JSON %q from %x", js, src)
		}
		mp, err := JSONToMsgpack(nil, js, atts)
		if err != nil {
			t.Fatalf("re-encode %q: %v", js, err)
		}
		if len(atts) == 0 {
			again, _, err := MsgpackToJSON(mp)
			if err != nil || !bytes.Equal(again, js) {
				t.Fatalf("%q came back as %q (%v)", js, again, err)
			}
		} else if in, err := InlineBinary(js, atts); err != nil || !json.Valid(in) {
			t.Fatalf("InlineBinary(%q): %q %v", js, in, err)
		}
		_, _, _ = Extract(js, atts)
	})
}
