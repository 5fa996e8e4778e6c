//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// pollClient is an Engine.IO long-polling session: one goroutine keeps a
// GET pending (the reader), another sends what is queued on out as one
// POST at a time (Engine.IO servers reject overlapping POSTs), batching
// whatever queued up meanwhile with the 0x1e separator, as the JavaScript
// client does.
type pollClient struct {
	hc  *http.Client
	url string      // with the session id
	out chan []byte // Engine.IO packets to send
}

// newPollHTTPClient returns a client whose connections come from the
// source addresses in turn and whose responses are never compressed.
func newPollHTTPClient(cfg *config, conns int) *http.Client {
	ds := dialers(cfg.sources, cfg.dialTimeout)
	var next atomic.Uint32
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return ds[int(next.Add(1))%len(ds)].DialContext(ctx, network, addr)
		},
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr}
}

// pollDo sends one request and returns the body of a 200 response.
func pollDo(ctx context.Context, hc *http.Client, method, url string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d: %q", method, resp.StatusCode, bytes.TrimSpace(b))
	}
	return b, nil
}

// pollConnect opens a polling session and joins the main namespace.
func pollConnect(ctx context.Context, hc *http.Client, addr string) (*pollClient, error) {
	base := "http://" + addr + "/socket.io/?EIO=4&transport=polling"
	body, err := pollDo(ctx, hc, http.MethodGet, base, nil)
	if err != nil {
		return nil, err
	}
	_, rest, ok := bytes.Cut(body, []byte(`"sid":"`))
	sid, _, ok2 := bytes.Cut(rest, []byte(`"`))
	if len(body) == 0 || body[0] != '0' || !ok || !ok2 {
		return nil, fmt.Errorf("unexpected handshake %q", body)
	}
	pc := &pollClient{hc: hc, url: base + "&sid=" + string(sid), out: make(chan []byte, 64)}
	if _, err := pollDo(ctx, hc, http.MethodPost, pc.url, []byte("40")); err != nil {
		return nil, err
	}
	for {
		body, err := pollDo(ctx, hc, http.MethodGet, pc.url, nil)
		if err != nil {
			return nil, err
		}
		for p := range bytes.SplitSeq(body, []byte{0x1e}) {
			switch {
			case bytes.HasPrefix(p, []byte("40")):
				return pc, nil
			case bytes.HasPrefix(p, []byte("44")):
				return nil, fmt.Errorf("connect error %q", p)
			case bytes.HasPrefix(p, []byte("1")):
				return nil, errClosed
			}
		}
	}
}

// writer sends the queued packets until stop is closed, then asks the
// server to close the session.
func (pc *pollClient) writer(ctx context.Context, stop <-chan struct{}) error {
	var batch []byte
	for {
		select {
		case p := <-pc.out:
			batch = append(batch[:0], p...)
		more:
			for {
				select {
				case p := <-pc.out:
					batch = append(batch, 0x1e)
					batch = append(batch, p...)
				default:
					break more
				}
			}
			if _, err := pollDo(ctx, pc.hc, http.MethodPost, pc.url, batch); err != nil {
				return err
			}
		case <-stop:
			cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			pollDo(cctx, pc.hc, http.MethodPost, pc.url, []byte("1"))
			cancel()
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// runPollingEcho is runEcho over HTTP long-polling.
func runPollingEcho(ctx context.Context, cfg *config) (result, error) {
	p := proc{cfg.pid}
	k := cfg.pollClients
	hc := newPollHTTPClient(cfg, 2*k+16)
	defer hc.CloseIdleConnections()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Connect, a few at a time.
	clients := make([]*pollClient, k)
	var (
		setupErr error
		errOnce  sync.Once
		next     atomic.Int64
		workers  sync.WaitGroup
	)
	for range max(1, min(cfg.setupConc, k)) {
		workers.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= k {
					return
				}
				cctx, ccancel := context.WithTimeout(ctx, cfg.dialTimeout)
				pc, err := pollConnect(cctx, hc, cfg.addr)
				ccancel()
				if err != nil {
					errOnce.Do(func() { setupErr = fmt.Errorf("client %d: %w", i, err); cancel() })
					return
				}
				clients[i] = pc
			}
		})
	}
	workers.Wait()
	if setupErr != nil {
		return nil, setupErr
	}

	arg := echoArg(cfg.size)
	runs := make([]echoRun, k)
	measureFrom := int64(cfg.warmup)
	measureTo := int64(cfg.warmup + cfg.duration)
	var (
		readers, writers sync.WaitGroup
		failures         atomic.Int64
		firstMu          sync.Mutex
		firstErr         error
	)
	fail := func(i int, err error) {
		if ctx.Err() != nil {
			return
		}
		failures.Add(1)
		firstMu.Lock()
		if firstErr == nil {
			firstErr = fmt.Errorf("client %d: %w", i, err)
		}
		firstMu.Unlock()
		cancel() // one failure ends the run
	}
	base := time.Now()
	for i, pc := range clients {
		stop := make(chan struct{})
		writers.Go(func() {
			if err := pc.writer(ctx, stop); err != nil {
				fail(i, err)
			}
		})
		readers.Go(func() {
			defer close(stop)
			if err := pollEchoClient(ctx, pc, cfg.window, arg, base, measureFrom, measureTo, &runs[i]); err != nil {
				fail(i, err)
			}
		})
	}
	// abort ends the run early: a client failed (and cancelled ctx) or
	// the caller cancelled.
	abort := func(err error) (result, error) {
		cancel()
		waitTimeout(&readers, 5*time.Second)
		waitTimeout(&writers, 5*time.Second)
		firstMu.Lock()
		defer firstMu.Unlock()
		if firstErr != nil {
			return nil, fmt.Errorf("%d clients failed, first: %w", failures.Load(), firstErr)
		}
		return nil, err
	}
	if err := sleepUntil(ctx, base.Add(cfg.warmup)); err != nil {
		return abort(err)
	}
	s0 := p.sample()
	if err := sleepUntil(ctx, base.Add(cfg.warmup+cfg.duration)); err != nil {
		return abort(err)
	}
	s1 := p.sample()
	finished := waitTimeout(&readers, cfg.timeout)
	if !finished {
		cancel()
	}
	waitTimeout(&writers, 5*time.Second)
	if n := failures.Load(); n > 0 {
		firstMu.Lock()
		defer firstMu.Unlock()
		return nil, fmt.Errorf("%d clients failed, first: %w", n, firstErr)
	}
	if !finished {
		return nil, fmt.Errorf("clients still waiting for acks %v after the end", cfg.timeout)
	}
	r := echoResult(runs, s0, s1)
	if r["acks_per_s"] == 0 {
		return nil, errors.New("no acks received")
	}
	return r, nil
}

// pollEchoClient keeps window echo requests outstanding on a polling
// session until measureTo, then waits for the last acks.
func pollEchoClient(ctx context.Context, pc *pollClient, window int, arg string, base time.Time, measureFrom, measureTo int64, run *echoRun) error {
	sent := make(map[uint64]int64, window)
	var nextID uint64
	send := func() {
		id := nextID
		nextID++
		sent[id] = int64(time.Since(base))
		select {
		case pc.out <- appendEvent([]byte{'4'}, id, "echo", arg):
		case <-ctx.Done():
		}
	}
	for range window {
		send()
	}
	lat := make([]int64, 0, 1024)
	defer func() { run.lat = lat }()
	for {
		body, err := pollDo(ctx, pc.hc, http.MethodGet, pc.url, nil)
		if err != nil {
			return err
		}
		for pkt := range bytes.SplitSeq(body, []byte{0x1e}) {
			if len(pkt) == 0 {
				continue
			}
			switch pkt[0] {
			case '2':
				select {
				case pc.out <- []byte("3"):
				case <-ctx.Done():
				}
				continue
			case '1':
				return errClosed
			case '4':
			default:
				continue
			}
			if len(pkt) < 2 || pkt[1] != '3' {
				continue
			}
			id, ok := parseAckID(pkt[2:])
			t0, found := sent[id]
			if !ok || !found {
				return fmt.Errorf("ack for unknown id %q", pkt)
			}
			delete(sent, id)
			now := int64(time.Since(base))
			if t0 >= measureFrom && now < measureTo {
				lat = append(lat, now-t0)
			}
			if now < measureTo {
				send()
			}
		}
		if int64(time.Since(base)) >= measureTo && len(sent) == 0 {
			return nil
		}
	}
}
