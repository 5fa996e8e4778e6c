package socketio

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/socketio-go/socketio/engineio"
)

// clientFileNames are the files of the npm package socket.io-client's
// dist/ folder that the server serves, as Node's server does.
var clientFileNames = map[string]bool{
	"socket.io.esm.min.js":         true,
	"socket.io.esm.min.js.map":     true,
	"socket.io.js":                 true,
	"socket.io.js.map":             true,
	"socket.io.min.js":             true,
	"socket.io.min.js.map":         true,
	"socket.io.msgpack.min.js":     true,
	"socket.io.msgpack.min.js.map": true,
}

// clientFiles serves the JavaScript client, read once from disk and kept in
// memory with its compressed forms.
type clientFiles struct {
	dir string // configured directory, or "" to search node_modules
	log *slog.Logger

	once    sync.Once
	version string                 // set by once
	files   map[string]*clientFile // set by once
}

type clientFile struct {
	raw, gzip, deflate []byte
}

func newClientFiles(dir string, log *slog.Logger) *clientFiles {
	return &clientFiles{dir: dir, log: log}
}

// findClientDir looks for node_modules/socket.io-client/dist from the
// working directory upwards.
func findClientDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		candidate := filepath.Join(d, "node_modules", "socket.io-client", "dist")
		if st, err := os.Stat(candidate); err == nil && st.IsDir() {
			return candidate
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

func (c *clientFiles) load() {
	dir := c.dir
	if dir == "" {
		dir = findClientDir()
	}
	c.files = make(map[string]*clientFile)
	if dir == "" {
		c.log.Warn("socketio: the JavaScript client files were not found (run npm install socket.io-client, or set Options.ClientDir); /socket.io/socket.io.js will answer 404")
		return
	}
	for name := range clientFileNames {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		f := &clientFile{raw: raw}
		var gz, df bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		_, _ = zw.Write(raw)
		_ = zw.Close()
		f.gzip = gz.Bytes()
		dw, _ := zlib.NewWriterLevel(&df, zlib.BestCompression)
		_, _ = dw.Write(raw)
		_ = dw.Close()
		f.deflate = df.Bytes()
		c.files[name] = f
	}
	if len(c.files) == 0 {
		c.log.Warn("socketio: no JavaScript client file found; /socket.io/socket.io.js will answer 404", "dir", dir)
		return
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "..", "package.json")); err == nil && json.Unmarshal(b, &pkg) == nil {
		c.version = pkg.Version
	}
	if c.version == "" {
		c.version = "unknown"
	}
}

// serve answers a request for a client file; it reports false when name is
// not one.
func (c *clientFiles) serve(w http.ResponseWriter, r *http.Request, name string, cors *engineio.CORSOptions) bool {
	if !clientFileNames[name] || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false
	}
	c.once.Do(c.load)
	if cors != nil {
		cors.Apply(w.Header(), r)
	}
	f := c.files[name]
	if f == nil {
		http.NotFound(w, r)
		return true
	}
	etag := `"` + c.version + `"`
	if inm := r.Header.Get("If-None-Match"); inm == etag || inm == "W/"+etag {
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=0")
	typ := "application/javascript; charset=utf-8"
	if strings.HasSuffix(name, ".map") {
		typ = "application/json; charset=utf-8"
	}
	h.Set("Content-Type", typ)
	h.Set("ETag", etag)
	h.Add("Vary", "Accept-Encoding")
	body := f.raw
	switch acceptEncoding(r) {
	case "gzip":
		h.Set("Content-Encoding", "gzip")
		body = f.gzip
	case "deflate":
		h.Set("Content-Encoding", "deflate")
		body = f.deflate
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return true
}

// acceptEncoding picks gzip or deflate from Accept-Encoding (brotli, which
// Node prefers, is not in Go's standard library).
func acceptEncoding(r *http.Request) string {
	gz, df := false, false
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if q := strings.TrimSpace(params); q == "q=0" || q == "q=0.0" {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "gzip":
			gz = true
		case "deflate":
			df = true
		}
	}
	switch {
	case gz:
		return "gzip"
	case df:
		return "deflate"
	}
	return ""
}
