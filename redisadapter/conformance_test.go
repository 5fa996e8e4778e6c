package redisadapter_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/internal/clustertest"
	"github.com/socketio-go/socketio/redisadapter"
)

// TestConformance runs the shared cross-server suite for the classic and
// the sharded adapter, on a Redis of its own (restarted in the broker
// case). Connection state recovery is not supported (as with Node's).
func TestConformance(t *testing.T) {
	for _, sharded := range []bool{false, true} {
		name := "classic"
		if sharded {
			name = "sharded"
		}
		t.Run(name, func(t *testing.T) {
			r := startOwnRedis(t)
			o := clusterOptions{sharded: sharded, key: testKey(), addr: r.Addr()}
			rdb := redis.NewClient(&redis.Options{Addr: r.Addr(), MaxRetries: -1})
			t.Cleanup(func() { _ = rdb.Close() })
			clustertest.Run(t, clustertest.Config{
				NewAdapter: func(t *testing.T) func(adapter.Namespace) adapter.Adapter {
					c := redis.NewClient(&redis.Options{Addr: r.Addr(), MaxRetries: -1, DialTimeout: time.Second})
					t.Cleanup(func() { _ = c.Close() })
					ao := &redisadapter.Options{Key: o.key, Logger: quiet}
					if sharded {
						return redisadapter.NewSharded(c, ao)
					}
					return redisadapter.New(c, ao)
				},
				Settle: rdbSettler(rdb, o),
				// Redis is killed (SIGKILL): a PUBLISH it answered and had not
				// written to the subscribers yet is lost.
				LossyRestart: true,
				Restart: func(t *testing.T) {
					r.Stop()
					time.Sleep(200 * time.Millisecond)
					r.Start()
				},
			})
		})
	}
}
