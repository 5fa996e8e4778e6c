package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/internal/natstest"
	"github.com/socketio-go/socketio/internal/pgtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestCluster runs two servers of the example on the test Redis
// (127.0.0.1:6379 or SOCKETIO_REDIS_ADDR; SOCKETIO_SKIP_REDIS=1 skips),
// with each adapter, and checks that a chat message sent to one reaches the
// clients of both.
func TestCluster(t *testing.T) {
	for _, a := range []string{"redis", "redis-streams", "postgres", "nats"} {
		t.Run(a, func(t *testing.T) { testCluster(t, a) })
	}
}

func testCluster(t *testing.T, adapterName string) {
	var br brokers
	switch adapterName {
	case "postgres":
		br.pool = pgtest.Pool(t, pgtest.URL())
	case "nats":
		br.nc = natstest.Conn(t, natstest.URL())
	}
	addr := os.Getenv("SOCKETIO_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	br.rdb = rdb
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil && br.pool == nil && br.nc == nil {
		if os.Getenv("SOCKETIO_SKIP_REDIS") == "1" {
			t.Skip("no Redis (SOCKETIO_SKIP_REDIS=1)")
		}
		t.Fatalf("no Redis at %s: %v", addr, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	c := config{adapter: adapterName, key: "sio-example-" + hex.EncodeToString(b), logger: slog.New(slog.NewTextHandler(io.Discard, nil))}

	var clients []*client.Socket
	got := make(chan string, 4)
	for _, name := range []string{"one", "two"} {
		n := newNode(name, br, c)
		ts := httptest.NewServer(n.handler())
		defer ts.Close()
		defer n.srv.Close()
		s, err := client.NewSocket(ts.URL, &client.Options{ForceNew: true, DisableReconnection: true})
		if err != nil {
			t.Fatal(err)
		}
		s.On("chat", func(m chatMessage) { got <- name + ":" + m.Text + "@" + m.Server })
		s.Connect()
		if err := s.WaitConnect(ctx); err != nil {
			t.Fatal(err)
		}
		defer s.Manager().Close()
		clients = append(clients, s)
	}
	// both servers subscribed: each sees the other
	for {
		args, err := clients[0].EmitWithAck(ctx, "servers")
		if err != nil {
			t.Fatal(err)
		}
		var list []string
		_ = args.DecodeAt(0, &list)
		if slices.Equal(list, []string{"one", "two"}) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("servers: %v", list)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := clients[1].Emit("chat", "hello"); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for len(lines) < 2 {
		select {
		case l := <-got:
			lines = append(lines, l)
		case <-ctx.Done():
			t.Fatalf("got %v", lines)
		}
	}
	slices.Sort(lines)
	if !slices.Equal(lines, []string{"one:hello@two", "two:hello@two"}) {
		t.Fatalf("got %v", lines)
	}
}
