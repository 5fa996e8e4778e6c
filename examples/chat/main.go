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

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	httpSrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("chat demo on http://%s/", ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
		_ = httpSrv.Shutdown(shutdown)
	}()
	if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
