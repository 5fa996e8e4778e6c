package engineio

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/websocket"
)

// BenchmarkSendWebSocket measures Send of one pre-built Message to one
// WebSocket connection whose client reads everything; the time includes
// the delivery of every message to the client's socket.
func BenchmarkSendWebSocket(b *testing.B) {
	srv := NewServer(&Options{PingInterval: time.Hour, MaxBufferedBytes: 1 << 30})
	conns := make(chan *Conn, 1)
	srv.OnConnection(func(c *Conn) { conns <- c })
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/?EIO=4&transport=websocket", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ws.Close(websocket.CloseNormal, "")
	if _, _, err := ws.ReadMessage(); err != nil { // open packet
		b.Fatal(err)
	}
	var c *Conn
	select {
	case c = <-conns:
	case <-ctx.Done():
		b.Fatal("no session")
	}

	// The client drains the raw connection and counts bytes, so that its
	// own work (and allocations) stay out of the measurement: every frame
	// is msg.size() bytes.
	var got atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, err := ws.NetConn().Read(buf)
			got.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()

	msg := NewTextMessage(bytes.Repeat([]byte("x"), 64))
	b.SetBytes(int64(msg.size()))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := c.Send(false, msg); err != nil {
			b.Fatal(err)
		}
	}
	want := int64(b.N) * int64(msg.size())
	deadline := time.Now().Add(30 * time.Second)
	for got.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("client got %d of %d bytes", got.Load(), want)
		}
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	ws.Close(websocket.CloseNormal, "")
	<-done
}
