package natsadapter_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/clustertest"
	"github.com/socketio-go/socketio/internal/natstest"
	"github.com/socketio-go/socketio/natsadapter"
)

// TestNATSRestart kills NATS in the middle of a stream of broadcasts from
// one server, without pausing it: JetStream keeps what it acknowledged,
// the outbox what it did not, and the other server's client gets every
// broadcast once, in order (JetStream drops a retried message by its id).
// Requests fail at once meanwhile; the time to full service is logged.
func TestNATSRestart(t *testing.T) {
	s := natstest.Start(t)
	key := natstest.Key("sio_nats_")
	a := clustertest.StartServer(t, "a", natsadapter.New(natstest.Conn(t, s.URL()), options(key)), false)
	b := clustertest.StartServer(t, "b", natsadapter.New(natstest.Conn(t, s.URL()), options(key)), false)
	b1 := clustertest.Dial(t, b.URL(), "b1", false)
	clustertest.Eventually(t, "2 servers", func() bool { return a.ServerCount() == 2 && b.ServerCount() == 2 })

	const total, cut = 400, 100
	var emitted atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range total {
			if err := a.Srv.Emit("tick", i); err != nil {
				t.Errorf("tick %d: %v", i, err)
				return
			}
			emitted.Add(1)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	clustertest.Eventually(t, "the first ticks", func() bool { return emitted.Load() >= cut })
	s.Stop()
	aa := a.Srv.Of("/").Adapter().(*natsadapter.Adapter)
	clustertest.Eventually(t, "a knows", func() bool { return !aa.Listening() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_, err := a.Srv.FetchSockets(ctx)
	cancel()
	if !errors.Is(err, natsadapter.ErrUnavailable) {
		t.Errorf("FetchSockets during the outage: %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	s.Start()
	back := time.Now()
	backlog := int(emitted.Load())
	clustertest.Eventually(t, "the backlog", func() bool { return len(b1.Numbers("tick")) >= backlog })
	t.Logf("NATS restarted: the backlog (%d broadcasts) reached the other server %v after NATS answered again", backlog, time.Since(back).Round(time.Millisecond))
	wg.Wait()
	clustertest.Eventually(t, "every tick", func() bool { return len(b1.Numbers("tick")) >= total })
	repeated, err := clustertest.CheckSequence(b1.Numbers("tick"), total)
	if err != nil {
		t.Fatal(err)
	}
	if repeated > 0 {
		t.Errorf("%d broadcasts delivered twice", repeated)
	}
}

// TestCutOff cuts one server off NATS (a network failure: NATS stays up)
// while another broadcasts: the other server does not notice (its
// heartbeats are not overdue yet) and publishes, and the server cut off
// reads what it missed from the stream once back (plain pub/sub would
// lose it).
func TestCutOff(t *testing.T) {
	s := natstest.Start(t)
	key := natstest.Key("sio_nats_")
	proxy := clustertest.NewProxy(t, s.URL()[len("nats://"):])
	a := clustertest.StartServer(t, "a", natsadapter.New(natstest.Conn(t, s.URL()), options(key)), false)
	b := clustertest.StartServer(t, "b", natsadapter.New(natstest.Conn(t, "nats://"+proxy.Addr()), options(key)), false)
	b1 := clustertest.Dial(t, b.URL(), "b1", false)
	clustertest.Eventually(t, "2 servers", func() bool { return a.ServerCount() == 2 && b.ServerCount() == 2 })
	proxy.Route("")
	proxy.Cut()
	bb := b.Srv.Of("/").Adapter().(*natsadapter.Adapter)
	clustertest.Eventually(t, "b knows", func() bool { return !bb.Listening() })
	const total = 50
	for i := range total {
		if err := a.Srv.Emit("tick", i); err != nil {
			t.Fatal(err)
		}
	}
	if st := a.Srv.Of("/").Adapter().(*natsadapter.Adapter).OutboxStats(); st.Published < total {
		clustertest.Eventually(t, "a published", func() bool {
			return a.Srv.Of("/").Adapter().(*natsadapter.Adapter).OutboxStats().Published >= total
		})
	}
	time.Sleep(300 * time.Millisecond)
	proxy.Route(s.URL()[len("nats://"):])
	clustertest.Eventually(t, "b listens", func() bool { return bb.Listening() })
	clustertest.Eventually(t, "every tick", func() bool { return len(b1.Numbers("tick")) >= total })
	if _, err := clustertest.CheckSequence(b1.Numbers("tick"), total); err != nil {
		t.Fatal(err)
	}
}
