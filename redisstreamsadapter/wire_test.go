package redisstreamsadapter

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/redisadapter/wire"
	"github.com/socketio-go/socketio/sioparser"
)

type fakeNamespace struct{ name string }

func (f fakeNamespace) Name() string                                 { return f.name }
func (f fakeNamespace) Prepare(p *sioparser.Packet) adapter.Prepared { return p }
func (f fakeNamespace) NextAckID() uint64                            { return 1 }
func (f fakeNamespace) OnServerSideEmit([]byte, [][]byte, func(adapter.AckResponse)) {
}

func testAdapter(t *testing.T) *Adapter {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1}) // nobody listens there
	t.Cleanup(func() { _ = rdb.Close() })
	o := (&Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).withDefaults()
	return newAdapter(fakeNamespace{"/"}, rdb, o)
}

// TestWireCaptures compares what the adapter writes with what Node's wrote
// in the captures of WIRE.md (shared/redis-streams-adapter).
func TestWireCaptures(t *testing.T) {
	a := testAdapter(t)
	a.uid = "bd1a310c63d8cb48"

	// §3.2: a broadcast with binary, as a stream entry's data field
	p := &sioparser.Packet{Type: sioparser.Event, Data: []byte(`["bin",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2, 3}}}
	data, err := a.entryData(wire.MsgBroadcast, func(w *wire.Writer) {
		wire.WriteBroadcastData(w, p, true, &adapter.BroadcastOptions{}, "")
	})
	if want := "gqZwYWNrZXSCpHR5cGUCpGRhdGGSo2JpbsQDAQIDpG9wdHODpXJvb21zkKZleGNlcHSQpWZsYWdzgA=="; err != nil || data != want {
		t.Errorf("binary broadcast entry:\n got %s %v\nwant %s", data, err, want)
	}
	// §3.2: a broadcast without binary is JSON
	p = &sioparser.Packet{Type: sioparser.Event, Data: []byte(`["hello",{"x":1}]`)}
	data, _ = a.entryData(wire.MsgBroadcast, func(w *wire.Writer) {
		wire.WriteBroadcastData(w, p, true, &adapter.BroadcastOptions{Rooms: []string{"room1"}}, "")
	})
	if want := `{"packet":{"type":2,"data":["hello",{"x":1}]},"opts":{"rooms":["room1"],"except":[],"flags":{}}}`; data != want {
		t.Errorf("broadcast entry:\n got %s\nwant %s", data, want)
	}
	// §4: FETCH_SOCKETS on pub/sub, always MessagePack
	payload, _ := wire.ClusterMessage(wire.MsgFetchSockets, a.uid, "/", func(w *wire.Writer) {
		w.Key("opts")
		wire.WriteBroadcastOptions(w, &adapter.BroadcastOptions{}, true)
		w.Key("requestId")
		w.String("ee3db7d71a36fd8f")
	}).Encode(true)
	if want := "84a47479706507a46461746182a46f70747383a5726f6f6d7390a665786365707490a5666c61677380a9726571756573744964b065653364623764373161333666643866a3756964b062643161333130633633643863623438a36e7370a12f"; hex.EncodeToString(payload) != want {
		t.Errorf("fetchSockets:\n got %x\nwant %s", payload, want)
	}
	// §5.2: a stored session (a struct keeps Node's key order)
	value, err := a.encodeSession(&adapter.Session{
		SID: "kKAFA0-o48EYyh4vAAAA", PID: "Tjrx7aqaKEn7OzVwAAAB",
		Rooms: []string{"kKAFA0-o48EYyh4vAAAA", "room1"},
		Data: struct {
			User  string `json:"user"`
			Level int    `json:"level"`
		}{"alice", 7},
	})
	if want := "hKNzaWS0a0tBRkEwLW80OEVZeWg0dkFBQUGjcGlktFRqcng3YXFhS0VuN096VndBQUFCpXJvb21zkrRrS0FGQTAtbzQ4RVl5aDR2QUFBQaVyb29tMaRkYXRhgqR1c2VypWFsaWNlpWxldmVsBw=="; err != nil || value != want {
		t.Errorf("session:\n got %s %v\nwant %s", value, err, want)
	}
	s, err := decodeSession("hKNzaWS0a0tBRkEwLW80OEVZeWg0dkFBQUGjcGlktFRqcng3YXFhS0VuN096VndBQUFCpXJvb21zkrRrS0FGQTAtbzQ4RVl5aDR2QUFBQaVyb29tMaRkYXRhgqR1c2VypWFsaWNlpWxldmVsBw==")
	if err != nil || s.SID != "kKAFA0-o48EYyh4vAAAA" || len(s.Rooms) != 2 || string(s.Data.(json.RawMessage)) != `{"user":"alice","level":7}` {
		t.Errorf("Node's session decoded: %+v, %v", s, err)
	}
}

// TestStreamNames checks Node's namespace-to-stream mapping with
// StreamCount 3, as captured (WIRE.md §3.4), the negative one included.
func TestStreamNames(t *testing.T) {
	o := Options{StreamName: "socket.io", StreamCount: 3}
	for nsp, want := range map[string]string{"/": "socket.io-2", "/ns2": "socket.io-1", "/notifications": "socket.io--2"} {
		if got := streamFor(nsp, &o); got != want {
			t.Errorf("%s: %s, want %s", nsp, got, want)
		}
	}
	if got := streamFor("/", &Options{StreamName: "s", StreamCount: 1}); got != "s" {
		t.Errorf("one stream: %s", got)
	}
}

// TestRedisDownAtStart: with no Redis, Init says so at once, broadcasts
// wait in the outbox (their local part done), requests fail at once with
// ErrUnavailable, and Close gives up on what waits.
func TestRedisDownAtStart(t *testing.T) {
	a := testAdapter(t) // its client points at a port nobody listens on
	a.opts.RequestsTimeout = time.Second
	a.recovery = time.Minute
	if err := a.Init(); err == nil || !strings.Contains(err.Error(), "cannot subscribe") {
		t.Fatalf("Init: %v", err)
	}
	p := &sioparser.Packet{Type: sioparser.Event, Data: []byte(`["x"]`)}
	if err := a.Broadcast(p, &adapter.BroadcastOptions{}); err != nil {
		t.Errorf("Broadcast: %v", err)
	}
	ctx := context.Background()
	if _, err := a.FetchSockets(ctx, &adapter.BroadcastOptions{}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("FetchSockets: %v", err)
	}
	if _, err := a.ServerCount(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("ServerCount: %v", err)
	}
	if _, err := a.ServerSideEmitWithAck(ctx, []byte(`["x"]`), nil); !errors.Is(err, ErrUnavailable) {
		t.Errorf("ServerSideEmitWithAck: %v", err)
	}
	if _, err := a.RestoreSession("pid", "1-0"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("RestoreSession: %v", err)
	}
	if _, err := a.RestoreSession("pid", "abc"); err == nil {
		t.Error("RestoreSession with an invalid offset: no error")
	}
	if st := a.OutboxStats(); st.Queued != 1 {
		t.Errorf("outbox: %+v", st)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if st := a.OutboxStats(); st.Abandoned != 1 || st.Queued != 0 {
		t.Errorf("outbox after Close: %+v", st)
	}
}
