package adminui

import (
	"bytes"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// HandlerOptions configure the handler of the UI's files.
type HandlerOptions struct {
	// Path is where the UI is served. Default "/admin": the handler
	// answers Path (a 301 redirect to Path + "/", query kept: the UI's
	// files are referred to relatively) and everything under Path + "/".
	Path string
	// Dir holds the UI's built files (index.html, js/, css/, img/). Default:
	// node_modules/@socket.io/admin-ui/ui/dist, found from the working
	// directory upwards (npm install @socket.io/admin-ui@0.5.1).
	Dir string
	// FontDir holds the npm package @mdi/font (css/, fonts/): the icons of
	// the UI's buttons, which index.html loads from a CDN. Default:
	// node_modules/@mdi/font, found likewise. When found, it is served
	// under Path + "/mdi/" and index.html refers to it instead of the CDN;
	// else the CDN link stays.
	FontDir string
	// Logger receives a warning when the files are missing. Default
	// slog.Default().
	Logger *slog.Logger
}

// Handler serves the Admin UI's files (the npm package's built UI, not
// part of this module). Mount it on both Path and Path + "/":
//
//	h := adminui.Handler(nil)
//	mux.Handle("/admin", h)
//	mux.Handle("/admin/", h)
//
// index.html is served with the CDN link of the icon font pointed at the
// local copy, and without the Google Fonts link (the UI falls back to the
// browser's sans-serif): with them, a server without Internet access
// serves a UI whose icon buttons are blank squares.
func Handler(opts *HandlerOptions) http.Handler {
	var o HandlerOptions
	if opts != nil {
		o = *opts
	}
	if o.Path == "" {
		o.Path = "/admin"
	}
	o.Path = strings.TrimRight(o.Path, "/")
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &handler{opts: o}
}

type handler struct {
	opts HandlerOptions

	once     sync.Once
	dir      string // set by once; "" when not found
	fontDir  string // set by once
	index    []byte // set by once; rewritten index.html
	fileSrv  http.Handler
	fontSrv  http.Handler
	notFound bool
}

func (h *handler) load() {
	h.dir = h.opts.Dir
	if h.dir == "" {
		h.dir = findUp(filepath.Join("node_modules", "@socket.io", "admin-ui", "ui", "dist"))
	}
	h.fontDir = h.opts.FontDir
	if h.fontDir == "" {
		h.fontDir = findUp(filepath.Join("node_modules", "@mdi", "font"))
	}
	index, err := os.ReadFile(filepath.Join(h.dir, "index.html"))
	if h.dir == "" || err != nil {
		h.notFound = true
		h.opts.Logger.Warn("adminui: the Admin UI's files were not found (npm install @socket.io/admin-ui@0.5.1, or set HandlerOptions.Dir); " + h.opts.Path + "/ will answer 404")
		return
	}
	h.index = rewriteIndex(index, h.fontDir != "")
	h.fileSrv = http.FileServer(http.Dir(h.dir))
	if h.fontDir != "" {
		h.fontSrv = http.FileServer(http.Dir(h.fontDir))
	}
}

// rewriteIndex drops the Google Fonts link and, with a local icon font,
// points its link there.
func rewriteIndex(b []byte, localFont bool) []byte {
	b = removeLink(b, "https://fonts.googleapis.com/")
	if localFont {
		b = bytes.Replace(b, []byte("https://cdn.jsdelivr.net/npm/@mdi/font@latest/css/materialdesignicons.min.css"), []byte("mdi/css/materialdesignicons.min.css"), 1)
	}
	return b
}

// removeLink removes the <link ...> element whose href starts with prefix.
func removeLink(b []byte, prefix string) []byte {
	i := bytes.Index(b, []byte(`href="`+prefix))
	if i < 0 {
		return b
	}
	start := bytes.LastIndex(b[:i], []byte("<link"))
	end := bytes.IndexByte(b[i:], '>')
	if start < 0 || end < 0 {
		return b
	}
	return append(b[:start:start], b[i+end+1:]...)
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == h.opts.Path {
		u := h.opts.Path + "/"
		if r.URL.RawQuery != "" {
			u += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, u, http.StatusMovedPermanently)
		return
	}
	rest, ok := strings.CutPrefix(p, h.opts.Path+"/")
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.NotFound(w, r)
		return
	}
	h.once.Do(h.load)
	if h.notFound {
		http.NotFound(w, r)
		return
	}
	rest = path.Clean("/" + rest)
	switch {
	case rest == "/" || rest == "/index.html":
		hd := w.Header()
		hd.Set("Content-Type", "text/html; charset=utf-8")
		hd.Set("Cache-Control", "no-cache")
		_, _ = w.Write(h.index)
	case strings.HasPrefix(rest, "/mdi/") && h.fontSrv != nil:
		serveUnder(h.fontSrv, w, r, strings.TrimPrefix(rest, "/mdi"))
	default:
		if strings.HasPrefix(rest, "/js/") || strings.HasPrefix(rest, "/css/") || strings.HasPrefix(rest, "/img/") {
			// Their names carry a hash of their content.
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		serveUnder(h.fileSrv, w, r, rest)
	}
}

// serveUnder serves name from a file server.
func serveUnder(fs http.Handler, w http.ResponseWriter, r *http.Request, name string) {
	r2 := r.Clone(r.Context())
	r2.URL.Path = name
	r2.URL.RawPath = ""
	fs.ServeHTTP(w, r2)
}

// findUp looks for rel from the working directory upwards.
func findUp(rel string) string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		candidate := filepath.Join(d, rel)
		if st, err := os.Stat(candidate); err == nil && st.IsDir() {
			return candidate
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}
