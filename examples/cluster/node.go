package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/redisadapter"
)

type config struct {
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

func newNode(name string, rdb redis.UniversalClient, c config) *node {
	opts := &redisadapter.Options{Key: c.key, Logger: c.logger}
	adapter := redisadapter.New(rdb, opts)
	if c.sharded {
		adapter = redisadapter.NewSharded(rdb, opts)
	}
	srv := socketio.NewServer(&socketio.Options{Adapter: adapter, Logger: c.logger})
	n := &node{name: name, srv: srv}

	// Other servers ask who is there.
	_ = srv.On("whois", func(ack func(string)) { ack(name) })

	srv.OnConnection(func(s *socketio.Socket) {
		s.SetData(map[string]any{"server": name, "since": time.Now().UTC().Format(time.RFC3339)})
		_ = s.Emit("welcome", map[string]string{"id": s.ID(), "server": name})
		n.announceCount()
		s.OnDisconnect(func(socketio.DisconnectReason, error) { n.announceCount() })

		// A chat message goes to every client of every server.
		_ = s.On("chat", func(text string) {
			if len(text) > 500 {
				text = text[:500]
			}
			_ = srv.Emit("chat", chatMessage{From: s.ID()[:6], Server: name, Text: text})
		})
		// The servers of the cluster, this one first.
		// (Waiting inside a handler would hold the socket's other events.)
		_ = s.On("servers", func(ack func([]string)) {
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
