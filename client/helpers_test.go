package client_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/client"
)

// testServer is an in-process root server set up by the test itself, for
// behaviour the shared peers (peers_test.go) do not have.
type testServer struct {
	srv *socketio.Server
	url string

	mu    sync.Mutex
	posts []string // bodies of the long-polling POSTs, when recorded
}

// newTestServer starts a server on 127.0.0.1 whose sockets of the main
// namespace are set up by onConnection. With record, the bodies of the
// long-polling POSTs (what a polling client writes) are kept for posted.
func newTestServer(t *testing.T, record bool, onConnection func(s *socketio.Socket)) *testServer {
	t.Helper()
	ts := &testServer{srv: socketio.NewServer(&socketio.Options{DisableServeClient: true, Logger: quiet})}
	ts.srv.OnConnection(onConnection)
	var h http.Handler = ts.srv
	if record {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				body, _ := io.ReadAll(r.Body)
				ts.mu.Lock()
				ts.posts = append(ts.posts, string(body))
				ts.mu.Unlock()
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
			ts.srv.ServeHTTP(w, r)
		})
	}
	hs := httptest.NewServer(h)
	ts.url = hs.URL
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = ts.srv.Shutdown(ctx)
		hs.Close()
	})
	return ts
}

// posted returns the Engine.IO packets the client wrote by long-polling
// whose text starts with prefix ("43" for Socket.IO acknowledgements of
// the main namespace).
func (ts *testServer) posted(prefix string) []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	var out []string
	for _, body := range ts.posts {
		for _, p := range strings.Split(body, "\x1e") {
			if strings.HasPrefix(p, prefix) {
				out = append(out, p)
			}
		}
	}
	return out
}

// logRecorder is a slog.Handler that keeps the records it gets.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.records = append(l.records, r.Clone())
	l.mu.Unlock()
	return nil
}

// find returns the attributes of the records at level whose message
// contains msg.
func (l *logRecorder) find(level slog.Level, msg string) []map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]string
	for _, r := range l.records {
		if r.Level != level || !strings.Contains(r.Message, msg) {
			continue
		}
		attrs := map[string]string{}
		r.Attrs(func(a slog.Attr) bool {
			attrs[a.Key] = a.Value.String()
			return true
		})
		out = append(out, attrs)
	}
	return out
}

// newSocket is client.NewSocket that fails the test on error and
// disconnects at the end.
func newSocket(t *testing.T, url string, opts *client.Options) *client.Socket {
	t.Helper()
	s, err := client.NewSocket(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Disconnect)
	return s
}

// connect connects s and waits for it.
func connect(t *testing.T, s *client.Socket) {
	t.Helper()
	s.Connect()
	if err := s.WaitConnect(ctxT(t)); err != nil {
		t.Fatalf("connect: %v", err)
	}
}
