package main

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/webtransport"
)

// renewEvery is how often the WebTransport certificate changes: well
// within webtransport.SelfSignedValidity, so that the next certificate,
// made (and announced to pages) one period before it is used, is still
// valid for the whole period it is used.
const renewEvery = 6 * 24 * time.Hour

// webTransport serves the chat's Engine.IO sessions over WebTransport too:
// HTTP/3 on UDP with a self-signed certificate that pages accept by its
// hash (serverCertificateHashes), so nothing needs installing. Browsers
// without WebTransport, or that cannot reach the UDP port, fall back to
// long-polling and WebSocket.
//
// Its methods are safe for concurrent use.
type webTransport struct {
	srv      *webtransport.Server
	pcs      []net.PacketConn
	hosts    []string // the certificates' names and addresses
	hostname string   // for the page: "" to use the page's own
	port     int

	mu    sync.Mutex
	certs [2]tls.Certificate // guarded by mu: the one served, and the next
	timer *time.Timer        // guarded by mu; nil once closed
}

// startWebTransport listens on the UDP address addr (for "localhost", on
// both loopback addresses, as browsers may try either) and serves engine's
// sessions there; errs receives what ends each listener.
func startWebTransport(engine *engineio.Server, addr string, errs chan<- error) (*webTransport, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	// A host of its own, not all interfaces nor localhost, is the one the
	// page must reach, and a name of the certificates.
	ip := net.ParseIP(host)
	own := host != "" && host != "localhost" && (ip == nil || !ip.IsUnspecified())
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if own && !slices.Contains(hosts, host) {
		hosts = append(hosts, host)
	}
	w := &webTransport{hosts: hosts}
	for i := range w.certs {
		if w.certs[i], err = webtransport.SelfSigned(hosts...); err != nil {
			return nil, err
		}
	}
	tlsConfig := &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		return &w.certs[0], nil
	}}
	if w.srv, err = webtransport.New(engine, &webtransport.Options{TLSConfig: tlsConfig}); err != nil {
		return nil, err
	}
	if own {
		w.hostname = host
	}
	if host == "localhost" {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	w.pcs = []net.PacketConn{pc}
	w.port = pc.LocalAddr().(*net.UDPAddr).Port
	if host == "localhost" { // no IPv6 loopback: IPv4 will do
		if pc6, err := net.ListenPacket("udp", net.JoinHostPort("::1", strconv.Itoa(w.port))); err == nil {
			w.pcs = append(w.pcs, pc6)
		}
	}
	for _, pc := range w.pcs {
		go func() { errs <- w.srv.Serve(pc) }()
	}
	w.timer = time.AfterFunc(renewEvery, w.renew)
	return w, nil
}

// renew serves the next certificate, whose hash pages already have, and
// makes a new next one.
func (w *webTransport) renew() {
	next, err := webtransport.SelfSigned(w.hosts...)
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.timer == nil: // closed
	case err != nil: // keep serving the current one; try again soon
		w.timer.Reset(time.Minute)
	default:
		w.certs = [2]tls.Certificate{w.certs[1], next}
		w.timer.Reset(renewEvery)
	}
}

// pageConfig is what the page passes as transportOptions.webtransport:
// the UDP port, the hostname when it is not the page's, and the hashes of
// the certificate served and of the next one.
func (w *webTransport) pageConfig() map[string]any {
	w.mu.Lock()
	defer w.mu.Unlock()
	hashes := make([][]int, 0, len(w.certs))
	for _, c := range w.certs {
		h := webtransport.Hash(c)
		ints := make([]int, len(h)) // JSON numbers, not base64
		for i, b := range h {
			ints[i] = int(b)
		}
		hashes = append(hashes, ints)
	}
	cfg := map[string]any{"port": w.port, "hashes": hashes}
	if w.hostname != "" {
		cfg["hostname"] = w.hostname
	}
	return cfg
}

// addrs lists the UDP addresses served, for the log.
func (w *webTransport) addrs() string {
	s := ""
	for i, pc := range w.pcs {
		if i > 0 {
			s += " and "
		}
		s += "udp://" + pc.LocalAddr().String()
	}
	return s
}

// close stops the server and the renewals; it may be called again.
func (w *webTransport) close() error {
	w.mu.Lock()
	if w.timer == nil { // closed already
		w.mu.Unlock()
		return nil
	}
	w.timer.Stop()
	w.timer = nil
	w.mu.Unlock()
	err := w.srv.Close()
	for _, pc := range w.pcs {
		err = errors.Join(err, pc.Close())
	}
	if err != nil {
		return fmt.Errorf("webtransport: %w", err)
	}
	return nil
}

// serveConfig serves config.js, the settings the page reads before it
// connects: window.chatConfig, with the options of WebTransport under
// "webtransport" when wt is not nil.
func serveConfig(w http.ResponseWriter, wt *webTransport) {
	cfg := map[string]any{}
	if wt != nil {
		cfg["webtransport"] = wt.pageConfig()
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store") // the hashes change with each start
	fmt.Fprintf(w, "window.chatConfig = %s;\n", b)
}
