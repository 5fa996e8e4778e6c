package interop

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// clientDist is the folder of the official client's browser files, which
// the browser tests' servers serve (Options.ClientDir).
var clientDist = filepath.Join("node_modules", "socket.io-client", "dist")

// needBrowser skips a browser test when SOCKETIO_SKIP_BROWSER=1 (or Node
// is skipped), and fails it, saying how to fix it, when chromium,
// playwright-core or the client's file in clientDist is missing.
func needBrowser(t *testing.T, clientFile string) {
	t.Helper()
	if os.Getenv("SOCKETIO_SKIP_BROWSER") == "1" {
		t.Skip("SOCKETIO_SKIP_BROWSER=1")
	}
	if skipNode != "" {
		t.Skip(skipNode)
	}
	for _, need := range []struct{ path, fix string }{
		{"/usr/bin/chromium", "apt-get install chromium"},
		{filepath.Join("node_modules", "playwright-core"), "npm ci --prefix interop"},
		{filepath.Join(clientDist, clientFile), "npm ci --prefix interop"},
	} {
		if _, err := os.Stat(need.path); err != nil {
			t.Fatalf("%s is missing: run `%s` (or set SOCKETIO_SKIP_BROWSER=1)", need.path, need.fix)
		}
	}
}

// pageServer serves a browser test's page at / (other paths: 204) and srv
// at /socket.io/, counting the requests for /socket.io/<clientFile>.
type pageServer struct {
	*httptest.Server
	scripts atomic.Int32
}

func newPageServer(srv http.Handler, page, clientFile string) *pageServer {
	ps := &pageServer{}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/socket.io/"+clientFile {
			ps.scripts.Add(1)
		}
		srv.ServeHTTP(w, r)
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, page)
	})
	ps.Server = httptest.NewServer(mux)
	return ps
}
