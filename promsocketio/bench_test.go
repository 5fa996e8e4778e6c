package promsocketio_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/internal/websocket"
	"github.com/socketio-go/socketio/promsocketio"
)

// The benchmarks run each path without metrics ("off") and with them
// ("metrics"): the difference is what the metrics cost; allocs/op should
// not differ.

func benchServer(b *testing.B, metrics bool) (*socketio.Server, string) {
	b.Helper()
	srv := socketio.NewServer(&socketio.Options{
		Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
		DisableServeClient: true,
		Engine:             engineio.Options{MaxBufferedBytes: 64 << 20},
	})
	if metrics {
		prometheus.NewRegistry().MustRegister(promsocketio.Instrument(srv, nil))
	}
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("echo", func(args socketio.Args, ack func(...any)) {
			vals := make([]any, args.Len())
			for i := range vals {
				vals[i] = json.RawMessage(args.Raw(i))
			}
			ack(vals...)
		})
	})
	ts := httptest.NewServer(srv)
	b.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	return srv, "ws" + strings.TrimPrefix(ts.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
}

// dialBench connects a raw WebSocket client to "/".
func dialBench(b *testing.B, url string) *websocket.Conn {
	b.Helper()
	ws, _, err := websocket.Dial(context.Background(), url, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ws.Close(websocket.CloseNormal, "") })
	if _, _, err := ws.ReadMessage(); err != nil { // open
		b.Fatal(err)
	}
	if err := ws.WriteMessage(websocket.OpText, []byte("40")); err != nil {
		b.Fatal(err)
	}
	if _, _, err := ws.ReadMessage(); err != nil { // CONNECT answer
		b.Fatal(err)
	}
	return ws
}

// BenchmarkEcho: an event with an acknowledgement, round trip.
func BenchmarkEcho(b *testing.B) {
	for _, metrics := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "metrics"}[metrics], func(b *testing.B) {
			_, url := benchServer(b, metrics)
			ws := dialBench(b, url)
			msg := []byte(`421["echo","` + strings.Repeat("x", 100) + `"]`)
			b.ReportAllocs()
			for b.Loop() {
				if err := ws.WriteMessage(websocket.OpText, msg); err != nil {
					b.Fatal(err)
				}
				for {
					_, data, err := ws.ReadMessage()
					if err != nil {
						b.Fatal(err)
					}
					if string(data) == "2" {
						_ = ws.WriteMessage(websocket.OpText, []byte("3"))
						continue
					}
					break
				}
			}
		})
	}
}

// BenchmarkBroadcast: one broadcast to 100 clients, until every client
// read it; ns/op and allocs/op are per broadcast (100 deliveries).
func BenchmarkBroadcast(b *testing.B) {
	const clients = 100
	for _, metrics := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "metrics"}[metrics], func(b *testing.B) {
			srv, url := benchServer(b, metrics)
			var wg sync.WaitGroup
			got := make(chan struct{}, clients)
			conns := make([]*websocket.Conn, clients)
			for i := range conns {
				conns[i] = dialBench(b, url)
			}
			payload := strings.Repeat("x", 100)
			b.ReportAllocs()
			b.ResetTimer()
			n := b.N
			for _, ws := range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for seen := 0; seen < n; {
						_, data, err := ws.ReadMessage()
						if err != nil {
							return
						}
						if len(data) > 2 && data[0] == '4' && data[1] == '2' {
							seen++
						}
					}
					got <- struct{}{}
				}()
			}
			for range n {
				_ = srv.Emit("msg", payload)
			}
			for range clients {
				<-got
			}
			b.StopTimer()
			wg.Wait()
		})
	}
}
