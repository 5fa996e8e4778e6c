// Package redissub keeps a Redis pub/sub subscription alive for the cluster
// adapters (packages redisadapter and redisstreamsadapter): one connection,
// the set of channels and patterns it should have, reconnection with backoff
// and resubscription after a loss.
package redissub

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Reconnection and health-check timing of a subscriber.
const (
	minBackoff     = 100 * time.Millisecond
	maxBackoff     = 2 * time.Second
	healthInterval = 15 * time.Second // a silent connection is pinged after this
	commandTimeout = 5 * time.Second
)

// ErrClosed is the first attempt's outcome when Close came first.
var ErrClosed = errors.New("redissub: closed")

// Subscriber owns one Redis subscriber connection (a go-redis PubSub) and
// the goroutine that reads it. It keeps the set of channels and patterns it
// should be subscribed to; after a connection loss it reconnects with
// backoff and subscribes to the whole set again, so a long outage costs one
// goroutine sleeping between dial attempts and nothing more.
//
// Messages are handled on the reading goroutine, in the order Redis sent
// them.
type Subscriber struct {
	client  redis.UniversalClient
	sharded bool // SSUBSCRIBE instead of SUBSCRIBE
	handle  func(channel, pattern string, payload []byte)
	log     *slog.Logger
	prefix  string // of log messages: the package
	logName string // for log lines: the namespace

	stop   chan struct{} // closed by close
	done   chan struct{} // closed when run returns
	syncWG sync.WaitGroup

	mu       sync.Mutex
	channels map[string]bool // guarded by mu; what we want
	patterns map[string]bool // guarded by mu
	ps       *redis.PubSub   // guarded by mu; the current connection, nil between attempts
	applied  map[string]bool // guarded by mu; channels sent on ps
	syncing  bool            // guarded by mu; a sync goroutine runs
	up       bool            // guarded by mu; subscribed and answering
	everUp   bool            // guarded by mu
	closed   bool            // guarded by mu
	running  bool            // guarded by mu; run was started
	first    chan error      // guarded by mu; gets the outcome of the first attempt, then nil
}

// New returns a subscriber that hands each message to handle, on its
// reading goroutine. sharded selects SSUBSCRIBE; log lines start with
// prefix and name the namespace.
func New(client redis.UniversalClient, sharded bool, log *slog.Logger, prefix, namespace string, handle func(channel, pattern string, payload []byte)) *Subscriber {
	return &Subscriber{
		prefix:   prefix,
		client:   client,
		sharded:  sharded,
		handle:   handle,
		log:      log,
		logName:  namespace,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		channels: make(map[string]bool),
		patterns: make(map[string]bool),
		first:    make(chan error, 1),
	}
}

// Start begins connecting; the returned channel gets nil once subscribed,
// or the error of the first failed attempt (the subscriber keeps trying).
func (s *Subscriber) Start() <-chan error {
	s.mu.Lock()
	ch := s.first
	if s.running || s.closed {
		s.mu.Unlock()
		return ch
	}
	s.running = true
	s.mu.Unlock()
	go s.run()
	return ch
}

// Close stops the subscriber and waits for its goroutines.
func (s *Subscriber) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	ps := s.ps
	running := s.running
	s.mu.Unlock()
	close(s.stop)
	if ps != nil {
		_ = ps.Close() // unblocks the reader
	}
	if running {
		<-s.done
	}
	s.syncWG.Wait()
}

// Healthy reports whether the subscription is in place.
func (s *Subscriber) Healthy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.up
}

// Subscribe adds channels to the set (patterns with pattern set).
func (s *Subscriber) Subscribe(pattern bool, names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		if pattern {
			s.patterns[n] = true
		} else {
			s.channels[n] = true
		}
	}
	s.kickLocked()
}

// Unsubscribe removes channels from the set.
func (s *Subscriber) Unsubscribe(names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		delete(s.channels, n)
	}
	s.kickLocked()
}

// kickLocked starts a goroutine that brings the live subscription in line
// with the set, unless one runs; it exits when there is nothing left to do.
func (s *Subscriber) kickLocked() {
	if s.syncing || s.ps == nil || s.closed {
		return
	}
	s.syncing = true
	s.syncWG.Add(1)
	go s.sync()
}

func (s *Subscriber) sync() {
	defer s.syncWG.Done()
	for {
		s.mu.Lock()
		ps := s.ps
		var add, del []string
		if ps != nil && !s.closed {
			for c := range s.channels {
				if !s.applied[c] {
					add = append(add, c)
					s.applied[c] = true
				}
			}
			for c := range s.applied {
				if !s.channels[c] {
					del = append(del, c)
					delete(s.applied, c)
				}
			}
		}
		if len(add) == 0 && len(del) == 0 {
			s.syncing = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		// An error here means a broken connection: the reader notices and
		// subscribes to the whole set on the next connection.
		ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
		if len(add) > 0 {
			if s.sharded {
				_ = ps.SSubscribe(ctx, add...)
			} else {
				_ = ps.Subscribe(ctx, add...)
			}
		}
		if len(del) > 0 {
			if s.sharded {
				_ = ps.SUnsubscribe(ctx, del...)
			} else {
				_ = ps.Unsubscribe(ctx, del...)
			}
		}
		cancel()
	}
}

func (s *Subscriber) run() {
	defer close(s.done)
	backoff := minBackoff
	for {
		ps, err := s.connect()
		if err == nil {
			err = s.read(ps)
			backoff = minBackoff
		}
		s.setDown(ps, err)
		select {
		case <-s.stop:
			return
		default:
		}
		t := time.NewTimer(backoff)
		select {
		case <-s.stop:
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// connect opens a subscriber connection with every channel and pattern of
// the set, and pings it: the answer comes after the subscriptions'.
func (s *Subscriber) connect() (*redis.PubSub, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	var ps *redis.PubSub
	if s.sharded {
		ps = s.client.SSubscribe(ctx)
	} else {
		ps = s.client.Subscribe(ctx)
	}
	channels := make([]string, 0, len(s.channels))
	s.applied = make(map[string]bool, len(s.channels))
	for c := range s.channels {
		channels = append(channels, c)
		s.applied[c] = true
	}
	patterns := make([]string, 0, len(s.patterns))
	for p := range s.patterns {
		patterns = append(patterns, p)
	}
	s.ps = ps
	s.mu.Unlock()

	var err error
	if len(patterns) > 0 {
		err = ps.PSubscribe(ctx, patterns...)
	}
	if err == nil && len(channels) > 0 {
		if s.sharded {
			err = ps.SSubscribe(ctx, channels...)
		} else {
			err = ps.Subscribe(ctx, channels...)
		}
	}
	if err == nil {
		err = ps.Ping(ctx)
	}
	if err != nil {
		return ps, err
	}
	return ps, nil
}

// read handles messages until the connection fails.
func (s *Subscriber) read(ps *redis.PubSub) error {
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(context.Background(), healthInterval)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !pinged {
				pinged = true
				ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
				err = ps.Ping(ctx)
				cancel()
				if err == nil {
					continue
				}
			}
			if pinged && err != nil && errors.As(err, &ne) && ne.Timeout() {
				err = errors.New("redis did not answer a ping")
			}
			return err
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Message:
			s.handle(m.Channel, m.Pattern, []byte(m.Payload))
		case *redis.Pong:
			s.setUp()
		}
	}
}

func (s *Subscriber) setUp() {
	s.mu.Lock()
	if s.up {
		s.mu.Unlock()
		return
	}
	s.up = true
	again := s.everUp
	s.everUp = true
	first := s.first
	s.first = nil
	s.mu.Unlock()
	if first != nil {
		first <- nil
	}
	if again {
		s.log.Info(s.prefix+": subscribed to Redis again", "namespace", s.logName)
	}
}

func (s *Subscriber) setDown(ps *redis.PubSub, err error) {
	s.mu.Lock()
	if s.ps == ps {
		s.ps = nil
	}
	wasUp := s.up
	s.up = false
	closed := s.closed
	first := s.first
	s.first = nil
	s.mu.Unlock()
	if ps != nil {
		_ = ps.Close()
	}
	if closed {
		if first != nil {
			first <- ErrClosed
		}
		return
	}
	if err == nil {
		err = errors.New("connection closed")
	}
	if first != nil {
		first <- err
	}
	if wasUp {
		s.log.Warn(s.prefix+": lost the Redis subscription; reconnecting", "namespace", s.logName, "err", err)
	}
}
