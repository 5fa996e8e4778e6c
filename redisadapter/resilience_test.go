package redisadapter_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/redisadapter"
	"github.com/socketio-go/socketio/sioparser"
)

// ownRedis is a redis-server of the test's own, on a free port, that the
// test can stop and start again (the machine's Redis is never touched).
type ownRedis struct {
	t    *testing.T
	port string
	mu   sync.Mutex
	cmd  *exec.Cmd
}

func startOwnRedis(t *testing.T) *ownRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("SOCKETIO_SKIP_REDIS") == "1" {
			t.Skip("redis-server is not on the PATH (SOCKETIO_SKIP_REDIS=1)")
		}
		t.Fatal("redis-server is not on the PATH (install Debian's redis-server, or set SOCKETIO_SKIP_REDIS=1)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	r := &ownRedis{t: t, port: port}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *ownRedis) addr() string { return "127.0.0.1:" + r.port }

func (r *ownRedis) start() {
	r.t.Helper()
	cmd := exec.Command("redis-server", "--port", r.port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.mu.Lock()
	r.cmd = cmd
	r.mu.Unlock()
	deadline := time.Now().Add(wait)
	for {
		c, err := net.Dial("tcp", r.addr())
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server on %s did not start: %v", r.addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills the server, as a crash would.
func (r *ownRedis) stop() {
	r.mu.Lock()
	cmd := r.cmd
	r.cmd = nil
	r.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
}

// fakeNamespace is the namespace side of an adapter used alone.
type fakeNamespace struct{ name string }

func (f fakeNamespace) Name() string                                 { return f.name }
func (f fakeNamespace) Prepare(p *sioparser.Packet) adapter.Prepared { return p }
func (f fakeNamespace) NextAckID() uint64                            { return 1 }
func (f fakeNamespace) OnServerSideEmit([]byte, [][]byte, func(adapter.AckResponse)) {
}

func TestRedisDownAtStart(t *testing.T) {
	// a port nobody listens on
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, sharded := range []bool{false, true} {
		t.Run(fmt.Sprint("sharded=", sharded), func(t *testing.T) {
			rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
			defer rdb.Close()
			factory := redisadapter.New(rdb, &redisadapter.Options{Logger: quiet, RequestsTimeout: 2 * time.Second})
			if sharded {
				factory = redisadapter.NewSharded(rdb, &redisadapter.Options{Logger: quiet, RequestsTimeout: 2 * time.Second})
			}
			a := factory(fakeNamespace{"/"})
			start := time.Now()
			err := a.Init()
			if err == nil || !strings.Contains(err.Error(), "cannot subscribe") || !strings.Contains(err.Error(), "refused") {
				t.Fatalf("Init: %v", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("Init took %v", d)
			}
			t.Logf("Init: %v", err)
			// operations fail at once with clear errors; the local part is done
			p := &sioparser.Packet{Type: sioparser.Event, Data: []byte(`["x"]`)}
			if err := a.Broadcast(p, &adapter.BroadcastOptions{}); !errors.Is(err, redisadapter.ErrPublish) {
				t.Errorf("Broadcast: %v", err)
			}
			if err := a.Broadcast(p, &adapter.BroadcastOptions{Flags: adapter.BroadcastFlags{Local: true}}); err != nil {
				t.Errorf("local Broadcast: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if _, err := a.FetchSockets(ctx, &adapter.BroadcastOptions{}); !errors.Is(err, redisadapter.ErrUnavailable) {
				t.Errorf("FetchSockets: %v", err)
			}
			if _, err := a.ServerCount(ctx); !errors.Is(err, redisadapter.ErrUnavailable) {
				t.Errorf("ServerCount: %v", err)
			}
			if err := a.Broadcast(p, &adapter.BroadcastOptions{}); !errors.Is(err, redisadapter.ErrUnavailable) {
				t.Errorf("Broadcast: %v", err)
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSilentServer checks that requests to a server that never answers end
// with adapter.ErrTimeout after RequestsTimeout (or at the context's end).
func TestSilentServer(t *testing.T) {
	rdb := newRedis(t)
	for _, sharded := range []bool{false, true} {
		t.Run(fmt.Sprint("sharded=", sharded), func(t *testing.T) {
			key := testKey()
			o := clusterOptions{sharded: sharded, key: key, timeout: 300 * time.Millisecond}
			g := newGoServer(t, "go", o)
			// a "server" that subscribes and never answers
			var ps *redis.PubSub
			if sharded {
				ps = rdb.SSubscribe(context.Background(), key+"#/#")
			} else {
				ps = rdb.Subscribe(context.Background(), key+"-request#/#")
			}
			defer ps.Close()
			eventually(t, "2 servers", func() bool { return g.serverCount(t, "/") == 2 })

			start := time.Now()
			_, err := g.srv.FetchSockets(context.Background())
			if !errors.Is(err, adapter.ErrTimeout) || !strings.Contains(err.Error(), "0 responses received out of 1") {
				t.Errorf("FetchSockets: %v", err)
			}
			_, err = g.srv.ServerSideEmitWithAck(context.Background(), "ping-servers", 1)
			if !errors.Is(err, adapter.ErrTimeout) {
				t.Errorf("ServerSideEmitWithAck: %v", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			_, err = g.srv.FetchSockets(ctx)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("FetchSockets with a short context: %v", err)
			}
			// a broadcast with acks counts the silent server, and times out
			_, err = g.srv.Timeout(200*time.Millisecond).EmitWithAck(context.Background(), "ask", 1)
			if err == nil {
				t.Error("EmitWithAck: no timeout")
			}
			time.Sleep(300 * time.Millisecond)
			if r, a := g.adapter("/").Pending(); r != 0 || a != 0 {
				t.Errorf("pending after timeouts: %d requests, %d acks", r, a)
			}
		})
	}
}

// TestRedisRestart kills Redis in the middle of traffic between two Go
// servers and starts it again: local delivery goes on, remote operations
// fail fast with clear errors, nothing piles up, and the cluster works
// again within seconds.
func TestRedisRestart(t *testing.T) {
	for _, sharded := range []bool{false, true} {
		t.Run(fmt.Sprint("sharded=", sharded), func(t *testing.T) { testRedisRestart(t, sharded) })
	}
}

func testRedisRestart(t *testing.T, sharded bool) {
	r := startOwnRedis(t)
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	o := clusterOptions{sharded: sharded, key: testKey(), addr: r.addr(), timeout: time.Second, logger: logger}
	a := newGoServer(t, "go-a", o)
	b := newGoServer(t, "go-b", o)
	a1 := dial(t, a, "/", "a1")
	b1 := dial(t, b, "/", "b1")
	eventually(t, "2 servers", func() bool { return a.serverCount(t, "/") == 2 })
	a.emit(t, sel{}, "before")
	b1.waitFor(t, "before")

	// traffic from A, every 5 ms
	var sent, failed atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if err := a.srv.Emit("tick", i); err != nil {
				failed.Add(1)
				if !errors.Is(err, redisadapter.ErrPublish) {
					t.Errorf("emit error %v does not wrap ErrPublish", err)
				}
			}
			sent.Add(1)
		}
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-done
	}()
	time.Sleep(100 * time.Millisecond)
	goroutinesBefore := runtime.NumGoroutine()

	r.stop()
	outage := time.Now()
	// remote operations fail, fast
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	_, err := a.srv.FetchSockets(ctx)
	cancel()
	if err == nil {
		t.Error("FetchSockets during the outage: no error")
	} else {
		t.Logf("FetchSockets during the outage: %v (after %v)", err, time.Since(start))
	}
	if err := a.srv.SocketsJoin("x"); !errors.Is(err, redisadapter.ErrPublish) {
		t.Errorf("SocketsJoin during the outage: %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("remote operations took %v to fail", time.Since(start))
	}
	// local delivery goes on
	a1.take()
	time.Sleep(1500 * time.Millisecond)
	if got := a1.take(); !containsN(got, "tick", 50) {
		t.Errorf("a1 got %d ticks during the outage", count(got, "tick"))
	}
	if failed.Load() == 0 {
		t.Error("no emit failed during the outage")
	}
	goroutinesDuring := runtime.NumGoroutine()
	if goroutinesDuring > goroutinesBefore+10 {
		t.Errorf("goroutines grew from %d to %d during the outage", goroutinesBefore, goroutinesDuring)
	}
	if ra, aa := a.adapter("/").Pending(); ra+aa != 0 {
		t.Errorf("pending requests during the outage: %d, %d", ra, aa)
	}

	r.start()
	restarted := time.Now()
	// the cluster works again: both ways
	for _, dir := range []struct {
		from *goServer
		to   *tclient
		ev   string
	}{{a, b1, "after-a"}, {b, a1, "after-b"}} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			dir.from.emit2(dir.ev)
			time.Sleep(50 * time.Millisecond)
			if slices.Contains(dir.to.names(), dir.ev) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no %s 10s after Redis came back\n%s", dir.to.name, dir.ev, logs.String())
			}
		}
	}
	t.Logf("outage %v; cluster working %v after Redis restarted", restarted.Sub(outage).Round(time.Millisecond), time.Since(restarted).Round(time.Millisecond))
	eventually(t, "healthy", func() bool { return a.adapter("/").Healthy() && b.adapter("/").Healthy() })
	ctx, cancel = context.WithTimeout(context.Background(), wait)
	defer cancel()
	socks, err := a.srv.FetchSockets(ctx)
	if err != nil || len(socks) != 2 {
		t.Errorf("FetchSockets after the restart: %d sockets, %v", len(socks), err)
	}
	if !strings.Contains(logs.String(), "lost the Redis subscription") || !strings.Contains(logs.String(), "subscribed to Redis again") {
		t.Errorf("logs lack the lost/restored lines:\n%s", logs.String())
	}
}

// emit2 emits an event to everyone, ignoring errors (Redis may be down).
func (g *goServer) emit2(ev string) { _ = g.srv.Emit(ev) }

func containsN(names []string, ev string, n int) bool { return count(names, ev) >= n }

func count(names []string, ev string) int {
	c := 0
	for _, n := range names {
		if n == ev {
			c++
		}
	}
	return c
}
