// Command cluster runs Socket.IO servers that share one broker (Redis,
// PostgreSQL or NATS): a message sent to any of them reaches the clients of
// all of them.
//
//	go run ./examples/cluster                       # servers on :3001 and :3002, Redis on 127.0.0.1:6379
//	go run ./examples/cluster -addrs :3001 &        # or one server per process,
//	go run ./examples/cluster -addrs :3002          # as in production
//	go run ./examples/cluster -sharded              # SPUBLISH/SSUBSCRIBE (Redis 7)
//	go run ./examples/cluster -adapter redis-streams # Redis Streams, with connection state recovery
//	go run ./examples/cluster -adapter postgres      # PostgreSQL LISTEN/NOTIFY (-postgres URL)
//	go run ./examples/cluster -adapter nats          # NATS with JetStream (-nats URL)
//
// Open http://localhost:3001 and http://localhost:3002 in two tabs: each
// page talks to its own server, and the chat, the online count (from
// FetchSockets) and the server list (from ServerSideEmitWithAck) span the
// cluster. Node servers on @socket.io/redis-adapter (or, with -adapter
// redis-streams, @socket.io/redis-streams-adapter; with -adapter postgres,
// @socket.io/postgres-adapter with the key as channelPrefix) with the same
// key join the same cluster.
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

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"
)

//go:embed index.html
var page []byte

func main() {
	addrs := flag.String("addrs", "localhost:3001,localhost:3002", "listen addresses, one server each (comma-separated)")
	redisAddr := flag.String("redis", "127.0.0.1:6379", "Redis address")
	key := flag.String("key", "socket.io", "channel prefix (the adapters' key)")
	sharded := flag.Bool("sharded", false, "sharded Pub/Sub (Redis 7+; -adapter redis)")
	adapterName := flag.String("adapter", "redis", "cluster adapter: redis (Pub/Sub), redis-streams, postgres or nats")
	pgURL := flag.String("postgres", "postgres://postgres@127.0.0.1:5432/test", "PostgreSQL URL (-adapter postgres)")
	natsURL := flag.String("nats", "nats://127.0.0.1:4222", "NATS URL, with JetStream (-adapter nats)")
	flag.Parse()
	switch *adapterName {
	case "redis", "redis-streams", "postgres", "nats":
	default:
		log.Fatalf("-adapter %q: want redis, redis-streams, postgres or nats", *adapterName)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	for _, addr := range strings.Split(*addrs, ",") {
		b, closeBrokers := connect(ctx, *adapterName, *redisAddr, *pgURL, *natsURL)
		n := newNode(addr, b, config{adapter: *adapterName, key: *key, sharded: *sharded, logger: slog.Default()})
		hs := &http.Server{Addr: addr, Handler: n.handler(), ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10, IdleTimeout: 2 * time.Minute}
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
			closeBrokers()
		}()
	}
	<-ctx.Done()
}

// connect makes the client of one server's broker.
func connect(ctx context.Context, adapterName, redisAddr, pgURL, natsURL string) (brokers, func()) {
	switch adapterName {
	case "postgres":
		pool, err := pgxpool.New(ctx, pgURL)
		if err != nil {
			log.Fatal(err)
		}
		return brokers{pool: pool}, pool.Close
	case "nats":
		nc, err := nats.Connect(natsURL, nats.MaxReconnects(-1))
		if err != nil {
			log.Fatal(err)
		}
		return brokers{nc: nc}, nc.Close
	}
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	return brokers{rdb: rdb}, func() { _ = rdb.Close() }
}
