package interop

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio"
)

// TestPollingCloseAfterDrain is the wire-level reproduction of the failure
// of "polling: server s.Disconnect(true)" in disconnect.test.mjs, without
// Node: over long-polling, a graceful close must send the packets queued
// before it, and the Engine.IO close packet only in a later response, as
// Node's server does (its polling transport sets shouldClose once the
// queue is flushed, and the next GET gets "6\x1e1"). socket.io-client 4.8.x
// delivers decoded Socket.IO packets on the next tick but handles a close
// packet at once, so a DISCONNECT sharing the close packet's payload is
// seen after the close: the client reports "transport close" instead of
// "io server disconnect".
func TestPollingCloseAfterDrain(t *testing.T) {
	sockets := make(chan *socketio.Socket, 1)
	e := newEnv(t, nil, func(e *env, srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) { sockets <- s })
	})
	base := e.url() + "/socket.io/?EIO=4&transport=polling"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	do := func(method, url, body string) string {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %s %s", method, url, res.Status, b)
		}
		return string(b)
	}

	open := do("GET", base, "")
	var hs struct {
		SID string `json:"sid"`
	}
	if !strings.HasPrefix(open, "0") || json.Unmarshal([]byte(open[1:]), &hs) != nil {
		t.Fatalf("handshake: %q", open)
	}
	url := base + "&sid=" + hs.SID
	do("POST", url, "40")
	if got := do("GET", url, ""); !strings.HasPrefix(got, "40{") {
		t.Fatalf("connect: %q", got)
	}
	s := <-sockets
	s.Disconnect(true)

	first := do("GET", url, "")
	if first != "41" {
		t.Errorf("LIBRARY BUG: after Socket.Disconnect(true), the first poll answers %q; want \"41\" (the DISCONNECT packet alone, the close packet in a later response, as Node's server does)", first)
		return
	}
	if second := do("GET", url, ""); !strings.HasSuffix(second, "1") {
		t.Errorf("second poll: %q, want the close packet (\"1\" or \"6\\x1e1\")", second)
	}
}
