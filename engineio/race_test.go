package engineio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/websocket"
)

// concurrentSends has g goroutines send numbered messages ("<g>:<i>") until
// n each or ErrClosed, and calls Close from another goroutine once about
// half of them went out. It returns how many Sends each goroutine had
// accepted.
func concurrentSends(t *testing.T, c *Conn, g, n int) []int {
	t.Helper()
	accepted := make([]int, g)
	var count atomic.Int64
	var wg sync.WaitGroup
	for k := range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				err := c.SendText([]byte(strconv.Itoa(k) + ":" + strconv.Itoa(i)))
				if err == ErrClosed {
					return
				}
				if err != nil {
					t.Errorf("Send: %v", err)
					return
				}
				accepted[k]++
				count.Add(1)
			}
		}()
	}
	// Close races with the senders (twice, from two goroutines).
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.Now().Add(waitTime)
			for count.Load() < int64(g*n/2) && time.Now().Before(deadline) {
				runtime.Gosched()
			}
			c.Close()
		}()
	}
	wg.Wait()
	return accepted
}

// checkDelivery verifies that got holds, for each sender, exactly its
// accepted messages in order.
func checkDelivery(t *testing.T, got []string, accepted []int) {
	t.Helper()
	next := make([]int, len(accepted))
	for _, m := range got {
		ks, is, ok := strings.Cut(m, ":")
		k, err1 := strconv.Atoi(ks)
		i, err2 := strconv.Atoi(is)
		if !ok || err1 != nil || err2 != nil || k < 0 || k >= len(next) {
			t.Fatalf("bad message %q", m)
		}
		if i != next[k] {
			t.Fatalf("sender %d: got message %d, want %d", k, i, next[k])
		}
		next[k]++
	}
	for k := range next {
		if next[k] != accepted[k] {
			t.Errorf("sender %d: %d messages delivered, %d accepted", k, next[k], accepted[k])
		}
	}
}

func TestConcurrentSendAndCloseWebSocket(t *testing.T) {
	const g, n = 8, 400
	e := newEnv(t, &Options{PingInterval: 10 * time.Second, MaxBufferedBytes: 64 << 20})
	ws, s, _ := e.dialSession()

	type result struct {
		got []string
		err error
	}
	read := make(chan result, 1)
	go func() {
		var got []string
		for {
			_, p, err := wsReadErr(ws, waitTime)
			if err != nil {
				read <- result{got, err}
				return
			}
			if !strings.HasPrefix(p, "4") {
				read <- result{got, fmt.Errorf("unexpected packet %q", p)}
				return
			}
			got = append(got, p[1:])
		}
	}()
	accepted := concurrentSends(t, s.c, g, n)
	r := recv(t, read, "end of reading")
	if r.err == nil || strings.Contains(r.err.Error(), "timeout") || strings.HasPrefix(r.err.Error(), "unexpected") {
		t.Fatalf("read ended with %v", r.err)
	}
	expectClose(t, s, ReasonForcedClose, nil)
	checkDelivery(t, r.got, accepted)
	sum := 0
	for _, a := range accepted {
		sum += a
	}
	t.Logf("%d of %d messages accepted before Close", sum, g*n)
}

func TestConcurrentSendAndClosePolling(t *testing.T) {
	const g, n = 8, 200
	e := newEnv(t, &Options{PingInterval: 10 * time.Second, MaxBufferedBytes: 64 << 20})
	sid, _, s := e.handshake()

	type result struct {
		got []string
		err error
	}
	read := make(chan result, 1)
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	go func() {
		var got []string
		for {
			resp, body, err := e.do(ctx, http.MethodGet, "EIO=4&transport=polling&sid="+sid, nil, nil)
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("GET: %d %s", resp.StatusCode, body)
			}
			if err != nil {
				read <- result{got, err}
				return
			}
			for _, p := range strings.Split(body, "\x1e") {
				switch {
				case p == "1":
					read <- result{got, nil}
					return
				case strings.HasPrefix(p, "4"):
					got = append(got, p[1:])
				default:
					read <- result{got, fmt.Errorf("unexpected packet %q", p)}
					return
				}
			}
		}
	}()
	accepted := concurrentSends(t, s.c, g, n)
	r := recv(t, read, "end of polling")
	if r.err != nil {
		t.Fatal(r.err)
	}
	expectClose(t, s, ReasonForcedClose, nil)
	checkDelivery(t, r.got, accepted)
}

// Sends, Close, Abort, accessors and client traffic all at once; the
// race detector is the judge.
func TestConcurrentEverything(t *testing.T) {
	t.Parallel()
	opts := func() *Options {
		return &Options{PingInterval: 20 * time.Millisecond, PingTimeout: 200 * time.Millisecond, MaxBufferedBytes: 1 << 20}
	}
	for round := range 4 {
		e := newEnvWith(t, opts(), envConfig{echo: true, discard: true})
		ws, s, _ := e.dialSession()
		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Add(1)
		go func() { // client: answer pings, send messages, read
			defer wg.Done()
			for i := 0; ; i++ {
				_, p, err := wsReadErr(ws, waitTime)
				if err != nil {
					return
				}
				if p == "2" {
					ws.WriteMessage(websocket.OpText, []byte("3"))
				} else if i%3 == 0 {
					ws.WriteMessage(websocket.OpText, []byte("4c"))
				}
			}
		}()
		for k := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m := NewTextMessage([]byte("s" + strconv.Itoa(k)))
				for {
					select {
					case <-stop:
						return
					default:
					}
					err := s.c.Send(k%2 == 0, m)
					if err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrSlowConsumer) {
						t.Errorf("Send: %v", err)
					}
					_ = s.c.Transport()
					_ = e.srv.ClientsCount()
					runtime.Gosched()
				}
			}()
		}
		time.Sleep(30 * time.Millisecond)
		var cw sync.WaitGroup
		cw.Add(2)
		go func() { defer cw.Done(); s.c.Close() }()
		go func() {
			defer cw.Done()
			if round%2 == 1 {
				s.c.Abort(ReasonTransportError, errors.New("abort"))
			} else {
				e.srv.Close()
			}
		}()
		cw.Wait()
		recv(t, s.closes, "close")
		<-s.c.Done()
		close(stop)
		wg.Wait()
	}
}
