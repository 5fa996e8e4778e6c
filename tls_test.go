package socketio

import (
	"context"
	"crypto/tls"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/socketio-go/socketio/internal/websocket"
)

// Over TLS the connection has no file descriptor to poll: the server falls
// back to a reader goroutine and queued writes. Events and acks still flow.
func TestTLS(t *testing.T) {
	srv := NewServer(testOptions())
	srv.OnConnection(func(s *Socket) {
		s.On("echo", func(v string, ack func(string)) { ack("echo:" + v) })
		must(t, s.Emit("hello", "tls"))
	})
	ts := httptest.NewTLSServer(srv)
	t.Cleanup(func() {
		_ = srv.Close()
		ts.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	url := "wss" + strings.TrimPrefix(ts.URL, "https") + "/socket.io/?EIO=4&transport=websocket"
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	c := &rawClient{t: t, ws: ws, msgs: make(chan rawMsg, 16)}
	go c.read()
	t.Cleanup(func() { _ = ws.Close(websocket.CloseNormal, "") })
	c.expectPrefix("0{")
	c.connect("/", "")
	c.expect(`42["hello","tls"]`)
	c.send(`421["echo","x"]`)
	c.expect(`431["echo:x"]`)
}
