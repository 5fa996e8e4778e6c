package redisstreamsadapter_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/clustertest"
	"github.com/socketio-go/socketio/internal/redistest"
	"github.com/socketio-go/socketio/redisstreamsadapter"
)

func startMember(t *testing.T, node bool, id string, c serverConfig) member {
	if node {
		return newNodeServer(t, id, c)
	}
	return newGoServer(t, id, c)
}

func addrOf(m member) string { return strings.TrimPrefix(m.url(), "http://") }

// TestRecoveryAcrossServers connects a client to server A through a load
// balancer, stops A (gracefully: its sessions go to Redis), broadcasts from
// B while the client is away, then lets the client reach B: it must get
// its id back (Recovered), its rooms, and exactly the broadcasts it missed,
// binary included, whichever of A and B runs Node.
func TestRecoveryAcrossServers(t *testing.T) {
	for _, tc := range []struct {
		name         string
		aNode, bNode bool
	}{{"go-go", false, false}, {"go-node", false, true}, {"node-go", true, false}} {
		t.Run(tc.name, func(t *testing.T) {
			c := serverConfig{key: testKey()}
			a := startMember(t, tc.aNode, "a", c)
			b := startMember(t, tc.bNode, "b", c)
			lb := clustertest.NewProxy(t, addrOf(a))
			cl := clustertest.Dial(t, lb.URL(), "c", true)
			if got := cl.WaitFor(t, "(connect)"); got[0] != false {
				t.Fatalf("first connection recovered: %v", got)
			}
			cl.Join(t, "r1")
			// an event from B gives the client an offset
			clustertest.Eventually(t, "the client hears B", func() bool {
				b.emit(t, nil, nil, "pre", 0)
				time.Sleep(50 * time.Millisecond)
				return slices.Contains(cl.Names(), "pre")
			})
			id := cl.ID()

			lb.Route("") // the balancer sends nobody to A any more
			a.kill(t)
			clustertest.Eventually(t, "the client lost A", func() bool { return !cl.S.Connected() })
			cl.Take()
			b.emit(t, nil, nil, "missed", 1)
			b.emit(t, []string{"r1"}, nil, "missed", 2)
			b.emit(t, []string{"other"}, nil, "not-for-c", 3)
			b.emit(t, nil, []string{"r1"}, "not-for-c", 4)
			b.emit(t, nil, nil, "missed", 5, []byte{0xde, 0xad})
			if g, ok := b.(*goServer); ok {
				// in the stream before the client comes back: a restore
				// only sees what the stream has when it runs
				clustertest.Eventually(t, "b's entries written", func() bool { return g.adapter().OutboxStats().Queued == 0 })
			}
			lb.Route(addrOf(b))

			if got := cl.WaitFor(t, "(connect)"); got[0] != true {
				t.Fatalf("the client was not recovered by %s", b.name())
			}
			if cl.ID() != id {
				t.Errorf("id %s after recovery, was %s", cl.ID(), id)
			}
			b.emit(t, []string{"r1"}, nil, "after", 6)
			cl.WaitFor(t, "after") // still in r1
			var missed [][]any
			events := cl.Take()
			for _, e := range events {
				switch e.Name {
				case "missed":
					missed = append(missed, e.Args)
				case "not-for-c":
					t.Errorf("the client got %s%v", e.Name, e.Args)
				}
			}
			if len(missed) != 3 {
				t.Fatalf("the client got %d missed events before \"after\": %v (events %v)", len(missed), missed, events)
			}
			for i, want := range []float64{1, 2, 5} {
				if missed[i][0] != want {
					t.Errorf("missed event %d: %v, want %v first", i, missed[i], want)
				}
			}
			if bin, _ := missed[2][1].([]byte); !reflect.DeepEqual(bin, []byte{0xde, 0xad}) {
				t.Errorf("binary missed event: %#v", missed[2])
			}
		})
	}
}

// TestRedisRestart kills Redis (persistent: what it acknowledged survives)
// in the middle of a stream of broadcasts from a Go server and starts it
// again: the clients of another Go server and of a Node server get every
// broadcast, in order, once (Node's own adapter loses the one in flight when
// Redis stops; ours finds the entries a lost round trip added). Without persistence, the entries Redis acknowledged and
// not every reader had read yet die with it, whatever the adapter.
func TestRedisRestart(t *testing.T) {
	r := redistest.StartPersistent(t)
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c := serverConfig{key: testKey(), addr: r.Addr(), logger: logger}
	a := newGoServer(t, "go-a", c)
	b := newGoServer(t, "go-b", c)
	members := []member{b}
	if os.Getenv("SOCKETIO_SKIP_NODE") != "1" || exec.Command("node", "--version").Run() == nil {
		members = append(members, newNodeServer(t, "node-c", serverConfig{key: c.key, addr: r.Addr()}))
	}
	var clients []*clustertest.Client
	for _, m := range members {
		clients = append(clients, clustertest.Dial(t, m.url(), "on-"+m.name(), false))
	}
	ra := a.adapter()
	clustertest.Eventually(t, "all servers counted", func() bool {
		n, err := ra.ServerCount(context.Background())
		return err == nil && n == 1+len(members)
	})

	var sent atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			if err := a.Srv.Emit("tick", i); err != nil {
				t.Errorf("emit %d: %v", i, err)
			}
			sent.Add(1)
		}
	}()
	var stopOnce sync.Once
	stopTicks := func() { stopOnce.Do(func() { close(stop); <-done }) }
	defer stopTicks()

	time.Sleep(200 * time.Millisecond)
	r.Stop()
	outage := time.Now()
	time.Sleep(1500 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	_, err := a.Srv.FetchSockets(ctx)
	cancel()
	if !errors.Is(err, redisstreamsadapter.ErrUnavailable) {
		t.Errorf("FetchSockets during the outage: %v", err)
	}
	queued := ra.OutboxStats()
	backlog := sent.Load()
	r.Start()
	restarted := time.Now()
	deadline := time.Now().Add(4 * wait)
	for _, cl := range clients {
		for {
			got := cl.Numbers("tick")
			if len(got) > 0 && int64(got[len(got)-1]) >= backlog-1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d ticks of %d, %v after Redis came back\n%s", cl.Name, len(got), backlog, 4*wait, logs.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	full := time.Since(restarted)
	time.Sleep(100 * time.Millisecond)
	stopTicks()
	total := int(sent.Load())
	repeats := map[string]int{}
	for _, cl := range clients {
		clustertest.Eventually(t, cl.Name+" has every tick", func() bool {
			got := cl.Numbers("tick")
			return len(got) > 0 && got[len(got)-1] == total-1
		})
		n, err := clustertest.CheckSequence(cl.Numbers("tick"), total)
		if err != nil {
			t.Fatalf("%s: %v", cl.Name, err)
		}
		repeats[cl.Name] = n
		if n != 0 {
			t.Errorf("%s got %d broadcasts twice: Redis kept them, and they were added again", cl.Name, n)
		}
	}
	t.Logf("outage %v, %d entries (%d B) queued at its end; all %d broadcasts reached %d servers in order, none twice (%v); full service %v after Redis restarted",
		restarted.Sub(outage).Round(time.Millisecond), queued.Queued, queued.QueuedBytes, total, len(clients), repeats, full.Round(time.Millisecond))
	if st := ra.OutboxStats(); st.Expired+st.Overflowed+st.Abandoned != 0 || st.Queued != 0 {
		t.Errorf("outbox after the restart: %+v", st)
	}
}

// TestNodeInterop runs the cluster operations between a Go and a Node
// server on one stream, both ways.
func TestNodeInterop(t *testing.T) {
	c := serverConfig{key: testKey()}
	g := newGoServer(t, "go", c)
	n := newNodeServer(t, "node", c)
	gc := clustertest.Dial(t, g.url(), "gc", false)
	nc := clustertest.Dial(t, n.url(), "nc", false)
	gc.Join(t, "r")
	nc.Join(t, "r")
	nc.Join(t, "only-node")
	clustertest.Eventually(t, "2 servers", func() bool {
		k, err := g.adapter().ServerCount(context.Background())
		return err == nil && k == 2
	})
	for _, dir := range []struct {
		from member
		to   *clustertest.Client
	}{{g, nc}, {n, gc}} {
		t.Run(dir.from.name(), func(t *testing.T) {
			dir.from.emit(t, nil, nil, "all", 1, "two", map[string]any{"x": 3.0})
			if got := dir.to.WaitFor(t, "all"); !reflect.DeepEqual(got[:3], []any{1.0, "two", map[string]any{"x": 3.0}}) {
				t.Errorf("got %v", got)
			}
			dir.from.emit(t, []string{"r"}, nil, "room", []byte{1, 2, 3})
			if got := dir.to.WaitFor(t, "room"); !reflect.DeepEqual(got[0], []byte{1, 2, 3}) {
				t.Errorf("got %v", got)
			}
		})
	}
	// the offsets both servers give are the stream's entry ids
	g.emit(t, nil, nil, "offset")
	og, on := gc.WaitFor(t, "offset"), nc.WaitFor(t, "offset")
	if len(og) != 1 || !reflect.DeepEqual(og, on) {
		t.Errorf("offsets %v on Go, %v on Node", og, on)
	}

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	socks, err := g.Srv.In("only-node").FetchSockets(ctx)
	if err != nil || len(socks) != 1 || socks[0].ID != nc.ID() {
		t.Errorf("FetchSockets: %v, %v", socks, err)
	}
	answers, err := g.Srv.ServerSideEmitWithAck(ctx, "ping-servers", 1)
	if err != nil || len(answers) != 1 {
		t.Errorf("ServerSideEmitWithAck: %v, %v", answers, err)
	}
	if got := n.call(t, map[string]any{"op": "serverSideEmitWithAck", "nsp": "/", "event": "ping-servers", "args": []any{2}}); !reflect.DeepEqual(got, []any{map[string]any{"server": "go", "data": 2.0}}) {
		t.Errorf("Node's serverSideEmitWithAck: %v", got)
	}
	if got, _ := n.call(t, map[string]any{"op": "fetchSockets", "nsp": "/"}).([]any); len(got) != 2 {
		t.Errorf("Node's fetchSockets: %d sockets", len(got))
	}
	if err := g.Srv.In(nc.ID()).SocketsJoin("joined"); err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, "the Node socket joined", func() bool {
		rooms, _ := n.call(t, map[string]any{"op": "socketRooms", "nsp": "/", "id": nc.ID()}).([]any)
		return slices.Contains(rooms, any("joined"))
	})
	n.call(t, map[string]any{"op": "socketsJoin", "nsp": "/", "rooms": []string{gc.ID()}, "join": []string{"from-node"}})
	clustertest.Eventually(t, "the Go socket joined", func() bool {
		s := g.Srv.Of("/").Socket(gc.ID())
		return s != nil && slices.Contains(s.Rooms(), "from-node")
	})
	acks, err := g.Srv.Timeout(2*time.Second).EmitWithAck(ctx, "ask", 7)
	if err != nil || len(acks) != 2 {
		t.Errorf("EmitWithAck: %d answers, %v", len(acks), err)
	}
}
