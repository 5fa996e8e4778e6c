package adminui_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adminui"
	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/internal/redistest"
	"github.com/socketio-go/socketio/redisadapter"
)

// TestCluster runs two servers on the Redis adapter: the UI logged in to A
// sees the statistics of both, lists the socket connected to B and
// disconnects it.
func TestCluster(t *testing.T) {
	addr := redistest.Addr()
	redistest.Need(t, addr)
	key := redistest.Key("adminui")
	start := func(id string) (*socketio.Server, string) {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		srv := socketio.NewServer(&socketio.Options{Logger: quiet(), DisableServeClient: true, Adapter: redisadapter.New(rdb, &redisadapter.Options{Key: key})})
		app(srv)
		ui, err := adminui.Instrument(srv, &adminui.Options{
			Auth: &adminui.BasicAuth{Username: "admin", Password: changeitHash}, ServerID: id,
			StatsInterval: 200 * time.Millisecond, Logger: quiet(),
		})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv)
		t.Cleanup(func() {
			ui.Close()
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			_ = srv.Shutdown(ctx)
			ts.Close()
			rdb.Close()
		})
		return srv, ts.URL
	}
	a, aURL := start("a")
	_, bURL := start("b")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		if n, err := a.Sockets().Adapter().ServerCount(ctx); err == nil && n == 2 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the servers did not see each other")
		}
		time.Sleep(20 * time.Millisecond)
	}

	bob := connectApp(t, bURL, "bob", &client.Options{Transports: []string{"websocket"}})
	bid := bob.ID()
	r, err := login(t, aURL, map[string]any{"username": "admin", "password": "changeit"})
	if err != nil {
		t.Fatal(err)
	}
	ev := r.waitFor(t, "all_sockets", named("all_sockets"))
	if s := string(ev.args[0]); !strings.Contains(s, `"id":`+q(bid)) || !strings.Contains(s, `"data":{"name":"bob"}`) {
		t.Fatalf("all_sockets on A does not list bob (on B): %s", s)
	}
	for _, id := range []string{"a", "b"} {
		r.waitFor(t, "stats of "+id, func(ev event) bool {
			return ev.name == "server_stats" && strings.Contains(string(ev.args[0]), `"serverId":`+q(id))
		})
	}
	reason := make(chan client.DisconnectReason, 1)
	bob.OnDisconnect(func(rs client.DisconnectReason, _ error) { reason <- rs })
	if err := r.sock.Emit("join", "/", "vip", bob.ID()); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, "bob joined vip (B's event)", named("room_joined", q("/"), q("vip"), q(bid)))
	if err := r.sock.Emit("_disconnect", "/", false, bob.ID()); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-reason:
		if got != "io server disconnect" {
			t.Errorf("bob's reason %q", got)
		}
	case <-time.After(wait):
		t.Fatal("bob was not disconnected")
	}
	r.waitFor(t, "bob's disconnection (B's event)", named("socket_disconnected", q("/"), q(bid), q("server namespace disconnect")))
}
