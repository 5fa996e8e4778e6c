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

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/msgpackparser"
	"github.com/socketio-go/socketio/promsocketio"
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
	deflate := flag.Bool("deflate", false, "WebSocket compression on (Engine.PerMessageDeflate, its defaults)")
	parser := flag.String("parser", "json", "the Socket.IO parser: json (the default) or msgpack (msgpackparser)")
	metrics := flag.Bool("metrics", false, "Prometheus metrics on (promsocketio), served at /metrics")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts := &socketio.Options{DisableServeClient: true, Logger: logger}
	if *deflate {
		opts.Engine.PerMessageDeflate = &engineio.DeflateOptions{}
	}
	switch *parser {
	case "json":
	case "msgpack":
		opts.Parser = msgpackparser.New()
	default:
		log.Fatalf("-parser %q: json or msgpack", *parser)
	}
	srv := socketio.NewServer(opts)
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
	if *metrics {
		reg := prometheus.NewRegistry()
		reg.MustRegister(promsocketio.Instrument(srv, nil))
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		os.Exit(0)
	}()
	log.Printf("listening %s", ln.Addr())
	log.Fatal(http.Serve(ln, mux))
}
