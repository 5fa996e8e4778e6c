package postgresadapter_test

import (
	"testing"
	"time"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/internal/clustertest"
	"github.com/socketio-go/socketio/internal/pgtest"
)

// TestConformance runs the shared cross-server suite on a PostgreSQL of its
// own (restarted in the broker case). Connection state recovery across
// servers is not supported (as with Node's adapter).
func TestConformance(t *testing.T) {
	pg := pgtest.Start(t)
	c := newCluster(t, pg.URL())
	clustertest.Run(t, clustertest.Config{
		NewAdapter: func(t *testing.T) func(adapter.Namespace) adapter.Adapter { return c.factory(t, nil) },
		// PostgreSQL stops at once (SIGQUIT): a notification committed and
		// not yet sent to a listener is lost.
		LossyRestart: true,
		Restart: func(t *testing.T) {
			pg.Stop()
			time.Sleep(200 * time.Millisecond)
			pg.Start()
		},
	})
}
