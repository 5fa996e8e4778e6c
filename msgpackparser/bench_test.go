package msgpackparser

import (
	"bytes"
	"testing"

	"github.com/socketio-go/socketio/sioparser"
)

// benchPackets are the packets of the benchmarks: those of the load
// tool's scenarios (cmd/siobench) and a chat message.
var benchPackets = []struct {
	name string
	p    sioparser.Packet
}{
	{"echo", sioparser.Packet{Type: sioparser.Event, Namespace: "/", ID: 42, HasID: true, Data: []byte(`["echo","` + string(bytes.Repeat([]byte("x"), 100)) + `"]`)}},
	{"chat", sioparser.Packet{Type: sioparser.Event, Namespace: "/chat", Data: []byte(`["message",{"room":"lobby","text":"hello there, how are you?","n":12,"at":1.5}]`)}},
	{"binary", sioparser.Packet{Type: sioparser.Event, Namespace: "/", Data: []byte(`["msg",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{bytes.Repeat([]byte("x"), 1000)}}},
}

// BenchmarkDecode compares decoding a received packet with this parser
// and with the default one (its text and attachments given to a
// sioparser.Decoder).
func BenchmarkDecode(b *testing.B) {
	p := New()
	for _, bp := range benchPackets {
		msg, _, err := p.Encode(nil, &bp.p)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bp.name+"/msgpack", func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Decode(msg, true, sioparser.Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		text := bp.p.AppendText(nil)
		b.Run(bp.name+"/json", func(b *testing.B) {
			n := len(text)
			for _, a := range bp.p.Attachments {
				n += len(a)
			}
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				var d sioparser.Decoder
				pk, err := d.Add(text, false)
				for _, a := range bp.p.Attachments {
					pk, err = d.Add(a, true)
				}
				if err != nil || pk == nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncode compares encoding a packet with this parser and with
// the default one.
func BenchmarkEncode(b *testing.B) {
	p := New()
	for _, bp := range benchPackets {
		b.Run(bp.name+"/msgpack", func(b *testing.B) {
			buf := make([]byte, 0, 2048)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, _, err = p.Encode(buf[:0], &bp.p); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bp.name+"/json", func(b *testing.B) {
			buf := make([]byte, 0, 2048)
			b.ReportAllocs()
			for b.Loop() {
				buf = bp.p.AppendText(buf[:0])
			}
		})
	}
}
