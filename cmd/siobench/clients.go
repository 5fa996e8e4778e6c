//go:build linux

package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// clientSet is a set of connected Socket.IO clients, each with one reader
// goroutine.
type clientSet struct {
	conns   []*wsConn
	readers sync.WaitGroup
	stop    chan struct{} // closed by closeAll: readers waiting for a start give up
	closing atomic.Bool   // set by closeAll: read errors are expected from now on
	lost    atomic.Int64  // readers that ended with an error before closeAll
	firstMu sync.Mutex
	first   error // guarded by firstMu: the first such error
}

// readerFunc runs for each connection on its own goroutine until the
// connection ends; an error it returns before closeAll counts as lost.
type readerFunc func(i int, c *wsConn, set *clientSet) error

// connectMany connects n clients with cfg.setupConc connections in flight,
// spread over the source addresses, and starts reader on each as soon as it
// is connected. It fails on the first connection that fails. bufSize and
// readDelay are passed to dialWS.
func connectMany(ctx context.Context, cfg *config, n, bufSize int, readDelay time.Duration, reader readerFunc) (*clientSet, error) {
	set := &clientSet{conns: make([]*wsConn, n), stop: make(chan struct{})}
	ds := dialers(cfg.sources, cfg.dialTimeout)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		errOnce  sync.Once
		setupErr error
		workers  sync.WaitGroup
	)
	for range max(1, min(cfg.setupConc, n)) {
		workers.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				cctx, ccancel := context.WithTimeout(ctx, cfg.dialTimeout)
				c, err := connectSIO(cctx, ds[i%len(ds)], cfg.addr, bufSize, readDelay, cfg.deflate, cfg.parser == parserMsgpack)
				ccancel()
				if err != nil {
					errOnce.Do(func() {
						setupErr = fmt.Errorf("connection %d of %d: %w", i+1, n, err)
						cancel()
					})
					return
				}
				set.conns[i] = c
				if reader != nil {
					set.readers.Go(func() {
						if err := reader(i, c, set); err != nil && !set.closing.Load() {
							set.lost.Add(1)
							set.firstMu.Lock()
							if set.first == nil {
								set.first = fmt.Errorf("client %d: %w", i, err)
							}
							set.firstMu.Unlock()
						}
					})
				}
			}
		})
	}
	workers.Wait()
	if setupErr != nil {
		set.closeAll(5 * time.Second)
		return nil, setupErr
	}
	if err := ctx.Err(); err != nil {
		set.closeAll(5 * time.Second)
		return nil, err
	}
	return set, nil
}

// firstErr returns the first error of a reader that ended early.
func (s *clientSet) firstErr() error {
	s.firstMu.Lock()
	defer s.firstMu.Unlock()
	return s.first
}

// closeAll resets every connection and waits at most timeout for the
// readers to return.
func (s *clientSet) closeAll(timeout time.Duration) {
	if s.closing.Swap(true) {
		return
	}
	close(s.stop)
	for _, c := range s.conns {
		if c != nil {
			c.close()
		}
	}
	waitTimeout(&s.readers, timeout)
}

// waitTimeout waits for wg, at most d; it reports whether wg finished.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// sleepCtx sleeps for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sleepUntil sleeps until t or until ctx is done.
func sleepUntil(ctx context.Context, t time.Time) error { return sleepCtx(ctx, time.Until(t)) }
