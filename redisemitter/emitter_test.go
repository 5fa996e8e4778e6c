package redisemitter_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/socketio-go/socketio/redisadapter/wire"
	"github.com/socketio-go/socketio/redisemitter"
)

// The emitter's interop with Go and Node servers is tested in package
// redisadapter (TestEmitters). These tests check its messages byte for byte
// against what the Node emitter (npm @socket.io/redis-emitter 5.1.0)
// published in the captures of WIRE.md.

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newRedis(t *testing.T) *redis.Client {
	t.Helper()
	addr := os.Getenv("SOCKETIO_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		if os.Getenv("SOCKETIO_SKIP_REDIS") == "1" {
			t.Skipf("no Redis at %s (SOCKETIO_SKIP_REDIS=1): %v", addr, err)
		}
		t.Fatalf("no Redis at %s: %v (or set SOCKETIO_SKIP_REDIS=1)", addr, err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func notepack(t *testing.T, js string) []byte {
	t.Helper()
	b, err := wire.JSONToMsgpack(nil, []byte(js), nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMessagesMatchNode(t *testing.T) {
	rdb := newRedis(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	key := "sio-emitter-test-" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ps := rdb.PSubscribe(ctx, key+"#*", key+"-request#*")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	e := redisemitter.New(rdb, &redisemitter.Options{Key: key})

	type viaBin struct {
		Via string `json:"via"`
		Bin []byte `json:"bin"`
	}
	tests := []struct {
		name    string
		do      func() error
		channel string
		payload []byte
	}{
		{
			"emit with binary",
			func() error { return e.Emit(ctx, "from-emitter", viaBin{"emitter", []byte{9, 8, 7}}) },
			key + "#/#",
			mustHex("93a7656d697474657283a47479706502a46461746192ac66726f6d2d656d697474657282a3766961a7656d6974746572a362696ec403090807a36e7370a12f83a5726f6f6d7390a5666c61677380a665786365707490"),
		},
		{
			"emit to a room",
			func() error { return e.To("r").Emit(ctx, "emitter-room", "r only") },
			key + "#/#r#",
			notepack(t, `["emitter",{"type":2,"data":["emitter-room","r only"],"nsp":"/"},{"rooms":["r"],"flags":{},"except":[]}]`),
		},
		{
			"emit to a namespace",
			func() error { return e.Of("ns2").Emit(ctx, "ns2-emitter", "hi") },
			key + "#/ns2#",
			notepack(t, `["emitter",{"type":2,"data":["ns2-emitter","hi"],"nsp":"/ns2"},{"rooms":[],"flags":{},"except":[]}]`),
		},
		{
			"flags and except",
			func() error { return e.To("a", "b").Except("c").Volatile().Compress(false).Emit(ctx, "f", 1.5) },
			key + "#/#",
			notepack(t, `["emitter",{"type":2,"data":["f",1.5],"nsp":"/"},{"rooms":["a","b"],"flags":{"volatile":true,"compress":false},"except":["c"]}]`),
		},
		{
			"serverSideEmit",
			func() error { return e.ServerSideEmit(ctx, "note", map[string]string{"tag": "emitter-1795648741021"}) },
			key + "-request#/#",
			[]byte(`{"uid":"emitter","type":6,"data":["note",{"tag":"emitter-1795648741021"}]}`),
		},
		{
			"socketsJoin",
			func() error { return e.In("UQw3veAoyPzpWmxGAAAA").SocketsJoin(ctx, "r3") },
			key + "-request#/#",
			[]byte(`{"type":2,"opts":{"rooms":["UQw3veAoyPzpWmxGAAAA"],"except":[]},"rooms":["r3"]}`),
		},
		{
			"socketsLeave",
			func() error { return e.Except("x").SocketsLeave(ctx, "r3", "r4") },
			key + "-request#/#",
			[]byte(`{"type":3,"opts":{"rooms":[],"except":["x"]},"rooms":["r3","r4"]}`),
		},
		{
			"disconnectSockets",
			func() error { return e.In("r-disc").DisconnectSockets(ctx, true) },
			key + "-request#/#",
			[]byte(`{"type":4,"opts":{"rooms":["r-disc"],"except":[]},"close":true}`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); err != nil {
				t.Fatal(err)
			}
			msg, err := ps.ReceiveMessage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if msg.Channel != tt.channel {
				t.Errorf("channel %s, want %s", msg.Channel, tt.channel)
			}
			if msg.Payload != string(tt.payload) {
				t.Errorf("payload\n%x\nwant\n%x", msg.Payload, tt.payload)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer rdb.Close()
	e := redisemitter.New(rdb, nil)
	ctx := context.Background()
	if err := e.Emit(ctx, "ev", func() {}); !errors.Is(err, redisemitter.ErrAck) {
		t.Errorf("ack: %v", err)
	}
	if err := e.Emit(ctx, "disconnect"); !errors.Is(err, redisemitter.ErrReservedEvent) {
		t.Errorf("reserved: %v", err)
	}
	if err := e.Emit(ctx, "ev", make(chan int)); err == nil {
		t.Error("unencodable argument: no error")
	}
	if err := e.Emit(ctx, "ev", 1); err == nil {
		t.Error("Redis down: no error")
	}
}
