package redistest

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// noMaint switches off go-redis's maintenance notifications, whose
// per-node circuit breakers outlive a ClusterClient's Close (and Redis 7.0
// has none to send).
var noMaint = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}

// Cluster is a Redis Cluster of the test's own: three masters without
// replicas on free ports of 127.0.0.1, each keeping its nodes.conf in the
// test's folder so that a master stopped and started again comes back
// with its slots.
type Cluster struct {
	t     testing.TB
	dir   string
	ports []string
	mu    sync.Mutex
	cmds  []*exec.Cmd // guarded by mu; nil while a node is stopped
}

// StartCluster starts the three masters and creates the cluster
// (redis-cli --cluster create), stopped at the end of the test.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is not on the PATH (install Debian's redis-server and redis-tools)", bin)
		}
	}
	c := &Cluster{t: t, dir: t.TempDir(), cmds: make([]*exec.Cmd, 3)}
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		ln.Close()
		c.ports = append(c.ports, port)
	}
	t.Cleanup(c.stopAll)
	for i := range c.ports {
		c.StartNode(i)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.WaitOK()
	return c
}

// Addrs are the masters' addresses.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.ports))
	for i, p := range c.ports {
		out[i] = "127.0.0.1:" + p
	}
	return out
}

// StartNode starts master i (again) and waits until it answers.
func (c *Cluster) StartNode(i int) {
	c.t.Helper()
	p := c.ports[i]
	cmd := exec.Command("redis-server", "--port", p, "--bind", "127.0.0.1", "--cluster-enabled", "yes",
		"--cluster-config-file", "nodes-"+p+".conf", "--cluster-node-timeout", "2000", "--dir", c.dir,
		"--save", "", "--appendonly", "no", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	c.cmds[i] = cmd
	c.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.Dial("tcp", "127.0.0.1:"+p)
		if err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("redis-server on %s did not start: %v", p, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// StopNode kills master i, as a crash would: its slots are unavailable
// until it is started again.
func (c *Cluster) StopNode(i int) {
	c.mu.Lock()
	cmd := c.cmds[i]
	c.cmds[i] = nil
	c.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
}

func (c *Cluster) stopAll() {
	for i := range c.ports {
		c.StopNode(i)
	}
}

// WaitOK waits until every master reports cluster_state:ok.
func (c *Cluster) WaitOK() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, addr := range c.Addrs() {
		rdb := redis.NewClient(&redis.Options{Addr: addr, MaintNotificationsConfig: noMaint})
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			info, err := rdb.ClusterInfo(ctx).Result()
			cancel()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				rdb.Close()
				c.t.Fatalf("Redis Cluster not ok on %s: %v %s", addr, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
		rdb.Close()
	}
}

// Client returns a cluster client, closed at the end of the test.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), DialTimeout: time.Second, MaxRetries: -1, MaintNotificationsConfig: noMaint})
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// MasterOf returns the index of the master that owns key's slot (a shard
// channel's, too).
func (c *Cluster) MasterOf(t testing.TB, key string) int {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: c.Addrs()[0], MaintNotificationsConfig: noMaint})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	slot, err := rdb.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	slots, err := rdb.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slots {
		if int64(s.Start) <= slot && slot <= int64(s.End) && len(s.Nodes) > 0 {
			for i, a := range c.Addrs() {
				if s.Nodes[0].Addr == a {
					return i
				}
			}
		}
	}
	t.Fatalf("no master owns slot %d", slot)
	return -1
}

// ShardSubscribers returns how many clients listen to the shard channel
// ch, asked of the master that owns its slot (PUBSUB SHARDNUMSUB counts
// only the node's own subscribers).
func (c *Cluster) ShardSubscribers(t testing.TB, ch string) int64 {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: c.Addrs()[c.MasterOf(t, ch)], MaintNotificationsConfig: noMaint})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := rdb.PubSubShardNumSub(ctx, ch).Result()
	if err != nil {
		return 0
	}
	return m[ch]
}
