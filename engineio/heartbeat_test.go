package engineio

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/websocket"
)

// A client may answer a ping at any time before PingTimeout has passed
// since the ping was queued: here 90 % of it, every time.
//
// The test cannot see when the server queued a ping, only bound it: the
// ping is scheduled PingInterval after the server read the previous pong
// (or opened the session), and a heartbeat slot may send it up to
// hbGranularity early; the server read the pong after the test sent it.
// So the ping was queued no earlier than sent+PingInterval-hbGranularity.
// The pong is answered 90 % of the timeout after that bound. A session
// lost anyway is a failure only when the pong provably reached the server
// in time (on a machine so loaded that a request took longer than the
// remaining 10 %, the server was right to close it, and the round says
// nothing).
func TestHeartbeatLatePongKeepsSession(t *testing.T) {
	const (
		interval = 50 * time.Millisecond
		timeout  = 3 * time.Second
		answer   = timeout * 9 / 10
		pings    = 5
		earliest = interval - hbGranularity // from the pong's send to the next ping
	)
	opts := &Options{PingInterval: interval, PingTimeout: timeout}
	// lost reports a session that ended although its pong arrived by
	// arrived, the ping having been queued no earlier than queued.
	lost := func(t *testing.T, i int, queued, arrived time.Time, what string) {
		t.Helper()
		if d := arrived.Sub(queued); d > timeout {
			t.Skipf("pong %d: inconclusive, the machine was too slow (up to %v between the ping and the pong): %s", i+1, d, what)
		}
		t.Fatalf("pong %d, at most %v after the ping: %s", i+1, arrived.Sub(queued), what)
	}
	t.Run("polling", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, opts)
		queued := time.Now().Add(earliest)
		sid, _, s := e.handshake()
		for i := range pings {
			ctx, cancel := context.WithTimeout(context.Background(), waitTime)
			resp, body, err := e.do(ctx, http.MethodGet, "EIO=4&transport=polling&sid="+sid, nil, nil)
			cancel()
			if err != nil || resp.StatusCode != http.StatusOK || body != "2" {
				t.Fatalf("ping %d: GET %v %q (%v)", i+1, resp.Status, body, err)
			}
			time.Sleep(time.Until(queued.Add(answer)))
			sent := time.Now()
			resp, body = e.post(sid, "3")
			if resp.StatusCode != http.StatusOK {
				lost(t, i, queued, time.Now(), fmt.Sprintf("%d %s", resp.StatusCode, body))
			}
			queued = sent.Add(earliest)
		}
		select {
		case c := <-s.closes:
			t.Fatalf("closed: %+v", c)
		default:
		}
	})
	t.Run("websocket", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, opts)
		queued := time.Now().Add(earliest)
		ws, s, _ := e.dialSession()
		for i := range pings {
			_, p, err := wsReadErr(ws, waitTime)
			if err != nil || p != "2" {
				t.Fatalf("ping %d: %q (%v)", i+1, p, err)
			}
			time.Sleep(time.Until(queued.Add(answer)))
			sent := time.Now()
			// The message after the pong tells when the pong was read: the
			// session reads its frames in order.
			// A write fails only when the session is gone: the select
			// below then finds its close.
			_ = ws.WriteMessage(websocket.OpText, []byte("3"))
			_ = ws.WriteMessage(websocket.OpText, fmt.Appendf(nil, "4after %d", i+1))
			select {
			case m := <-s.msgs:
				if want := fmt.Sprintf("after %d", i+1); m.data != want {
					t.Fatalf("got %+v, want %q", m, want)
				}
			case c := <-s.closes:
				lost(t, i, queued, time.Now(), fmt.Sprintf("closed: %+v", c))
			case <-time.After(waitTime):
				t.Fatalf("pong %d: no message after it", i+1)
			}
			queued = sent.Add(earliest)
		}
		select {
		case c := <-s.closes:
			t.Fatalf("closed: %+v", c)
		default:
		}
	})
}

// A client that does not answer is closed once PingTimeout has passed
// since the ping: not before, and not much after.
func TestHeartbeatNoPong(t *testing.T) {
	const (
		interval = 100 * time.Millisecond
		timeout  = 200 * time.Millisecond
	)
	opts := &Options{PingInterval: interval, PingTimeout: timeout}
	check := func(t *testing.T, s *session, pinged time.Time) {
		t.Helper()
		expectClose(t, s, ReasonPingTimeout, nil)
		d := time.Since(pinged)
		t.Logf("closed %v after the ping arrived", d.Round(time.Millisecond))
		// The ping left a little before it arrived; the deadline timer
		// may be one heartbeat slot late.
		if d < timeout-5*time.Millisecond {
			t.Errorf("closed %v after the ping, before the timeout (%v)", d, timeout)
		}
		if d > timeout+hbGranularity+time.Second { // generous: a loaded machine is late too
			t.Errorf("closed %v after the ping, long after the timeout (%v)", d, timeout)
		}
	}
	t.Run("polling", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, opts)
		sid, _, s := e.handshake()
		if got := e.poll(sid); len(got) != 1 || got[0] != "2" {
			t.Fatalf("GET %q, want a ping", got)
		}
		check(t, s, time.Now())
		resp, body := e.get("EIO=4&transport=polling&sid=" + sid)
		if resp.StatusCode != http.StatusBadRequest || body != jsonError(UnknownSID, "Session ID unknown") {
			t.Errorf("GET after the timeout: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("websocket", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, opts)
		ws, s, _ := e.dialSession()
		if _, p := wsRead(t, ws); p != "2" {
			t.Fatalf("got %q, want a ping", p)
		}
		check(t, s, time.Now())
	})
}

// Pings leave PingInterval after the previous pong: a shared heartbeat
// slot may send them early, by up to its granularity, never late (Node's
// timer is never early, and late only by its event loop).
func TestHeartbeatPingOnTime(t *testing.T) {
	const (
		interval = 60 * time.Millisecond // whole slots, like the defaults
		pings    = 20
	)
	e := newEnv(t, &Options{PingInterval: interval, PingTimeout: time.Second})
	ws, _, _ := e.dialSession()
	if _, p := wsRead(t, ws); p != "2" {
		t.Fatalf("got %q, want a ping", p)
	}
	var lateness []time.Duration
	for range pings {
		wsWrite(t, ws, "3")
		ponged := time.Now()
		if _, p := wsRead(t, ws); p != "2" {
			t.Fatalf("got %q, want a ping", p)
		}
		lateness = append(lateness, time.Since(ponged)-interval)
	}
	slices.Sort(lateness)
	t.Logf("ping lateness after the pong: min %v, median %v, max %v", lateness[0], lateness[pings/2], lateness[pings-1])
	if lateness[0] < -hbGranularity {
		t.Errorf("a ping left %v early, more than the heartbeat granularity", -lateness[0])
	}
	// How late pings leave is a matter of the machine's load as much as
	// of the schedule, so it is only logged here; the rounding itself is
	// checked on a fake clock (TestHeartbeatRoundingFakeClock).
}

// An interval shorter than a heartbeat slot does not make pings leave as
// soon as the pong arrives: at most one per slot.
func TestHeartbeatShortInterval(t *testing.T) {
	e := newEnv(t, &Options{PingInterval: 5 * time.Millisecond, PingTimeout: time.Second})
	ws, _, _ := e.dialSession()
	const span = 200 * time.Millisecond
	start := time.Now()
	pings := 0
	for time.Since(start) < span {
		if _, p := wsRead(t, ws); p != "2" {
			t.Fatalf("got %q, want a ping", p)
		}
		pings++
		wsWrite(t, ws, "3")
	}
	if max := int(span/hbGranularity) + 2; pings > max {
		t.Errorf("%d pings in %v, want at most %d", pings, span, max)
	}
}
