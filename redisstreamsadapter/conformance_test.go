package redisstreamsadapter_test

import (
	"testing"
	"time"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/internal/clustertest"
	"github.com/socketio-go/socketio/internal/redistest"
	"github.com/socketio-go/socketio/redisstreamsadapter"
)

// TestConformance runs the shared cross-server suite on a Redis of its own
// (killed and restarted in the broker case). It is persistent: a Redis
// without persistence loses with a kill the entries it acknowledged and
// not every reader had read yet, whatever the adapter (seen in CI: the
// tick added just before the kill); with it, nothing may be lost.
func TestConformance(t *testing.T) {
	r := redistest.StartPersistent(t)
	key := testKey()
	clustertest.Run(t, clustertest.Config{
		NewAdapter: func(t *testing.T) func(adapter.Namespace) adapter.Adapter {
			return redisstreamsadapter.New(newClient(t, r.Addr()), &redisstreamsadapter.Options{StreamName: key, ChannelPrefix: key, Logger: quiet, BlockTime: time.Second})
		},
		Recovery: true,
		Restart: func(t *testing.T) {
			r.Stop()
			time.Sleep(200 * time.Millisecond)
			r.Start()
		},
	})
}
