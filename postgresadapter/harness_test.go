package postgresadapter_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/internal/pgtest"
	"github.com/socketio-go/socketio/postgresadapter"
)

// The tests run Go servers in-process and Node servers (npm socket.io
// 4.8.4 on @socket.io/postgres-adapter 0.5.0, pinned in
// postgresadapter/nodecluster) as child processes, on a real PostgreSQL
// (the test database, SOCKETIO_POSTGRES_URL or 127.0.0.1:5432/test; a
// server of their own for restarts). Each test uses a channel prefix and an
// attachments table of its own.

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 10 * time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// cluster is the configuration the servers of one test share.
type cluster struct {
	url    string
	prefix string
	table  string
}

func newCluster(t *testing.T, url string) cluster {
	if url == "" {
		url = pgtest.URL()
	}
	pgtest.Need(t, url)
	c := cluster{url: url, prefix: pgtest.Key("sio_pg_"), table: pgtest.Key("sio_att_")}
	t.Cleanup(func() {
		pool := pgtest.PoolNoCleanup(url)
		if pool != nil {
			pgtest.DropTable(pool, c.table)
			pool.Close()
		}
	})
	return c
}

func (c cluster) options(logger *slog.Logger) *postgresadapter.Options {
	if logger == nil {
		logger = quiet
	}
	return &postgresadapter.Options{ChannelPrefix: c.prefix, TableName: c.table, Logger: logger}
}

// factory is the adapter of one more Go server, on a pool of its own.
func (c cluster) factory(t *testing.T, logger *slog.Logger) func(adapter.Namespace) adapter.Adapter {
	return postgresadapter.New(pgtest.Pool(t, c.url), c.options(logger))
}
