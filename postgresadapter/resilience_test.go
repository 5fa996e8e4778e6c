package postgresadapter_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/internal/clustertest"
	"github.com/socketio-go/socketio/internal/pgtest"
	"github.com/socketio-go/socketio/postgresadapter"
)

// TestPostgresRestart restarts PostgreSQL (an immediate shutdown: every
// connection cut) under a stream of broadcasts from one server: the other
// server's client gets every one, in order, and the time from PostgreSQL's
// return to full service is logged. During the outage requests fail at
// once (ErrUnavailable), and a full outbox refuses (adapter.ErrOutboxFull).
func TestPostgresRestart(t *testing.T) {
	pg := pgtest.Start(t)
	c := newCluster(t, pg.URL())
	a := clustertest.StartServer(t, "a", c.factory(t, nil), false)
	b := clustertest.StartServer(t, "b", c.factory(t, nil), false)
	b1 := clustertest.Dial(t, b.URL(), "b1", false)
	clustertest.Eventually(t, "2 servers", func() bool { return a.ServerCount() == 2 && b.ServerCount() == 2 })

	// The sender stops at 100 while PostgreSQL goes down (NOTIFY keeps
	// nothing: a message committed at the instant of a crash is lost for
	// the listeners cut at that instant), then goes on during the outage
	// and after it.
	const total, cut = 400, 100
	down := make(chan struct{})
	var emitted atomic.Int64 // ticks emitted so far
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range total {
			if i == cut {
				<-down
			}
			if err := a.Srv.Emit("tick", i); err != nil {
				t.Errorf("tick %d: %v", i, err)
				return
			}
			emitted.Add(1)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	clustertest.Eventually(t, "the first ticks", func() bool { return len(b1.Numbers("tick")) >= cut })
	pg.Stop()
	aa := a.Srv.Of("/").Adapter().(*postgresadapter.Adapter)
	clustertest.Eventually(t, "a knows", func() bool { return !aa.Listening() })
	close(down)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	_, err := a.Srv.FetchSockets(ctx)
	cancel()
	if !errors.Is(err, postgresadapter.ErrUnavailable) {
		t.Errorf("FetchSockets during the outage: %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	pg.Start()
	back := time.Now()
	backlog := int(emitted.Load())
	clustertest.Eventually(t, "the backlog", func() bool { return len(b1.Numbers("tick")) >= backlog })
	t.Logf("PostgreSQL restarted after an outage of %d broadcasts: the backlog reached the other server %v after PostgreSQL answered again", backlog-cut, time.Since(back).Round(time.Millisecond))
	wg.Wait()
	clustertest.Eventually(t, "every tick", func() bool { return len(b1.Numbers("tick")) >= total })
	if _, err := clustertest.CheckSequence(b1.Numbers("tick"), total); err != nil {
		t.Fatal(err)
	}
	st := a.Srv.Of("/").Adapter().(adapter.OutboxReporter).OutboxStats()
	t.Logf("every broadcast delivered once, in order (outbox: %+v)", st)
	if st.Overflowed+st.Expired+st.Abandoned != 0 {
		t.Errorf("outbox lost messages: %+v", st)
	}
}

// TestOutboxFull: while PostgreSQL is down, a broadcast that does not fit
// in the outbox is refused with an error wrapping adapter.ErrOutboxFull
// (its local part done).
func TestOutboxFull(t *testing.T) {
	pg := pgtest.Start(t)
	c := newCluster(t, pg.URL())
	o := c.options(nil)
	o.Outbox = adapter.OutboxOptions{MaxBytes: 4096}
	a := clustertest.StartServer(t, "a", postgresadapter.New(pgtest.Pool(t, c.url), o), false)
	a1 := clustertest.Dial(t, a.URL(), "a1", false)
	pg.Stop()
	aa := a.Srv.Of("/").Adapter().(*postgresadapter.Adapter)
	clustertest.Eventually(t, "a knows", func() bool { return !aa.Listening() })
	var err error
	for range 20 {
		if err = a.Srv.Emit("big", strings.Repeat("b", 1000)); err != nil {
			break
		}
	}
	if !errors.Is(err, adapter.ErrOutboxFull) || !errors.Is(err, postgresadapter.ErrPublish) {
		t.Fatalf("Emit with a full outbox: %v", err)
	}
	a1.WaitFor(t, "big")
	pg.Start()
}
