package event

import (
	"bytes"
	"testing"

	"github.com/socketio-go/socketio/sioparser"
)

// FuzzReassembly feeds a sequence of messages (text headers and binary
// attachments, split at 0xff bytes; the first byte of each says which) to a
// bounded decoder and rebuilds the arguments of each complete packet. It
// checks that a packet never holds more than the bound, that it carries the
// attachments its header announced, and that every placeholder the parser
// accepted is replaced by its attachment.
func FuzzReassembly(f *testing.F) {
	for _, seed := range []string{
		"\x0051-[\"a\",{\"_placeholder\":true,\"num\":0}]\xff\x01abc",
		"\x0052-[\"a\",{\"_placeholder\":true,\"num\":1},{\"_placeholder\":true,\"num\":0.0}]\xff\x01x\xff\x01yz",
		"\x0061-7[{\"k\":[{\"_placeholder\":true,\"num\":0}]}]\xff\x01\x00\x01",
		"\x0052-[\"a\",{\"num\":1e0,\"_placeholder\":true}]\xff\x01\xff\x00\x012[\"b\"]",
		"\x0051-[\"a\",{\"_placeholder\":true,\"num\":0}]\xff\x002[\"b\"]\xff\x01z",
		"\x01orphan",
	} {
		f.Add([]byte(seed), uint16(1000))
		f.Add([]byte(seed), uint16(64))
		f.Add([]byte(seed), uint16(8))
	}
	f.Fuzz(func(t *testing.T, script []byte, limit uint16) {
		d := sioparser.Decoder{MaxBytes: int64(limit) + 1}
		for _, m := range bytes.Split(script, []byte{0xff}) {
			if len(m) == 0 {
				continue
			}
			binary, data := m[0]&1 == 1, m[1:]
			p, err := d.Add(data, binary)
			if err != nil {
				if d.Pending() && err == sioparser.ErrPacketTooLarge {
					t.Fatal("partial packet kept after going over the bound")
				}
				d.Reset()
				continue
			}
			if p == nil || len(p.Attachments) == 0 {
				continue
			}
			size := int64(len(p.Data))
			for _, a := range p.Attachments {
				size += int64(len(a))
			}
			if size > d.MaxBytes {
				t.Fatalf("packet of %d bytes completed over the bound %d", size, d.MaxBytes)
			}
			args := NewArgs(p.Data, p.Attachments)
			vals, err := args.Values()
			if err != nil {
				t.Fatalf("arguments of a valid packet %q do not decode: %v", p.Data, err)
			}
			for _, v := range vals {
				checkResolved(t, v, p.Attachments)
			}
		}
	})
}

// checkResolved fails if v still holds a placeholder object, or holds a
// []byte that is not one of the attachments.
func checkResolved(t *testing.T, v any, attachments [][]byte) {
	switch v := v.(type) {
	case map[string]any:
		if v["_placeholder"] == true {
			if _, isNum := v["num"].(float64); isNum {
				t.Fatalf("placeholder left in place: %v", v)
			}
		}
		for _, e := range v {
			checkResolved(t, e, attachments)
		}
	case []any:
		for _, e := range v {
			checkResolved(t, e, attachments)
		}
	case []byte:
		for _, a := range attachments {
			if len(a) == len(v) && (len(a) == 0 || &a[0] == &v[0]) {
				return
			}
		}
		t.Fatalf("binary value %q is none of the attachments", v)
	}
}
