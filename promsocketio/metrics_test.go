package promsocketio_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/internal/redistest"
	"github.com/socketio-go/socketio/internal/websocket"
	"github.com/socketio-go/socketio/promsocketio"
	"github.com/socketio-go/socketio/redisadapter"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 10 * time.Second

// scrape reads /metrics over HTTP, as Prometheus does.
type scrape map[string]*dto.MetricFamily

func getMetrics(t *testing.T, url string) scrape {
	t.Helper()
	res, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// value returns the metric's value (a histogram's sample count) for the
// labels given as name=value pairs; -1 when it is absent.
func (s scrape) value(name string, labels ...string) float64 {
	mf := s[name]
	if mf == nil {
		return -1
	}
next:
	for _, m := range mf.Metric {
		for _, l := range labels {
			k, v, _ := strings.Cut(l, "=")
			found := false
			for _, lp := range m.Label {
				if lp.GetName() == k && lp.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// eventually polls cond until it holds or the deadline passes (the server
// sees a client leave after the client does).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, wait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type fixture struct {
	srv   *socketio.Server
	m     *promsocketio.Metrics
	url   string
	asked chan error
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{asked: make(chan error, 4)}
	f.srv = socketio.NewServer(&socketio.Options{
		Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
		DisableServeClient: true,
		Engine:             engineio.Options{MaxBufferedBytes: 64 << 10},
	})
	f.m = promsocketio.Instrument(f.srv, nil)
	reg := prometheus.NewRegistry()
	reg.MustRegister(f.m)
	srv := f.srv
	srv.Of("/chat").Use(func(s *socketio.Socket) error {
		if s.Handshake().Auth["token"] != "ok" {
			return errors.New("not allowed")
		}
		return nil
	})
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("echo", func(v string, ack func(string)) { ack(v) })
		s.On("shout", func(v string) { _ = srv.Emit("news", v) })
		s.On("askme", func(ack func()) {
			_ = s.Emit("question", func(answer string) { f.asked <- nil })
			ack()
		})
		s.On("ignoreme", func(ack func()) {
			_ = s.Timeout(100*time.Millisecond).Emit("silent", func(err error) { f.asked <- err })
			ack()
		})
		s.On("flood", func() {
			blob := strings.Repeat("x", 32<<10)
			for range 1000 {
				if s.Emit("blob", blob) != nil {
					return
				}
			}
		})
	})
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
	})
	f.url = ts.URL
	return f
}

func connect(t *testing.T, url string, opts *client.Options) *client.Socket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := client.Connect(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Disconnect)
	return c
}

// TestMetrics runs a scripted scenario against an instrumented server and
// checks every metric, scraped over HTTP.
func TestMetrics(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()

	// A connects over long-polling and upgrades; B over WebSocket only.
	upgraded := make(chan struct{})
	a, err := client.NewSocket(f.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Manager().OnUpgrade(func(string) { close(upgraded) })
	news := make(chan string, 4)
	a.On("news", func(v string) { news <- "a:" + v })
	a.On("question", func(ack func(string)) { ack("forty-two") })
	a.Connect()
	t.Cleanup(a.Disconnect)
	b := connect(t, f.url, &client.Options{Transports: []string{"websocket"}})
	b.On("news", func(v string) { news <- "b:" + v })
	select {
	case <-upgraded:
	case <-ctx.Done():
		t.Fatal("A did not upgrade")
	}

	for i := range 3 {
		if _, err := a.EmitWithAck(ctx, "echo", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Emit("shout", "hello"); err != nil {
		t.Fatal(err)
	}
	got := []string{<-news, <-news}
	sort.Strings(got)
	if got[0] != "a:hello" || got[1] != "b:hello" {
		t.Fatalf("news: %v", got)
	}
	if _, err := a.EmitWithAck(ctx, "askme"); err != nil {
		t.Fatal(err)
	}
	if err := <-f.asked; err != nil {
		t.Fatalf("question: %v", err)
	}
	if _, err := b.EmitWithAck(ctx, "ignoreme"); err != nil {
		t.Fatal(err)
	}
	if err := <-f.asked; !errors.Is(err, socketio.ErrTimeout) {
		t.Fatalf("silent: %v, want a timeout", err)
	}

	// C is refused by /chat's middleware.
	c, err := client.Connect(ctx, f.url+"/chat", &client.Options{Transports: []string{"websocket"}})
	if err == nil {
		c.Disconnect()
		t.Fatal("C connected to /chat")
	}

	// Requests the Engine.IO layer refuses: codes 0, 1 and 5.
	for _, q := range []string{"EIO=4&transport=carrier-pigeon", "EIO=4&transport=polling&sid=nope", "EIO=3&transport=polling"} {
		res, err := http.Get(f.url + "/socket.io/?" + q)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}

	// A long-polling session with no GET waiting: a volatile emit to it is
	// dropped.
	sid := rawPolling(t, f.url)
	_ = f.srv.To(sid).Volatile().Emit("tick")

	// A WebSocket client that stops reading is closed once its queue is
	// over MaxBufferedBytes.
	slowConsumer(t, f.url)

	s := getMetrics(t, f.url)
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"socketio_sockets_connected", []string{"namespace=/"}, 3}, // a, b, the raw polling socket
		{"socketio_sockets_connected", []string{"namespace=/chat"}, 0},
		{"socketio_connections_total", []string{"namespace=/"}, 4},
		{"socketio_connections_total", []string{"namespace=/chat"}, 0},
		{"socketio_connect_errors_total", []string{"namespace=/chat"}, 1},
		{"socketio_disconnections_total", []string{"namespace=/", "reason=transport error"}, 1},
		{"socketio_events_received_total", []string{"namespace=/"}, 3 + 1 + 1 + 1 + 1}, // echo×3, shout, askme, ignoreme, flood
		{"socketio_broadcasts_total", []string{"namespace=/"}, 2},                      // shout, tick
		{"socketio_broadcast_deliveries_total", []string{"namespace=/"}, 3},            // news to a and b, tick
		{"socketio_ack_duration_seconds", []string{"namespace=/"}, 1},
		{"socketio_ack_timeouts_total", []string{"namespace=/"}, 1},
		{"socketio_engine_connections", []string{"transport=websocket"}, 2}, // a, b (the slow one closed)
		{"socketio_engine_connections", []string{"transport=polling"}, 1},
		{"socketio_engine_upgrades_total", nil, 1},
		{"socketio_engine_dropped_packets_total", nil, 1},
		{"socketio_engine_slow_consumer_closes_total", nil, 1},
		{"socketio_engine_disconnections_total", []string{"reason=transport error"}, 1},
		{"socketio_handshake_errors_total", []string{"code=0"}, 1},
		{"socketio_handshake_errors_total", []string{"code=1"}, 1},
		{"socketio_handshake_errors_total", []string{"code=5"}, 1},
		{"socketio_handshake_errors_total", []string{"code=3"}, 0},
	}
	for _, c := range checks {
		if got := s.value(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// Engine.IO connections: a (polling), raw polling; b (with C
	// multiplexed on it), the slow one (websocket).
	if got := s.value("socketio_engine_connections_total", "transport=polling"); got != 2 {
		t.Errorf("engine_connections_total{polling} = %v, want 2", got)
	}
	if got := s.value("socketio_engine_connections_total", "transport=websocket"); got != 2 {
		t.Errorf("engine_connections_total{websocket} = %v, want 2", got)
	}
	// Events sent: news ×2, tick, question, silent, and the slow client's
	// blobs (one or more before the close).
	if got := s.value("socketio_events_sent_total", "namespace=/"); got < 6 {
		t.Errorf("events_sent_total = %v, want at least 6", got)
	}
	for _, n := range []string{"socketio_engine_received_packets_total", "socketio_engine_received_bytes_total", "socketio_engine_sent_packets_total", "socketio_engine_sent_bytes_total"} {
		if got := s.value(n); got <= 0 {
			t.Errorf("%s = %v", n, got)
		}
	}
	if got := s.value("socketio_engine_sent_bytes_total"); got < 32<<10 {
		t.Errorf("sent bytes %v: the blobs are missing", got)
	}

	// Disconnections by reason.
	a.Disconnect()
	b.Disconnect()
	eventually(t, "a and b gone", func() bool {
		return getMetrics(t, f.url).value("socketio_disconnections_total", "namespace=/", "reason=client namespace disconnect") == 2
	})
	s = getMetrics(t, f.url)
	if got := s.value("socketio_sockets_connected", "namespace=/"); got != 1 {
		t.Errorf("sockets_connected after = %v, want 1", got)
	}

	problems, err := testutil.CollectAndLint(f.m)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// TestBytes checks the byte counts on a long-polling session whose every
// packet the test reads.
func TestBytes(t *testing.T) {
	f := newFixture(t)
	_, open, connect := rawPollingBodies(t, f.url)
	s := getMetrics(t, f.url)
	// Sent: the open packet and the CONNECT answer, without their type
	// character; received: the CONNECT ("0").
	if got, want := s.value("socketio_engine_sent_bytes_total"), float64(len(open)-1+len(connect)-1); got != want {
		t.Errorf("sent bytes %v, want %v", got, want)
	}
	if got := s.value("socketio_engine_sent_packets_total"); got != 2 {
		t.Errorf("sent packets %v, want 2", got)
	}
	if got := s.value("socketio_engine_received_bytes_total"); got != 1 {
		t.Errorf("received bytes %v, want 1", got)
	}
	if got := s.value("socketio_engine_received_packets_total"); got != 1 {
		t.Errorf("received packets %v, want 1", got)
	}
}

// TestPedantic registers the collector in a pedantic registry, which checks
// what Collect gives against what Describe announced.
func TestPedantic(t *testing.T) {
	srv := socketio.NewServer(&socketio.Options{DisableServeClient: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer srv.Close()
	m := promsocketio.Instrument(srv, &promsocketio.Options{ConstLabels: prometheus.Labels{"server": "a"}})
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(m); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
}

func rawPolling(t *testing.T, url string) string {
	sid, _, _ := rawPollingBodies(t, url)
	return sid
}

// rawPollingBodies opens a long-polling session by hand, joins "/", and
// returns the socket id and the two bodies the server answered. No GET
// waits afterwards.
func rawPollingBodies(t *testing.T, url string) (sid, open, connect string) {
	t.Helper()
	get := func(q string) string {
		res, err := http.Get(url + "/socket.io/?EIO=4&transport=polling" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	open = get("")
	i := strings.Index(open, `"sid":"`)
	if !strings.HasPrefix(open, "0{") || i < 0 {
		t.Fatalf("open: %q", open)
	}
	esid := open[i+7 : i+7+20]
	res, err := http.Post(url+"/socket.io/?EIO=4&transport=polling&sid="+esid, "text/plain;charset=UTF-8", strings.NewReader("40"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	connect = get("&sid=" + esid)
	j := strings.Index(connect, `"sid":"`)
	if !strings.HasPrefix(connect, "40{") || j < 0 {
		t.Fatalf("connect: %q", connect)
	}
	return connect[j+7 : j+7+20], open, connect
}

// slowConsumer connects over WebSocket, asks for a flood and never reads:
// the server closes the connection (slow consumer).
func slowConsumer(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close(websocket.CloseNormal, "")
	if _, _, err := ws.ReadMessage(); err != nil { // open
		t.Fatal(err)
	}
	if err := ws.WriteMessage(websocket.OpText, []byte("40")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ws.ReadMessage(); err != nil { // CONNECT answer
		t.Fatal(err)
	}
	if err := ws.WriteMessage(websocket.OpText, []byte(`42["flood"]`)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "slow consumer closed", func() bool {
		return getMetrics(t, url).value("socketio_engine_slow_consumer_closes_total") == 1
	})
}

// outboxAdapter is a Memory adapter that reports an outbox, as the Redis
// adapters do.
type outboxAdapter struct {
	*adapter.Memory
	stats adapter.OutboxStats
}

func (a *outboxAdapter) OutboxStats() adapter.OutboxStats { return a.stats }

// TestAdapterMetrics checks the outbox metrics, read from the adapters at
// scrape time.
func TestAdapterMetrics(t *testing.T) {
	srv := socketio.NewServer(&socketio.Options{
		DisableServeClient: true,
		Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
		Adapter: func(nsp adapter.Namespace) adapter.Adapter {
			a := &outboxAdapter{Memory: adapter.NewMemory(nsp, nil)}
			if nsp.Name() == "/chat" {
				a.stats = adapter.OutboxStats{Queued: 3, QueuedBytes: 300, Published: 10, Overflowed: 1, Expired: 2, Abandoned: 4, Down: true}
			} else {
				a.stats = adapter.OutboxStats{Published: 7}
			}
			return a
		},
	})
	defer srv.Close()
	srv.Of("/chat")
	reg := prometheus.NewRegistry()
	reg.MustRegister(promsocketio.Instrument(srv, nil))
	ts := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer ts.Close()
	res, err := http.Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	s := scrape(mfs)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"socketio_adapter_outbox_messages", []string{"namespace=/chat"}, 3},
		{"socketio_adapter_outbox_bytes", []string{"namespace=/chat"}, 300},
		{"socketio_adapter_broker_up", []string{"namespace=/chat"}, 0},
		{"socketio_adapter_broker_up", []string{"namespace=/"}, 1},
		{"socketio_adapter_published_total", []string{"namespace=/chat"}, 10},
		{"socketio_adapter_published_total", []string{"namespace=/"}, 7},
		{"socketio_adapter_publish_errors_total", []string{"namespace=/chat", "reason=overflow"}, 1},
		{"socketio_adapter_publish_errors_total", []string{"namespace=/chat", "reason=expired"}, 2},
		{"socketio_adapter_publish_errors_total", []string{"namespace=/chat", "reason=abandoned"}, 4},
		{"socketio_adapter_outbox_messages", []string{"namespace=/"}, 0},
	} {
		if got := s.value(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// TestRedisAdapterMetrics reads the outbox of the real Redis adapter: a
// broadcast is published.
func TestRedisAdapterMetrics(t *testing.T) {
	addr := redistest.Addr()
	redistest.Need(t, addr)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	srv := socketio.NewServer(&socketio.Options{
		DisableServeClient: true,
		Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
		Adapter:            redisadapter.New(rdb, &redisadapter.Options{Key: redistest.Key("promsocketio")}),
	})
	defer srv.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(promsocketio.Instrument(srv, nil))
	ts := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer ts.Close()
	read := func() scrape {
		res, err := http.Get(ts.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		p := expfmt.NewTextParser(model.UTF8Validation)
		mfs, err := p.TextToMetricFamilies(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return mfs
	}
	if err := srv.Emit("hello", "cluster"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the broadcast published", func() bool {
		return read().value("socketio_adapter_published_total", "namespace=/") >= 1
	})
	s := read()
	if got := s.value("socketio_adapter_broker_up", "namespace=/"); got != 1 {
		t.Errorf("broker_up %v", got)
	}
	if got := s.value("socketio_adapter_outbox_messages", "namespace=/"); got != 0 {
		t.Errorf("outbox_messages %v", got)
	}
	if got := s.value("socketio_broadcasts_total", "namespace=/"); got != 1 {
		t.Errorf("broadcasts %v", got)
	}
}
