package engineio

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/socketio-go/socketio/eioparser"
)

// bareSession opens a long-polling session without a network, for tests
// that run on synctest's fake clock with the default (long) timings.
func bareSession(t *testing.T, opts *Options) (*Conn, <-chan closed) {
	t.Helper()
	srv := NewServer(opts)
	closes := make(chan closed, 1)
	srv.OnConnection(func(c *Conn) {
		c.OnClose(func(reason string, err error) { closes <- closed{reason, err} })
	})
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/engine.io/?EIO=4&transport=polling", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("handshake: %d %s", rec.Code, rec.Body)
	}
	o := parseOpen(t, rec.Body.String())
	c := srv.Conn(o.SID)
	if c == nil {
		t.Fatal("no session")
	}
	t.Cleanup(srv.Close)
	return c, closes
}

// queuedPackets returns the packets waiting for a GET.
func queuedPackets(c *Conn) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.queue {
		out = append(out, string(m.payload()))
	}
	return out
}

// getNow does a GET that must be answered at once.
func getNow(t *testing.T, c *Conn) string {
	t.Helper()
	rec := httptest.NewRecorder()
	c.handlePolling(rec, httptest.NewRequest(http.MethodGet, "/engine.io/?EIO=4&transport=polling&sid="+c.ID(), nil))
	return rec.Body.String()
}

func isClosed(c *Conn) bool {
	select {
	case <-c.Done():
		return true
	default:
		return false
	}
}

func TestHeartbeatDefaultsFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, closes := bareSession(t, nil)
		time.Sleep(25*time.Second - time.Millisecond)
		synctest.Wait()
		if q := queuedPackets(c); len(q) != 0 {
			t.Fatalf("queued before the ping interval: %q", q)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if q := queuedPackets(c); len(q) != 1 || q[0] != "2" {
			t.Fatalf("queued at 25s: %q, want a ping", q)
		}
		// The pong comes 5s later; the next ping is 25s after it.
		time.Sleep(5 * time.Second)
		getNow(t, c)
		c.handlePacket(eioparser.Packet{Type: eioparser.Pong})
		time.Sleep(25*time.Second - time.Millisecond)
		synctest.Wait()
		if q := queuedPackets(c); len(q) != 0 {
			t.Fatalf("queued before the next ping: %q", q)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if q := queuedPackets(c); len(q) != 1 || q[0] != "2" {
			t.Fatalf("queued: %q, want a ping", q)
		}
		// No pong this time: the session ends PingTimeout later.
		time.Sleep(20*time.Second - time.Millisecond)
		synctest.Wait()
		if isClosed(c) {
			t.Fatal("closed before the ping timeout")
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if !isClosed(c) {
			t.Fatal("open after the ping timeout")
		}
		if cl := <-closes; cl.reason != ReasonPingTimeout {
			t.Errorf("reason %q", cl.reason)
		}
	})
}

// Close over long-polling waits for the next GET, at most 30 seconds
// (Node's closeTimeout).
func TestPollingCloseTimeoutFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, closes := bareSession(t, &Options{PingInterval: time.Hour})
		c.SendText([]byte("unsent"))
		c.Close()
		time.Sleep(30*time.Second - time.Millisecond)
		synctest.Wait()
		if isClosed(c) {
			t.Fatal("closed before the close timeout")
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if !isClosed(c) {
			t.Fatal("open after the close timeout")
		}
		if cl := <-closes; cl.reason != ReasonForcedClose {
			t.Errorf("reason %q", cl.reason)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		c, closes := bareSession(t, &Options{PingInterval: time.Hour})
		c.SendText([]byte("a"))
		c.Close()
		time.Sleep(10 * time.Second)
		if got := getNow(t, c); got != "4a" {
			t.Fatalf("GET %q", got)
		}
		if got := getNow(t, c); got != "1" {
			t.Fatalf("GET %q", got)
		}
		if cl := <-closes; cl.reason != ReasonForcedClose {
			t.Errorf("reason %q", cl.reason)
		}
		// The close timer was stopped: nothing more happens.
		time.Sleep(time.Minute)
		synctest.Wait()
		select {
		case cl := <-closes:
			t.Errorf("second close %+v", cl)
		default:
		}
	})
}

// A session whose client stopped polling ends with a ping timeout after
// PingInterval + PingTimeout, whatever was queued.
func TestPollingClientGoneFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, closes := bareSession(t, &Options{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond})
		c.SendText([]byte("never read"))
		time.Sleep(500*time.Millisecond - time.Millisecond)
		synctest.Wait()
		if isClosed(c) {
			t.Fatal("closed early")
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if cl := <-closes; cl.reason != ReasonPingTimeout {
			t.Errorf("reason %q", cl.reason)
		}
	})
}

// Off the heartbeat slots, a ping leaves at the start of its slot (early,
// never late), the pong deadline counts from then, its timer runs at the
// end of the deadline's slot (late, never early), and a request is late
// only strictly after the deadline.
func TestHeartbeatRoundingFakeClock(t *testing.T) {
	const (
		interval = time.Second
		timeout  = 500*time.Millisecond + 7*time.Millisecond
		offset   = 7 * time.Millisecond // the fake clock starts on a slot
	)
	opts := &Options{PingInterval: interval, PingTimeout: timeout}
	// awaitPing waits for the ping of a session opened offset after a
	// slot: due at interval, it leaves offset earlier.
	awaitPing := func(t *testing.T, c *Conn) {
		t.Helper()
		time.Sleep(interval - offset - time.Nanosecond)
		synctest.Wait()
		if q := queuedPackets(c); len(q) != 0 {
			t.Fatalf("queued before the slot: %q", q)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if q := queuedPackets(c); len(q) != 1 || q[0] != "2" {
			t.Fatalf("queued at the slot: %q, want a ping", q)
		}
		getNow(t, c)
	}
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(offset)
		c, closes := bareSession(t, opts)
		awaitPing(t, c)
		// The deadline is timeout after the ping, 7 ms into a slot.
		time.Sleep(timeout)
		if c.expired() {
			t.Fatal("a request at the deadline is late")
		}
		time.Sleep(20*time.Millisecond - offset - time.Nanosecond)
		synctest.Wait()
		if isClosed(c) {
			t.Fatal("closed before the end of the deadline's slot")
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if !isClosed(c) {
			t.Fatal("open after the deadline's slot")
		}
		if cl := <-closes; cl.reason != ReasonPingTimeout {
			t.Errorf("reason %q", cl.reason)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(offset)
		c, closes := bareSession(t, opts)
		awaitPing(t, c)
		time.Sleep(timeout + time.Nanosecond)
		if !c.expired() {
			t.Fatal("a request after the deadline is in time")
		}
		if cl := <-closes; cl.reason != ReasonPingTimeout {
			t.Errorf("reason %q", cl.reason)
		}
	})
}
