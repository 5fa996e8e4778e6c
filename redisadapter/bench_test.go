package redisadapter_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketio-go/socketio/client"
)

// Cross-server numbers: two Go servers in this process on the test Redis,
// server A broadcasting, clients (Go, over WebSocket) connected to server B
// only, so every message crosses Redis.
//
//	go test -run '^$' -bench CrossServer -benchtime 20000x ./redisadapter/
//
// BenchmarkCrossServerLatency sends one broadcast at a time and waits for
// the client: the time from Emit on A to the event handler on B's client.
// BenchmarkCrossServerThroughput broadcasts from 4 goroutines and reports
// the messages delivered per second to each client (with 10 clients on B).

func BenchmarkCrossServerLatency(b *testing.B) {
	for _, mode := range []string{"classic", "sharded"} {
		b.Run(mode, func(b *testing.B) {
			srvA, srvB := benchServers(b, mode == "sharded")
			got := make(chan time.Time, 1)
			benchClient(b, srvB, func(time.Time) {}, func(ts time.Time) { got <- ts })
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				if err := srvA.srv.Emit("tick", start.UnixNano()); err != nil {
					b.Fatal(err)
				}
				select {
				case <-got:
					lat = append(lat, time.Since(start))
				case <-time.After(wait):
					b.Fatal("broadcast not received")
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

func BenchmarkCrossServerThroughput(b *testing.B) {
	const clients, senders = 10, 4
	for _, mode := range []string{"classic", "sharded"} {
		b.Run(mode, func(b *testing.B) {
			srvA, srvB := benchServers(b, mode == "sharded")
			var received atomic.Int64
			var mu sync.Mutex
			var lat []time.Duration
			done := make(chan struct{})
			total := int64(b.N * clients)
			for c := 0; c < clients; c++ {
				benchClient(b, srvB, func(ts time.Time) {
					if c == 0 {
						mu.Lock()
						lat = append(lat, time.Since(ts))
						mu.Unlock()
					}
					if received.Add(1) == total {
						close(done)
					}
				}, nil)
			}
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for s := 0; s < senders; s++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := s; i < b.N; i += senders {
						if err := srvA.srv.Emit("tick", time.Now().UnixNano()); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				b.Fatalf("received %d of %d", received.Load(), total)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "broadcasts/s")
			b.ReportMetric(float64(total)/elapsed.Seconds(), "deliveries/s")
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			}
		})
	}
}

func benchServers(b *testing.B, sharded bool) (*goServer, *goServer) {
	newRedis(b)
	o := clusterOptions{sharded: sharded, key: testKey()}
	a, bb := newGoServer(b, "a", o), newGoServer(b, "b", o)
	deadline := time.Now().Add(wait)
	for {
		if n, err := a.adapter("/").ServerCount(context.Background()); err == nil && n == 2 {
			return a, bb
		}
		if time.Now().After(deadline) {
			b.Fatal("the servers do not see each other")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// benchClient connects a client to srv that calls each with the send time
// of each "tick" (and last, if set, after it).
func benchClient(b *testing.B, srv *goServer, each func(time.Time), last func(time.Time)) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	s, err := client.NewSocket(srv.url(), &client.Options{ForceNew: true, Transports: []string{"websocket"}, DisableReconnection: true, Logger: quiet, Query: url.Values{}})
	if err != nil {
		b.Fatal(err)
	}
	s.On("tick", func(ns int64) {
		ts := time.Unix(0, ns)
		each(ts)
		if last != nil {
			last(ts)
		}
	})
	s.Connect()
	if err := s.WaitConnect(ctx); err != nil {
		b.Fatal(fmt.Errorf("connect: %w", err))
	}
	b.Cleanup(func() { s.Manager().Close() })
}
