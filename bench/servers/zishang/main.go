// Command zishang is the zishang520/socket.io server of the benchmark
// contract (see bench/README.md). It is its own module so that users of
// socketio-go never depend on it.
//
//	cd bench/servers/zishang && go run . -addr 127.0.0.1:3000
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/zishang520/socket.io/servers/socket/v3"
)

func main() {
	def := os.Getenv("BENCH_ADDR")
	if def == "" {
		def = "127.0.0.1:3000"
	}
	addr := flag.String("addr", def, "listen address host:port (env BENCH_ADDR)")
	flag.Parse()

	opts := socket.DefaultServerOptions()
	opts.SetServeClient(false)
	io := socket.NewServer(nil, opts)
	io.On("connection", func(clients ...any) {
		s := clients[0].(*socket.Socket)
		s.On("echo", func(args ...any) {
			if n := len(args); n > 0 {
				if ack, ok := args[n-1].(socket.Ack); ok {
					ack(args[:n-1], nil)
				}
			}
		})
		s.On("broadcast", func(args ...any) {
			var count, size int
			var binary bool
			if len(args) > 0 {
				if req, ok := args[0].(map[string]any); ok {
					count = toInt(req["count"])
					size = toInt(req["size"])
					binary, _ = req["binary"].(bool)
				}
			}
			var payload any = strings.Repeat("x", size)
			if binary {
				payload = []byte(strings.Repeat("x", size))
			}
			for range count {
				io.Emit("msg", payload)
			}
			if n := len(args); n > 0 {
				if ack, ok := args[n-1].(socket.Ack); ok {
					ack([]any{}, nil)
				}
			}
		})
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io.ServeHandler(opts))
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		os.Exit(0)
	}()
	log.Printf("listening %s", ln.Addr())
	log.Fatal(http.Serve(ln, mux))
}

func toInt(v any) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case int:
		return n
	case int64:
		return int(n)
	}
	return 0
}
