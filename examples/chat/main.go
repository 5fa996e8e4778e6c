// Command chat is the socketio-go demo: a chat with rooms, served with the
// official JavaScript client.
//
//	npm ci && go run ./examples/chat            # http://localhost:3000
//	go run ./examples/chat -addr 0.0.0.0:8080
//	go run ./examples/chat -webtransport localhost:3000  # and WebTransport on UDP
//
// The page shows the welcome event the server pushes on connection, the
// transport in use (long-polling, then WebSocket after the upgrade, or
// WebTransport with -webtransport), rooms with their member counts,
// messages to the current room, announcements to everyone, a typing
// indicator and the reconnection state.
//
// With -webtransport host:port the demo also serves WebTransport (HTTP/3)
// on that UDP address, with a self-signed certificate made at start whose
// hash the page passes to the client (serverCertificateHashes, from
// /config.js): the page connects over WebTransport, or where that fails
// over long-polling then WebSocket. Browsers offer WebTransport to secure
// contexts only: pages on https, or on http://localhost or
// http://127.0.0.1.
//
// Operations: Prometheus metrics at /metrics, and the official Admin UI
// (npm @socket.io/admin-ui, served from node_modules) at /admin/. Its login
// comes from ADMIN_USER and ADMIN_PASSWORD; without them the user is
// "admin" and a password is generated and printed at start.
package main

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/crypto/bcrypt"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adminui"
	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/promsocketio"
)

//go:embed static
var static embed.FS

func main() {
	addr := flag.String("addr", "localhost:3000", "listen address (host:port)")
	clientDir := flag.String("client-dir", "", "directory of the socket.io-client dist files (default: node_modules/socket.io-client/dist, searched upwards)")
	wtAddr := flag.String("webtransport", "", "also serve WebTransport (HTTP/3) on this UDP address (host:port, e.g. the HTTP one), with a self-signed certificate")
	verbose := flag.Bool("v", false, "debug logs")
	flag.Parse()
	if *verbose {
		slog.SetLogLoggerLevel(slog.LevelDebug)
	}

	var transports []string // the default: polling and websocket
	if *wtAddr != "" {
		transports = []string{engineio.Polling, engineio.WebSocket, engineio.WebTransport}
	}
	srv := socketio.NewServer(&socketio.Options{
		ClientDir: *clientDir,
		Engine:    engineio.Options{Transports: transports},
		// Let a briefly disconnected page get its session, rooms and
		// missed messages back. A reload is a new session (the client
		// keeps its recovery state in memory): the page restores its
		// nickname and room itself, from sessionStorage.
		ConnectionStateRecovery: &socketio.RecoveryOptions{MaxDisconnectionDuration: 2 * time.Minute},
	})
	chat := newChat(srv)
	srv.OnConnection(chat.onConnection)

	// Prometheus metrics: the server's, the Go runtime's, the process's.
	reg := prometheus.NewRegistry()
	reg.MustRegister(promsocketio.Instrument(srv, nil), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// The Admin UI: its namespace, /admin on the Socket.IO server, and
	// its page at /admin/.
	user, password, generated := adminLogin()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		log.Fatalf("ADMIN_PASSWORD: %v", err)
	}
	ui, err := adminui.Instrument(srv, &adminui.Options{Auth: &adminui.BasicAuth{Username: user, Password: string(hash)}})
	if err != nil {
		log.Fatal(err)
	}
	defer ui.Close()

	sub, _ := fs.Sub(static, "static")
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	admin := adminui.Handler(nil)
	mux.Handle("/admin", admin)
	mux.Handle("/admin/", admin)
	mux.Handle("/", http.FileServerFS(sub))

	lns, err := listen(*addr)
	if err != nil {
		log.Fatal(listenError(*addr, err))
	}
	// Every listener's end, TCP and UDP: the first stops the demo.
	errs := make(chan error, len(lns)+2)
	var wt *webTransport
	if *wtAddr != "" {
		if wt, err = startWebTransport(srv.Engine(), *wtAddr, errs); err != nil {
			log.Fatalf("-webtransport %s: %v", *wtAddr, err)
		}
		defer wt.close()
	}
	mux.HandleFunc("/config.js", func(w http.ResponseWriter, r *http.Request) {
		serveConfig(w, wt)
	})
	// Bounds for what the Internet may do to a server: a client gets 10 s
	// to send its request headers (slowloris), 64 KB of them, and an idle
	// keep-alive connection goes after 2 minutes. No ReadTimeout or
	// WriteTimeout: long-polling requests wait for data by design, and the
	// Engine.IO server bounds each body read and response write itself.
	httpSrv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
		IdleTimeout:       2 * time.Minute,
	}
	log.Printf("chat demo on http://%s/", *addr)
	if wt != nil {
		log.Printf("WebTransport on %s (self-signed certificate, accepted by pages through its hash)", wt.addrs())
	}
	log.Printf("metrics on http://%s/metrics", *addr)
	if generated {
		log.Printf("admin UI on http://%s/admin/ (server URL http://%s, user %q, password %q: set ADMIN_USER and ADMIN_PASSWORD to choose)", *addr, *addr, user, password)
	} else {
		log.Printf("admin UI on http://%s/admin/ (server URL http://%s, user %q, password from ADMIN_PASSWORD)", *addr, *addr, user)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
		_ = httpSrv.Shutdown(shutdown)
		if wt != nil {
			_ = wt.close()
		}
	}()
	for _, ln := range lns {
		go func() { errs <- httpSrv.Serve(ln) }()
	}
	if err := <-errs; err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// adminLogin returns the Admin UI's login: ADMIN_USER and ADMIN_PASSWORD,
// or "admin" and a password made up now (generated is then true).
func adminLogin() (user, password string, generated bool) {
	user, password = os.Getenv("ADMIN_USER"), os.Getenv("ADMIN_PASSWORD")
	if user == "" {
		user = "admin"
	}
	if password == "" {
		password, generated = rand.Text()[:16], true
	}
	return user, password, generated
}

// listenError explains a failure to listen with the way out: another
// address.
func listenError(addr string, err error) error {
	const how = "with -addr host:port, or make demo ADDR=host:port"
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("cannot listen on %s: the address is already in use (another copy of the demo?); pick another %s", addr, how)
	}
	return fmt.Errorf("cannot listen on %s: %v; pick another address %s", addr, err, how)
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
