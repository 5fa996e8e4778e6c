package redisadapter_test

import (
	"testing"
	"time"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/internal/clustertest"
	"github.com/socketio-go/socketio/internal/redistest"
	"github.com/socketio-go/socketio/redisadapter"
)

// TestRedisCluster runs the shared cross-server suite for the sharded
// adapter on a real Redis Cluster (three masters of the test's own, go-redis
// ClusterClient: shard channels live on the masters owning their slots),
// the broker case restarting the master of the namespace's channel.
func TestRedisCluster(t *testing.T) {
	rc := redistest.StartCluster(t)
	key := testKey()
	clustertest.Run(t, clustertest.Config{
		NewAdapter: func(t *testing.T) func(adapter.Namespace) adapter.Adapter {
			return redisadapter.NewSharded(rc.Client(t), &redisadapter.Options{Key: key, Logger: quiet})
		},
		// The default (dynamic) mode subscribes to a room's channel when
		// the room is made: a broadcast to it is for the servers that
		// listen by then.
		Settle: func(t *testing.T, room string, servers int) {
			t.Helper()
			ch := key + "#/#" + room + "#"
			clustertest.Eventually(t, "servers listening to "+ch, func() bool { return rc.ShardSubscribers(t, ch) >= int64(servers) })
		},
		LossyRestart: true, // pub/sub, as in the single-node case
		Restart: func(t *testing.T) {
			i := rc.MasterOf(t, key+"#/#")
			rc.StopNode(i)
			time.Sleep(200 * time.Millisecond)
			rc.StartNode(i)
			rc.WaitOK()
		},
	})
}

// TestRedisClusterNode runs a Go server (ClusterClient) and a Node server
// (createShardedAdapter on a node-redis createCluster client) on a Redis
// Cluster: the server count, broadcasts and acknowledgements both ways,
// FetchSockets, server-side events with acknowledgements, then a restart of
// the master of the namespace's channel, after which Node's broadcasts
// reach Go's clients again.
func TestRedisClusterNode(t *testing.T) {
	needNode(t)
	rc := redistest.StartCluster(t)
	o := clusterOptions{sharded: true, key: testKey(), cluster: rc.Addrs()}
	g := newGoServer(t, "go", o)
	n := newNodeServer(t, "node", o)
	gc := clustertest.Dial(t, g.url(), "gc", false)
	nc := clustertest.Dial(t, n.url(), "nc", false)
	clustertest.Eventually(t, "2 servers", func() bool { return g.serverCount(t, "/") == 2 && n.serverCount(t, "/") == 2 })

	g.emit(t, sel{}, "from-go", 1, []byte{1})
	n.emit(t, sel{}, "from-node", 2)
	for _, c := range []*clustertest.Client{gc, nc} {
		c.WaitFor(t, "from-go")
		c.WaitFor(t, "from-node")
	}
	if resps, errMsg := g.emitWithAck(t, sel{}, 3*time.Second, "ask", 1); errMsg != "" || len(resps) != 2 {
		t.Errorf("Go emitWithAck: %v %s", resps, errMsg)
	}
	if resps, errMsg := n.emitWithAck(t, sel{}, 3*time.Second, "ask", 1); errMsg != "" || len(resps) != 2 {
		t.Errorf("Node emitWithAck: %v %s", resps, errMsg)
	}
	if socks := g.fetchSockets(t, sel{}); len(socks) != 2 {
		t.Errorf("Go fetchSockets: %v", socks)
	}
	if resps, err := n.serverSideEmitWithAck(t, "/", "ping-servers", 1); err != nil || len(resps) != 1 {
		t.Errorf("Node serverSideEmitWithAck: %v %v", resps, err)
	}

	// A restart of the master of the namespace's channel: Go's server
	// delivers every broadcast it made meanwhile to its own subscribers'
	// servers (TestRedisCluster); here both sides must work again after it
	// (Node's publisher drops what it sends while the master is down).
	m := rc.MasterOf(t, o.key+"#/#")
	rc.StopNode(m)
	time.Sleep(300 * time.Millisecond)
	rc.StartNode(m)
	rc.WaitOK()
	// Node's subscriber does not come back: node-redis 4.7 subscribes
	// again to all its shard channels on one connection, which the
	// cluster refuses (CROSSSLOT), so Go's broadcasts no longer reach Node's
	// clients; Go's subscriptions (one per slot) and Node's publisher do.
	k := 0
	clustertest.Eventually(t, "Node to Go after the restart", func() bool {
		k++
		n.emit(t, sel{}, "after-node", k)
		time.Sleep(50 * time.Millisecond)
		return len(gc.Numbers("after-node")) > 0
	})
}
