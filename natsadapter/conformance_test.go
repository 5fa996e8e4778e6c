package natsadapter_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/internal/clustertest"
	"github.com/socketio-go/socketio/internal/natstest"
	"github.com/socketio-go/socketio/natsadapter"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func options(key string) *natsadapter.Options {
	return &natsadapter.Options{SubjectPrefix: key, Stream: key, Logger: quiet}
}

// TestConformance runs the shared cross-server suite on a nats-server of
// its own (restarted in the broker case: JetStream keeps what it stored),
// with connection state recovery across servers.
func TestConformance(t *testing.T) {
	s := natstest.Start(t)
	key := natstest.Key("sio_nats_")
	clustertest.Run(t, clustertest.Config{
		NewAdapter: func(t *testing.T) func(adapter.Namespace) adapter.Adapter {
			return natsadapter.New(natstest.Conn(t, s.URL()), options(key))
		},
		Recovery: true,
		Restart: func(t *testing.T) {
			s.Stop()
			time.Sleep(200 * time.Millisecond)
			s.Start()
		},
	})
}
