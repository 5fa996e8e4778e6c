// Command chat is the socketio-go demo: a chat with rooms, served with the
// official JavaScript client.
//
//	npm ci && go run ./examples/chat            # http://localhost:3000
//	go run ./examples/chat -addr 0.0.0.0:8080
//
// The page shows the welcome event the server pushes on connection, the
// transport in use (long-polling, then WebSocket after the upgrade), rooms
// with their member counts, messages to the current room, announcements to
// everyone, a typing indicator and the reconnection state.
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"io/fs"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/socketio-go/socketio"
)

//go:embed static
var static embed.FS

func main() {
	addr := flag.String("addr", "localhost:3000", "listen address (host:port)")
	clientDir := flag.String("client-dir", "", "directory of the socket.io-client dist files (default: node_modules/socket.io-client/dist, searched upwards)")
	verbose := flag.Bool("v", false, "debug logs")
	flag.Parse()
	if *verbose {
		slog.SetLogLoggerLevel(slog.LevelDebug)
	}

	srv := socketio.NewServer(&socketio.Options{
		ClientDir: *clientDir,
		// Let a reloaded or briefly disconnected page get its session,
		// rooms and missed messages back.
		ConnectionStateRecovery: &socketio.RecoveryOptions{MaxDisconnectionDuration: 2 * time.Minute},
	})
	chat := newChat(srv)
	srv.OnConnection(chat.onConnection)

	sub, _ := fs.Sub(static, "static")
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.Handle("/", http.FileServerFS(sub))

	lns, err := listen(*addr)
	if err != nil {
		log.Fatal(err)
	}
	httpSrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("chat demo on http://%s/", *addr)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
		_ = httpSrv.Shutdown(shutdown)
	}()
	errs := make(chan error, len(lns))
	for _, ln := range lns {
		go func() { errs <- httpSrv.Serve(ln) }()
	}
	if err := <-errs; err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// listen listens on addr; for "localhost" it listens on both loopback
// addresses, IPv4 and IPv6, as browsers may try either.
func listen(addr string) ([]net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "localhost" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, err
		}
		return []net.Listener{ln}, nil
	}
	ln4, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return nil, err
	}
	lns := []net.Listener{ln4}
	if ln6, err := net.Listen("tcp", net.JoinHostPort("::1", port)); err == nil {
		lns = append(lns, ln6)
	}
	return lns, nil
}
