package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/engineio"
)

// -webtransport: what the page is told (the port, the hostname unless it
// is localhost, the hashes of the certificate served and of the next),
// certificates browsers take by hash (ECDSA P-256, valid less than 14
// days), the renewal that serves the announced next one, and a close that
// ends the listeners with http.ErrServerClosed.
func TestWebTransportFlag(t *testing.T) {
	srv := socketio.NewServer(&socketio.Options{DisableServeClient: true, Engine: engineio.Options{
		Transports: []string{engineio.Polling, engineio.WebSocket, engineio.WebTransport},
	}})
	defer srv.Engine().Close()
	for _, tc := range []struct{ addr, hostname string }{
		{"127.0.0.1:0", "127.0.0.1"},
		{"localhost:0", ""},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			errs := make(chan error, 2)
			wt, err := startWebTransport(srv.Engine(), tc.addr, errs)
			if err != nil {
				t.Fatal(err)
			}
			cfg := wt.pageConfig()
			if cfg["port"] != wt.port || wt.port == 0 {
				t.Errorf("port %v, want %d", cfg["port"], wt.port)
			}
			if h, _ := cfg["hostname"].(string); h != tc.hostname {
				t.Errorf("hostname %q, want %q", h, tc.hostname)
			}
			for _, c := range wt.certs {
				key, ok := c.PrivateKey.(*ecdsa.PrivateKey)
				if !ok || key.Curve != elliptic.P256() {
					t.Errorf("key %T, want ECDSA P-256", c.PrivateKey)
				}
				if d := c.Leaf.NotAfter.Sub(c.Leaf.NotBefore); d >= 14*24*time.Hour || d < 2*renewEvery {
					t.Errorf("valid for %v: want less than 14 days, and at least two renewal periods", d)
				}
			}
			before := cfg["hashes"].([][]int)
			wt.renew()
			after := wt.pageConfig()["hashes"].([][]int)
			if len(before) != 2 || len(after) != 2 || !slices.Equal(after[0], before[1]) || slices.Equal(after[1], before[1]) || slices.Equal(after[1], before[0]) {
				t.Errorf("hashes %v after renewal, were %v: want the next one served and a new next one", after, before)
			}
			if err := wt.close(); err != nil {
				t.Fatal(err)
			}
			for range wt.pcs {
				select {
				case err := <-errs:
					if !errors.Is(err, http.ErrServerClosed) {
						t.Errorf("a listener ended with %v, want http.ErrServerClosed", err)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("still serving after close")
				}
			}
			wt.renew() // after close: nothing, no panic
		})
	}
}
