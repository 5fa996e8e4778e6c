//go:build linux

// Command clusterbench measures cross-server broadcasts of Socket.IO
// clusters: on one Redis, the Go Redis pub/sub and Redis Streams adapters
// and Node's @socket.io/redis-adapter and @socket.io/redis-streams-adapter
// (redisadapter/nodecluster, installed by make deps-test); on one
// PostgreSQL, the Go Postgres adapter and Node's @socket.io/postgres-adapter
// (postgresadapter/nodecluster); on one NATS, the Go NATS adapter; in the
// same run, alternately.
//
//	go run ./cmd/clusterbench                       # every target, 1000 and 4000 msgs/s, 3 rounds
//	go run ./cmd/clusterbench -targets go-streams,node-streams -rates 2000 -rounds 5
//
// For each target it starts two server processes A and B (Go: this command
// with -serve; Node: nodecluster/server.mjs), connects one sender to A and
// -receivers clients to B, and for -duration has the sender ask A, at a
// fixed rate, to broadcast a timestamped event to every socket of the
// namespace (event "relay": A calls io.emit / srv.Emit). It reports what
// reached B's clients: delivered messages per second, the share delivered,
// and the latency from the sender's emit to a receiver on B (p50, p99,
// max), all on one machine clock. The streams targets run with connection
// state recovery on (Node's streams test server has it), so their events
// carry offsets; the pub/sub targets run without.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/natsadapter"
	"github.com/socketio-go/socketio/postgresadapter"
	"github.com/socketio-go/socketio/redisadapter"
	"github.com/socketio-go/socketio/redisstreamsadapter"
)

var allTargets = []string{"go-redis", "node-redis", "go-streams", "node-streams", "go-postgres", "node-postgres", "go-nats"}

func main() {
	serve := flag.Bool("serve", false, "run one Go server (used by the benchmark itself)")
	adapterName := flag.String("adapter", "redis", "with -serve: redis, streams, postgres or nats")
	redisAddr := flag.String("redis", "127.0.0.1:6379", "Redis address")
	pgURL := flag.String("postgres", "postgres://postgres@127.0.0.1:5432/test", "PostgreSQL URL (postgres targets)")
	natsURL := flag.String("nats", "nats://127.0.0.1:4222", "NATS URL, with JetStream (nats targets)")
	pgNodeDir := flag.String("pg-node-dir", "postgresadapter/nodecluster", "the Node Postgres servers' folder")
	key := flag.String("key", "", "with -serve: channel prefix / stream name")
	targets := flag.String("targets", strings.Join(allTargets, ","), "targets, comma-separated: "+strings.Join(allTargets, ", "))
	rates := flag.String("rates", "1000,4000", "sender rates to measure, messages/s, comma-separated")
	receivers := flag.Int("receivers", 10, "clients on server B")
	duration := flag.Duration("duration", 5*time.Second, "measured time per run")
	rounds := flag.Int("rounds", 3, "runs per target and rate (medians are reported)")
	nodeDir := flag.String("node-dir", "redisadapter/nodecluster", "the Node servers' folder")
	flag.Parse()

	if *serve {
		runServer(*adapterName, *redisAddr, *pgURL, *natsURL, *key)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var rateList []int
	for _, r := range strings.Split(*rates, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil || n <= 0 {
			log.Fatalf("-rates: %q", r)
		}
		rateList = append(rateList, n)
	}
	tl := strings.Split(*targets, ",")
	for _, t := range tl {
		if !slices.Contains(allTargets, t) {
			log.Fatalf("-targets: unknown %q", t)
		}
	}
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	dir, _ := filepath.Abs(*nodeDir)
	pgDir, _ := filepath.Abs(*pgNodeDir)
	b := &bench{redis: *redisAddr, pg: *pgURL, nats: *natsURL, self: self, nodeDir: dir, pgNodeDir: pgDir, receivers: *receivers, duration: *duration}
	if slices.ContainsFunc(tl, func(t string) bool { return strings.HasSuffix(t, "-postgres") }) {
		// Node's adapter does not create its attachments table.
		pool, err := pgxpool.New(ctx, *pgURL)
		if err == nil {
			_, err = pool.Exec(ctx, "CREATE TABLE IF NOT EXISTS socket_io_attachments (id bigserial UNIQUE, created_at timestamptz DEFAULT NOW(), payload bytea)")
			pool.Close()
		}
		if err != nil {
			log.Fatalf("PostgreSQL at %s: %v", *pgURL, err)
		}
	}

	type cell struct {
		target string
		rate   int
	}
	results := map[cell][]result{}
	for round := 1; round <= *rounds; round++ {
		for _, rate := range rateList {
			for _, t := range tl {
				if ctx.Err() != nil {
					return
				}
				r, err := b.run(ctx, t, rate)
				if err != nil {
					log.Printf("%s at %d/s, round %d: %v", t, rate, round, err)
					continue
				}
				log.Printf("%s at %d/s, round %d: %s", t, rate, round, r)
				results[cell{t, rate}] = append(results[cell{t, rate}], r)
			}
		}
	}
	fmt.Printf("\nCross-server broadcast, %d receivers on server B, %v per run, median of %d runs (Redis %s)\n\n", *receivers, *duration, *rounds, *redisAddr)
	fmt.Println("| target | sent/s | delivered/s on B | delivered | p50 | p99 | max |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	for _, rate := range rateList {
		for _, t := range tl {
			rs := results[cell{t, rate}]
			if len(rs) == 0 {
				fmt.Printf("| %s | %d | failed | | | | |\n", t, rate)
				continue
			}
			m := median(rs)
			fmt.Printf("| %s | %d | %.0f | %.2f%% | %v | %v | %v |\n", t, rate, m.perSec, 100*m.share, m.p50, m.p99, m.max)
		}
	}
}

// result is one run's numbers.
type result struct {
	perSec        float64 // messages delivered to B's clients per second
	share         float64 // delivered / (sent × receivers)
	p50, p99, max time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("%.0f delivered/s (%.2f%%), p50 %v, p99 %v, max %v", r.perSec, 100*r.share, r.p50, r.p99, r.max)
}

// median takes each number's median over the runs.
func median(rs []result) result {
	pick := func(f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return result{
		perSec: pick(func(r result) float64 { return r.perSec }),
		share:  pick(func(r result) float64 { return r.share }),
		p50:    time.Duration(pick(func(r result) float64 { return float64(r.p50) })),
		p99:    time.Duration(pick(func(r result) float64 { return float64(r.p99) })),
		max:    time.Duration(pick(func(r result) float64 { return float64(r.max) })),
	}
}

type bench struct {
	redis, pg, nats, self, nodeDir, pgNodeDir string
	receivers                                 int
	duration                                  time.Duration
}

// payload is the benchmark event's argument.
type payload struct {
	T   int64 `json:"t"` // UnixNano at the sender
	Seq int   `json:"seq"`
}

func (b *bench) run(ctx context.Context, target string, rate int) (result, error) {
	kb := make([]byte, 6)
	_, _ = rand.Read(kb)
	key := "sio-bench-" + hex.EncodeToString(kb)
	a, err := b.start(target, key)
	if err != nil {
		return result{}, err
	}
	defer a.stop()
	s, err := b.start(target, key)
	if err != nil {
		return result{}, err
	}
	defer s.stop()

	dial := func(addr string) (*client.Socket, error) {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return client.Connect(cctx, "http://"+addr, &client.Options{ForceNew: true, Transports: []string{"websocket"}, DisableReconnection: true})
	}
	sender, err := dial(a.addr)
	if err != nil {
		return result{}, err
	}
	defer sender.Manager().Close()
	var mu sync.Mutex
	var lat []time.Duration
	warm := make(chan struct{}, 1)
	for range b.receivers {
		c, err := dial(s.addr)
		if err != nil {
			return result{}, err
		}
		defer c.Manager().Close()
		c.On("bench", func(p payload) {
			d := time.Since(time.Unix(0, p.T))
			if p.Seq < 0 {
				select {
				case warm <- struct{}{}:
				default:
				}
				return
			}
			mu.Lock()
			lat = append(lat, d)
			mu.Unlock()
		})
	}
	// warm-up: until B relays A's broadcasts (both subscribed, streams read)
	deadline := time.Now().Add(15 * time.Second)
	for ok := false; !ok; {
		if time.Now().After(deadline) {
			return result{}, errors.New("B never got A's broadcast")
		}
		_ = sender.Emit("relay", "bench", payload{T: time.Now().UnixNano(), Seq: -1})
		select {
		case <-warm:
			ok = true
		case <-time.After(100 * time.Millisecond):
		}
	}
	time.Sleep(500 * time.Millisecond)
	mu.Lock()
	lat = lat[:0]
	mu.Unlock()

	interval := time.Second / time.Duration(rate)
	start := time.Now()
	sent := 0
	for time.Since(start) < b.duration && ctx.Err() == nil {
		// send what is due now (timers are coarser than the interval)
		due := int(time.Since(start)/interval) + 1
		for ; sent < due; sent++ {
			if err := sender.Emit("relay", "bench", payload{T: time.Now().UnixNano(), Seq: sent}); err != nil {
				return result{}, err
			}
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	// let the tail arrive
	want := sent * b.receivers
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := len(lat)
		mu.Unlock()
		if n >= want {
			break
		}
	}
	mu.Lock()
	got := slices.Clone(lat)
	mu.Unlock()
	if len(got) == 0 {
		return result{}, errors.New("nothing delivered")
	}
	slices.Sort(got)
	q := func(p float64) time.Duration {
		return got[min(len(got)-1, int(p*float64(len(got))))].Round(10 * time.Microsecond)
	}
	return result{
		perSec: float64(len(got)) / elapsed.Seconds(),
		share:  float64(len(got)) / float64(want),
		p50:    q(0.50),
		p99:    q(0.99),
		max:    got[len(got)-1].Round(10 * time.Microsecond),
	}, nil
}

// proc is a server process.
type proc struct {
	cmd  *exec.Cmd
	addr string
}

func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

func (b *bench) start(target, key string) (*proc, error) {
	var cmd *exec.Cmd
	switch target {
	case "go-redis", "go-streams", "go-postgres", "go-nats":
		cmd = exec.Command(b.self, "-serve", "-adapter", strings.TrimPrefix(target, "go-"), "-redis", b.redis, "-postgres", b.pg, "-nats", b.nats, "-key", key)
	case "node-postgres":
		cmd = exec.Command("node", "server.mjs")
		cmd.Dir = b.pgNodeDir
		cmd.Env = append(os.Environ(), "PORT=0", "PG_URL="+b.pg, "PREFIX="+key)
	default:
		mode := "classic"
		if target == "node-streams" {
			mode = "streams"
		}
		cmd = exec.Command("node", "server.mjs")
		cmd.Dir = b.nodeDir
		cmd.Env = append(os.Environ(), "PORT=0", "REDIS_URL=redis://"+b.redis, "KEY="+key, "MODE="+mode)
	}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, out)
	}()
	p := &proc{cmd: cmd}
	select {
	case l := <-lines:
		port, ok := strings.CutPrefix(l, "listening ")
		if !ok {
			p.stop()
			return nil, fmt.Errorf("%s did not start: %q", target, l)
		}
		p.addr = "127.0.0.1:" + port
		return p, nil
	case <-time.After(30 * time.Second):
		p.stop()
		return nil, fmt.Errorf("%s did not start in time", target)
	}
}

// runServer is one Go server of the benchmark: "relay"(event, arg) makes it
// broadcast event(arg) to every socket of the namespace.
func runServer(adapterName, redisAddr, pgURL, natsURL, key string) {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	opts := &socketio.Options{Logger: logger, DisableServeClient: true, Engine: engineio.Options{Transports: []string{"websocket"}}}
	switch adapterName {
	case "postgres":
		pool, err := pgxpool.New(context.Background(), pgURL)
		if err != nil {
			log.Fatal(err)
		}
		defer pool.Close()
		opts.Adapter = postgresadapter.New(pool, &postgresadapter.Options{ChannelPrefix: key, Logger: logger})
	case "nats":
		nc, err := nats.Connect(natsURL, nats.MaxReconnects(-1))
		if err != nil {
			log.Fatal(err)
		}
		defer nc.Close()
		opts.Adapter = natsadapter.New(nc, &natsadapter.Options{SubjectPrefix: key, Logger: logger})
	case "redis":
		opts.Adapter = redisadapter.New(rdb, &redisadapter.Options{Key: key, Logger: logger})
	case "streams":
		opts.Adapter = redisstreamsadapter.New(rdb, &redisstreamsadapter.Options{StreamName: key, ChannelPrefix: key, Logger: logger})
		opts.ConnectionStateRecovery = &socketio.RecoveryOptions{}
	default:
		log.Fatalf("-adapter %q", adapterName)
	}
	srv := socketio.NewServer(opts)
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("relay", func(ev string, arg json.RawMessage) { _ = srv.Emit(ev, arg) })
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening %d\n", ln.Addr().(*net.TCPAddr).Port)
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	_ = hs.Close()
	_ = rdb.Close()
}
