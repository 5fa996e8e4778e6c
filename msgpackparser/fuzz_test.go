package msgpackparser

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/socketio-go/socketio/sioparser"
)

// viaDefaultParser checks that p is a packet the default parser accepts:
// its text encoding and attachments decode, with sioparser.Decoder, to the
// same packet.
func viaDefaultParser(t *testing.T, p *sioparser.Packet, maxAtt int) {
	t.Helper()
	if !strings.HasPrefix(p.Namespace, "/") || strings.Contains(p.Namespace, ",") {
		// The text encoding cannot carry such a name (MessagePack can, and
		// the server then refuses the namespace).
		q := *p
		q.Namespace = "/"
		p = &q
	}
	d := sioparser.Decoder{MaxAttachments: maxAtt}
	got, err := d.Add(p.AppendText(nil), false)
	for i := 0; err == nil && got == nil && i < len(p.Attachments); i++ {
		got, err = d.Add(p.Attachments[i], true)
	}
	if err != nil || got == nil {
		t.Fatalf("the default parser refuses %v %q %s (%d attachments): %v", p.Type, p.Namespace, p.Data, len(p.Attachments), err)
	}
	if got.Type != p.Type || got.Namespace != p.Namespace || got.HasID != p.HasID || got.ID != p.ID || !bytes.Equal(got.Data, p.Data) {
		t.Fatalf("the default parser reads %v %q %s, want %v %q %s", got.Type, got.Namespace, got.Data, p.Type, p.Namespace, p.Data)
	}
}

// FuzzDecode: any message decodes without panic, within the limits, to a
// packet the default parser would accept, and that packet survives
// Encode and Decode unchanged.
func FuzzDecode(f *testing.F) {
	for _, fx := range npmFixtures {
		b, _ := hex.DecodeString(fx.hex)
		f.Add(b, uint8(10), uint16(0))
	}
	seeds := []string{
		mp("83", kType, "02", kData, "93a161d50501029191d6ff00000001", kNsp, slash),
		mp("83", kType, "02", kData, "92a16187", "01a131", "cb3ff8000000000000a131", "c0a131", "c3a131", "c2a131", "d40000a131", "cb7ff8000000000000a131", kNsp, slash),
		mp("83", kType, "00", kData, "82a162c403010203a16e01", kNsp, slash),
		mp("84", kType, "02", kData, "91a161", kID, "cf0020000000000000", kNsp, slash),
		mp("83", kType, "02", kData, "92a161a461ff62c3", kNsp, slash),
	}
	for _, s := range seeds {
		b, _ := hex.DecodeString(s)
		f.Add(b, uint8(2), uint16(100))
	}
	p := New()
	f.Fuzz(func(t *testing.T, msg []byte, maxAtt uint8, maxBytes uint16) {
		lim := sioparser.Limits{MaxAttachments: int(maxAtt), MaxBytes: int64(maxBytes)}
		if lim.MaxAttachments == 0 {
			lim.MaxAttachments = sioparser.DefaultMaxAttachments
		}
		got, err := p.Decode(msg, true, lim)
		if err != nil {
			return
		}
		if got.Type > sioparser.ConnectError {
			t.Fatalf("type %v", got.Type)
		}
		if len(got.Attachments) > lim.MaxAttachments {
			t.Fatalf("%d attachments over the limit %d", len(got.Attachments), lim.MaxAttachments)
		}
		n := int64(len(got.Data))
		for _, a := range got.Attachments {
			n += int64(len(a))
		}
		if lim.MaxBytes > 0 && n > lim.MaxBytes {
			t.Fatalf("%d bytes over the limit %d", n, lim.MaxBytes)
		}
		if got.Data != nil && !json.Valid(got.Data) {
			t.Fatalf("invalid JSON %q", got.Data)
		}
		viaDefaultParser(t, got, lim.MaxAttachments)

		enc, _, err := p.Encode(nil, got)
		if err != nil {
			t.Fatalf("Encode of a decoded packet: %v", err)
		}
		again, err := p.Decode(enc, true, sioparser.Limits{MaxAttachments: lim.MaxAttachments})
		if err != nil {
			t.Fatalf("Decode(Encode): %v", err)
		}
		samePacket(t, again, got, got.Attachments)
	})
}

// FuzzEncode: any acknowledgement payload the default parser accepts
// encodes, and decodes back to the same values.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{
		`[]`, `[1,"two",{"three":[3.5,true,false,null]}]`, `[{"_placeholder":true,"num":0}]`,
		`[{"num":0,"_placeholder":true},{"_placeholder":true,"num":1}]`,
		`["\u00e9\ud83d\ude00\ud800\n",-0,1e400,18446744073709551616,1E-2]`,
		` [ { "a" : [ ] , "a" : { } } ] `,
	} {
		f.Add([]byte(s), uint8(2))
	}
	p := New()
	f.Fuzz(func(t *testing.T, data []byte, natt uint8) {
		natt %= 4
		text := "6" + strconv.Itoa(int(natt)) + "-0" + string(data)
		if natt == 0 {
			text = "30" + string(data)
		}
		var d sioparser.Decoder
		in, err := d.Add([]byte(text), false)
		for i := 0; err == nil && in == nil; i++ {
			in, err = d.Add([]byte{byte(i), 0xff}, true)
		}
		if err != nil {
			return
		}
		msg, _, err := p.Encode(nil, in)
		if err != nil {
			t.Fatalf("Encode %s: %v", data, err)
		}
		out, err := p.Decode(msg, true, sioparser.Limits{})
		if err != nil {
			t.Fatalf("Decode(Encode(%s)): %v", data, err)
		}
		want, err1 := resolved(in)
		got, err2 := resolved(out)
		if err1 != nil {
			return // a number encoding/json cannot hold, say
		}
		if err2 != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s\nbecame %s\n got %#v (%v)\nwant %#v", data, out.Data, got, err2, want)
		}
	})
}

// resolved decodes a packet's payload with encoding/json and puts the
// attachments in place of the placeholders.
func resolved(p *sioparser.Packet) (any, error) {
	var v any
	if err := json.Unmarshal(p.Data, &v); err != nil {
		return nil, err
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			if len(p.Attachments) > 0 {
				raw, _ := json.Marshal(x)
				if n, ok := sioparser.PlaceholderIndex(raw); ok && n < len(p.Attachments) {
					return "binary:" + hex.EncodeToString(p.Attachments[n])
				}
			}
			for k, e := range x {
				x[k] = walk(e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		}
		return v
	}
	return walk(v), nil
}
