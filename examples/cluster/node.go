package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/natsadapter"
	"github.com/socketio-go/socketio/postgresadapter"
	"github.com/socketio-go/socketio/redisadapter"
	"github.com/socketio-go/socketio/redisstreamsadapter"
)

// brokers are the clients of the broker the adapter uses (one is set).
type brokers struct {
	rdb  redis.UniversalClient
	pool *pgxpool.Pool
	nc   *nats.Conn
}

type config struct {
	adapter string // "redis" (default), "redis-streams", "postgres" or "nats"
	key     string
	sharded bool
	logger  *slog.Logger
}

// node is one server of the cluster.
type node struct {
	name string
	srv  *socketio.Server
}

type chatMessage struct {
	From   string `json:"from"`
	Server string `json:"server"`
	Text   string `json:"text"`
}

func newNode(name string, b brokers, c config) *node {
	so := &socketio.Options{Logger: c.logger}
	rdb := b.rdb
	switch {
	case c.adapter == "postgres":
		// LISTEN/NOTIFY, as Node's @socket.io/postgres-adapter.
		so.Adapter = postgresadapter.New(b.pool, &postgresadapter.Options{ChannelPrefix: c.key, Logger: c.logger})
	case c.adapter == "nats":
		// NATS with JetStream: a server cut off reads what it missed.
		so.Adapter = natsadapter.New(b.nc, &natsadapter.Options{SubjectPrefix: c.key, Logger: c.logger})
	case c.adapter == "redis-streams":
		// A stream keeps what was sent: servers catch up after a Redis
		// outage, and a client whose server stops recovers its session
		// on another.
		so.Adapter = redisstreamsadapter.New(rdb, &redisstreamsadapter.Options{StreamName: c.key, ChannelPrefix: c.key, Logger: c.logger})
		so.ConnectionStateRecovery = &socketio.RecoveryOptions{}
	case c.sharded:
		so.Adapter = redisadapter.NewSharded(rdb, &redisadapter.Options{Key: c.key, Logger: c.logger})
	default:
		so.Adapter = redisadapter.New(rdb, &redisadapter.Options{Key: c.key, Logger: c.logger})
	}
	srv := socketio.NewServer(so)
	n := &node{name: name, srv: srv}

	// Other servers ask who is there.
	srv.On("whois", func(ack func(string)) { ack(name) })

	srv.OnConnection(func(s *socketio.Socket) {
		s.SetData(map[string]any{"server": name, "since": time.Now().UTC().Format(time.RFC3339)})
		_ = s.Emit("welcome", map[string]string{"id": s.ID(), "server": name})
		n.announceCount()
		s.OnDisconnect(func(socketio.DisconnectReason, error) { n.announceCount() })

		// A chat message goes to every client of every server.
		s.On("chat", func(text string) {
			if len(text) > 500 {
				text = text[:500]
			}
			_ = srv.Emit("chat", chatMessage{From: s.ID()[:6], Server: name, Text: text})
		})
		// The servers of the cluster, this one first.
		// (Waiting inside a handler would hold the socket's other events.)
		s.On("servers", func(ack func([]string)) {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				list := []string{name}
				answers, err := srv.ServerSideEmitWithAck(ctx, "whois")
				for _, a := range answers {
					var other string
					if a.DecodeAt(0, &other) == nil {
						list = append(list, other)
					}
				}
				if err != nil {
					list = append(list, "(error: "+err.Error()+")")
				}
				ack(list)
			}()
		})
	})
	return n
}

// announceCount tells every client how many sockets the cluster has.
func (n *node) announceCount() {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		sockets, err := n.srv.FetchSockets(ctx)
		if err != nil {
			return
		}
		_ = n.srv.Emit("online", len(sockets))
	}()
}

func (n *node) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", n.srv)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})
	return mux
}
