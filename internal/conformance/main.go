// Command conformance runs the servers that the official protocol test
// suites expect (socketio/engine.io-protocol and socketio/socket.io-protocol,
// folder test-suite/).
//
//	go run ./internal/conformance -suite engine -addr 127.0.0.1:3000
//	go run ./internal/conformance -suite socketio -addr 127.0.0.1:3000
//
// scripts/conformance.sh starts it and runs a suite against it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	suite := flag.String("suite", "engine", "which suite's server to run: engine or socketio")
	addr := flag.String("addr", "127.0.0.1:3000", "listen address")
	debug := flag.Bool("debug", false, "log at debug level")
	flag.Parse()

	if *debug {
		slog.SetLogLoggerLevel(slog.LevelDebug)
	}
	var handler http.Handler
	switch *suite {
	case "engine":
		handler = engineHandler()
	case "socketio":
		handler = socketioHandler()
	default:
		log.Fatalf("unknown suite %q (want engine or socketio)", *suite)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("conformance server (%s suite) listening on http://%s\n", *suite, ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
