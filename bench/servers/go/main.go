// Command go is the socketio-go server of the benchmark contract (see
// bench/README.md): event "echo" acknowledges with its own arguments, event
// "broadcast" {count, size, binary} emits count messages "msg" of size
// bytes to every connected socket and then acknowledges.
//
//	go run ./bench/servers/go -addr 127.0.0.1:3000
package main

import (
	"encoding/json"
	"flag"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/socketio-go/socketio"
)

// broadcastRequest is the argument of the "broadcast" event.
type broadcastRequest struct {
	Count  int  `json:"count"`
	Size   int  `json:"size"`
	Binary bool `json:"binary"`
}

func main() {
	def := os.Getenv("BENCH_ADDR")
	if def == "" {
		def = "127.0.0.1:3000"
	}
	addr := flag.String("addr", def, "listen address host:port (env BENCH_ADDR)")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := socketio.NewServer(&socketio.Options{DisableServeClient: true, Logger: logger})
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("echo", func(args socketio.Args, ack func(...any)) {
			// Answer with the same arguments, without decoding them.
			vals := make([]any, args.Len())
			for i := range vals {
				vals[i] = json.RawMessage(args.Raw(i))
			}
			ack(vals...)
		})
		s.On("broadcast", func(req broadcastRequest, ack func(...any)) {
			var payload any = strings.Repeat("x", req.Size)
			if req.Binary {
				payload = []byte(strings.Repeat("x", req.Size))
			}
			for range req.Count {
				srv.Emit("msg", payload)
			}
			ack()
		})
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		os.Exit(0)
	}()
	log.Printf("listening %s", ln.Addr())
	log.Fatal(http.Serve(ln, mux))
}
