package socketio

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/socketio-go/socketio/internal/websocket"
	"github.com/socketio-go/socketio/msgpackparser"
	"github.com/socketio-go/socketio/sioparser"
)

// benchParsers are the parsers the benchmarks compare.
var benchParsers = []struct {
	name   string
	parser sioparser.Parser
}{
	{"json", nil},
	{"msgpack", msgpackparser.New()},
}

// BenchmarkEcho: one client over WebSocket sends an event with an ack
// (a 100-byte string) and waits for the answer, which the server gives
// with the same arguments, undecoded: the whole round trip through the
// server, per parser.
func BenchmarkEcho(b *testing.B) {
	for _, bp := range benchParsers {
		b.Run(bp.name, func(b *testing.B) {
			opts := testOptions()
			opts.Parser = bp.parser
			ws := dialEchoServer(b, opts)
			enc := benchEncoder(bp.parser)
			read := func() (websocket.Opcode, []byte) {
				for {
					op, data, err := ws.ReadMessage()
					if err != nil {
						b.Fatal(err)
					}
					if op == websocket.OpText && string(data) == "2" {
						_ = ws.WriteMessage(websocket.OpText, []byte("3"))
						continue
					}
					return op, data
				}
			}
			read() // open
			op, msg := enc(&sioparser.Packet{Type: sioparser.Connect, Namespace: "/"})
			_ = ws.WriteMessage(op, msg)
			read() // CONNECT
			arg := strconv.Quote(strings.Repeat("x", 100))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				op, msg := enc(&sioparser.Packet{Type: sioparser.Event, Namespace: "/", ID: uint64(i), HasID: true, Data: []byte(`["echo",` + arg + `]`)})
				if err := ws.WriteMessage(op, msg); err != nil {
					b.Fatal(err)
				}
				read()
			}
		})
	}
}

// dialEchoServer starts a server whose event "echo" acknowledges with its
// own arguments, undecoded, as the bench server does, and opens a
// WebSocket to it; everything ends with the test.
func dialEchoServer(tb testing.TB, opts *Options) *websocket.Conn {
	srv := NewServer(opts)
	srv.OnConnection(func(s *Socket) {
		s.On("echo", func(args Args, ack func(...any)) {
			vals := make([]any, args.Len())
			for i := range vals {
				vals[i] = json.RawMessage(args.Raw(i))
			}
			ack(vals...)
		})
	})
	ts := httptest.NewServer(srv)
	tb.Cleanup(ts.Close)
	tb.Cleanup(func() { srv.Close() })
	ws, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(ts.URL, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ws.Close(websocket.CloseNormal, "") })
	return ws
}

// benchEncoder returns the client side's encoder for a parser.
func benchEncoder(p sioparser.Parser) func(*sioparser.Packet) (websocket.Opcode, []byte) {
	if p == nil {
		return func(pk *sioparser.Packet) (websocket.Opcode, []byte) {
			return websocket.OpText, pk.AppendText([]byte{'4'})
		}
	}
	return func(pk *sioparser.Packet) (websocket.Opcode, []byte) {
		msg, binary, err := p.Encode(nil, pk)
		if err != nil {
			panic(err)
		}
		if binary {
			return websocket.OpBinary, msg
		}
		return websocket.OpText, append([]byte{'4'}, msg...)
	}
}

// BenchmarkPrepare: what a broadcast costs before it is queued, per parser:
// its packet encoded once into Engine.IO messages (a 100-byte string, or
// 100 bytes of binary).
func BenchmarkPrepare(b *testing.B) {
	for _, bp := range benchParsers {
		opts := testOptions()
		opts.Parser = bp.parser
		srv := NewServer(opts)
		defer srv.Close()
		for _, payload := range []struct {
			name string
			p    sioparser.Packet
		}{
			{"text", sioparser.Packet{Type: sioparser.Event, Namespace: "/", Data: []byte(`["msg",` + strconv.Quote(strings.Repeat("x", 100)) + `]`)}},
			{"binary", sioparser.Packet{Type: sioparser.Event, Namespace: "/", Data: []byte(`["msg",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{[]byte(strings.Repeat("x", 100))}}},
		} {
			b.Run(payload.name+"/"+bp.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					p := payload.p
					if pp := srv.prepare(&p); pp.err != nil {
						b.Fatal(pp.err)
					}
				}
			})
		}
	}
}
