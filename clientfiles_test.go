package socketio

import (
	"compress/gzip"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestServeClientFiles(t *testing.T) {
	dir := t.TempDir()
	dist := filepath.Join(dir, "dist")
	must(t, os.MkdirAll(dist, 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"socket.io-client","version":"4.8.4"}`), 0o644))
	js := strings.Repeat("console.log('socket.io');\n", 100)
	must(t, os.WriteFile(filepath.Join(dist, "socket.io.js"), []byte(js), 0o644))
	must(t, os.WriteFile(filepath.Join(dist, "socket.io.js.map"), []byte(`{"version":3}`), 0o644))

	opts := testOptions()
	opts.DisableServeClient = false
	opts.ClientDir = dist
	srv := NewServer(opts)
	base := "http" + strings.TrimPrefix(newTestServer(t, srv), "ws")

	req, _ := http.NewRequest("GET", base+"/socket.io/socket.io.js", nil)
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := testHTTP.Do(req)
	must(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != js {
		t.Fatalf("status %d, %d bytes", resp.StatusCode, len(body))
	}
	if resp.Header.Get("ETag") != `"4.8.4"` || resp.Header.Get("Cache-Control") != "public, max-age=0" ||
		resp.Header.Get("Content-Type") != "application/javascript; charset=utf-8" {
		t.Fatalf("headers %v", resp.Header)
	}

	for _, etag := range []string{`"4.8.4"`, `W/"4.8.4"`} {
		req, _ = http.NewRequest("GET", base+"/socket.io/socket.io.js", nil)
		req.Header.Set("If-None-Match", etag)
		resp, err = testHTTP.Do(req)
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotModified {
			t.Fatalf("If-None-Match %s: %d", etag, resp.StatusCode)
		}
	}

	req, _ = http.NewRequest("GET", base+"/socket.io/socket.io.js", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err = http.DefaultTransport.RoundTrip(req)
	must(t, err)
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("encoding %q", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	must(t, err)
	body, _ = io.ReadAll(zr)
	resp.Body.Close()
	if string(body) != js {
		t.Fatal("gzip body differs")
	}

	req, _ = http.NewRequest("GET", base+"/socket.io/socket.io.js.map", nil)
	resp, err = testHTTP.Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("map type %q", resp.Header.Get("Content-Type"))
	}
	if code, _ := httpGet(base + "/socket.io/socket.io.min.js"); code != 404 {
		t.Fatalf("missing file: %d", code)
	}
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
}
