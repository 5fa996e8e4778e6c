// Command cluster runs Socket.IO servers that share one Redis: a message
// sent to any of them reaches the clients of all of them.
//
//	go run ./examples/cluster                       # servers on :3001 and :3002, Redis on 127.0.0.1:6379
//	go run ./examples/cluster -addrs :3001 &        # or one server per process,
//	go run ./examples/cluster -addrs :3002          # as in production
//	go run ./examples/cluster -sharded              # SPUBLISH/SSUBSCRIBE (Redis 7)
//
// Open http://localhost:3001 and http://localhost:3002 in two tabs: each
// page talks to its own server, and the chat, the online count (from
// FetchSockets) and the server list (from ServerSideEmitWithAck) span the
// cluster. Node servers on @socket.io/redis-adapter with the same key join
// the same cluster.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed index.html
var page []byte

func main() {
	addrs := flag.String("addrs", "localhost:3001,localhost:3002", "listen addresses, one server each (comma-separated)")
	redisAddr := flag.String("redis", "127.0.0.1:6379", "Redis address")
	key := flag.String("key", "socket.io", "channel prefix (the adapters' key)")
	sharded := flag.Bool("sharded", false, "sharded Pub/Sub (Redis 7+)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	for _, addr := range strings.Split(*addrs, ",") {
		rdb := redis.NewClient(&redis.Options{Addr: *redisAddr})
		n := newNode(addr, rdb, config{key: *key, sharded: *sharded, logger: slog.Default()})
		hs := &http.Server{Addr: addr, Handler: n.handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := hs.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Fatal(err)
			}
		}()
		log.Printf("server %s: http://%s", n.name, addr)
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = n.srv.Shutdown(sctx)
			_ = hs.Shutdown(sctx)
			_ = rdb.Close()
		}()
	}
	<-ctx.Done()
}
