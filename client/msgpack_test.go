package client_test

import (
	"errors"
	"testing"
	"time"

	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/msgpackparser"
)

// msgpackOptions are testOptions with the MessagePack parser.
func msgpackOptions(transports ...string) *client.Options {
	o := testOptions(transports...)
	o.Parser = msgpackparser.New()
	return o
}

// TestMsgpack: the Go client with the MessagePack parser against our
// server and against Node's socket.io with npm socket.io-msgpack-parser,
// over every transport: events and acknowledgements both ways with binary
// at the top level and nested, namespaces, a middleware's refusal with its
// data, the server disconnecting the socket.
func TestMsgpack(t *testing.T) {
	forEachPeer(t, peerOptions{msgpack: true}, func(t *testing.T, p *peer) {
		for _, mode := range transportModes {
			t.Run(mode.name, func(t *testing.T) {
				s, err := client.NewSocket(p.url("/"), msgpackOptions(mode.transports...))
				if err != nil {
					t.Fatal(err)
				}
				welcomes := make(chan welcome, 1)
				s.On("welcome", func(w welcome) { welcomes <- w })
				type pong struct {
					text string
					data []byte
					m    map[string]any
				}
				pongs := make(chan pong, 1)
				s.On("pong", func(text string, data []byte, m map[string]any) { pongs <- pong{text, data, m} })
				s.On("question", func(b []byte, ack func([]byte)) { ack(append(b, 1)) })
				s.Connect()
				defer s.Disconnect()
				ctx := ctxT(t)
				if err := s.WaitConnect(ctx); err != nil {
					t.Fatal(err)
				}
				if w := recv(t, welcomes, "welcome"); w.ID != s.ID() || w.ID == "" || w.Nsp != "/" {
					t.Fatalf("welcome %+v, socket id %q", w, s.ID())
				}
				waitTransport(t, s, mode.final)

				type nested struct {
					Blob []byte  `json:"blob"`
					N    int     `json:"n"`
					F    float64 `json:"f"`
					List []any   `json:"list"`
				}
				args, err := s.EmitWithAck(ctx, "echo", "text", []byte{0, 1, 2, 255}, nested{Blob: []byte("inner"), N: -7, F: 1.5, List: []any{"x", nil, true}}, 1<<40, []byte{})
				if err != nil {
					t.Fatal(err)
				}
				var (
					text  string
					blob  []byte
					nst   nested
					num   int64
					empty []byte
				)
				if err := args.Decode(&text, &blob, &nst, &num, &empty); err != nil {
					t.Fatal(err)
				}
				if text != "text" || string(blob) != "\x00\x01\x02\xff" || string(nst.Blob) != "inner" || nst.N != -7 || nst.F != 1.5 ||
					len(nst.List) != 3 || nst.List[0] != "x" || nst.List[1] != nil || nst.List[2] != true || num != 1<<40 || empty == nil || len(empty) != 0 {
					t.Fatalf("echo: %q %v %+v %d %v", text, blob, nst, num, empty)
				}

				// Server to client, binary at the top level and nested.
				if err := s.Emit("emit-back", "pong", "bin", []byte{9, 8, 7}, map[string]any{"deep": []byte{6}}); err != nil {
					t.Fatal(err)
				}
				got := recv(t, pongs, "pong")
				if deep, _ := got.m["deep"].([]byte); got.text != "bin" || string(got.data) != "\x09\x08\x07" || string(deep) != "\x06" {
					t.Fatalf("pong %+v", got)
				}

				// The server asks the client, which answers with binary;
				// the server acks back the answer.
				args, err = s.EmitWithAck(ctx, "ask", "question", []byte{5})
				if err != nil {
					t.Fatal(err)
				}
				var answer []byte
				if err := args.Decode(&answer); err != nil || string(answer) != "\x05\x01" {
					t.Fatalf("ask: %x %v", answer, err)
				}
			})
		}

		// Namespaces, on the same connection.
		shared := msgpackOptions()
		shared.ForceNew = false
		a, wa := dial(t, p.url("/"), shared)
		b, wb := dial(t, p.url("/room"), shared)
		if a.Manager() != b.Manager() {
			t.Fatal("namespaces do not share their Manager")
		}
		if w := recv(t, wa, "welcome /"); w.Nsp != "/" {
			t.Fatalf("welcome of / from %q", w.Nsp)
		}
		if w := recv(t, wb, "welcome /room"); w.Nsp != "/room" {
			t.Fatalf("welcome of /room from %q", w.Nsp)
		}

		// A middleware's refusal with its data, an unknown namespace.
		ctx := ctxT(t)
		_, err := client.Connect(ctx, p.url("/admin"), msgpackOptions())
		var ce *client.ConnectError
		if !errors.As(err, &ce) || ce.Message != "not authorized" || string(ce.Data) != `{"code":401}` {
			t.Fatalf("middleware error: %#v", err)
		}
		_, err = client.Connect(ctx, p.url("/nope"), msgpackOptions())
		if !errors.As(err, &ce) || ce.Message != "Invalid namespace" {
			t.Fatalf("unknown namespace: %v", err)
		}
		o := msgpackOptions()
		o.Auth = map[string]any{"token": "secret", "user": "ann"}
		_, wadm := dial(t, p.url("/admin"), o)
		if w := recv(t, wadm, "welcome /admin"); w.Auth["user"] != "ann" {
			t.Fatalf("auth seen by the server: %v", w.Auth)
		}

		// The server disconnects the socket.
		reasons := make(chan client.DisconnectReason, 1)
		a.OnDisconnect(func(r client.DisconnectReason, _ error) { reasons <- r })
		_ = a.Emit("disconnect-me")
		if r := recv(t, reasons, "disconnect"); r != client.ReasonIOServerDisconnect {
			t.Fatalf("reason %q", r)
		}
	})
}

// TestMsgpackRecovery: connection state recovery with the MessagePack
// parser: the missed event comes with its offset.
func TestMsgpackRecovery(t *testing.T) {
	forEachPeer(t, peerOptions{recovery: true, msgpack: true}, func(t *testing.T, p *peer) {
		o := msgpackOptions("websocket")
		o.ReconnectionDelay = 300 * time.Millisecond
		s, err := client.NewSocket(p.url("/"), o)
		if err != nil {
			t.Fatal(err)
		}
		connects := make(chan bool, 4)
		missed := make(chan []byte, 4)
		s.OnConnect(func() { connects <- s.Recovered() })
		s.On("missed", func(v []byte) { missed <- v })
		s.Connect()
		defer s.Disconnect()
		if rec := recv(t, connects, "connect"); rec {
			t.Fatal("first connection recovered")
		}
		if err := s.Emit("drop-me", s.Manager().Engine().ID(), "missed", []byte{1, 2, 3}); err != nil {
			t.Fatal(err)
		}
		if rec := recv(t, connects, "reconnect"); !rec {
			t.Fatal("reconnection not recovered")
		}
		if v := recv(t, missed, "missed event"); string(v) != "\x01\x02\x03" {
			t.Fatalf("missed %x", v)
		}
	})
}

// TestParserMismatch: a client whose parser is not the server's does not
// connect (the server closes the connection on its first packet).
func TestParserMismatch(t *testing.T) {
	for _, tc := range []struct {
		name    string
		server  bool // the server uses MessagePack (else the client does)
		options func() *client.Options
	}{
		{"msgpack server, default client", true, func() *client.Options { return testOptions("websocket") }},
		{"default server, msgpack client", false, func() *client.Options { return msgpackOptions("websocket") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := goPeer(t, peerOptions{msgpack: tc.server})
			o := tc.options()
			o.DisableReconnection = true
			ctx := ctxT(t)
			if _, err := client.Connect(ctx, p.url("/"), o); err == nil {
				t.Fatal("connected with another parser than the server's")
			}
		})
	}
}
