package engineio

import (
	"net"
	"runtime"
	"sync"
)

// A broadcast queues a message on every recipient's connection. Starting a
// flusher goroutine for each of them made one broadcast to 19,000 clients
// put 19,000 goroutines on the run queues at once, and everything else the
// server had to do (the poller's goroutine, the readers it starts, and so
// the answers to other clients) waited behind them: with a broadcast a
// second, echo p99 was 113 ms against 1 ms at the median.
//
// WebSocket connections with queued messages now wait in the server's
// flushQueue instead, and a few workers write them in turn, each with one
// non-blocking writev of everything its connection has queued by then. A
// connection whose socket buffer is full gets a flusher goroutine of its
// own, which may wait (bounded by WriteTimeout), so a slow client never
// holds a worker. A reply (SendNow) to a connection still in the queue
// writes what waits itself, ahead of the workers.

// flushYield is how many connections a worker writes between two yields
// to the scheduler, which let the goroutines that became runnable meanwhile
// run (a worker is otherwise preempted only after 10 ms).
const flushYield = 32

// Small frames leave cheaper copied into one buffer than as as many
// pieces of a writev: in a fan-out of 100-byte messages to 1,000 clients,
// joining them took the server's CPU per delivered message from ~420 ns to
// ~185 (binary, two frames a message: ~580 to ~255). Frames of joinMax
// bytes or more are written from where they are.
const (
	joinMax  = 4096
	joinKeep = 256 << 10 // the most joined at once, and the largest join buffer pooled
)

// joinPool lends the buffers in which a worker joins a connection's frames.
var joinPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// putJoined gives back a buffer of joinSmall (nil: none).
func putJoined(jp *[]byte) {
	if jp == nil {
		return
	}
	if cap(*jp) > joinKeep {
		*jp = nil // not kept after a large backlog
	}
	joinPool.Put(jp)
}

// joinSmall returns bufs with each run of small frames joined into one
// piece of a pooled buffer, which the caller puts back in joinPool once the
// frames are written (nil when nothing was joined). bufs is rewritten in
// place.
func joinSmall(bufs [][]byte) ([][]byte, *[]byte) {
	size, smalls, runs := 0, 0, 0
	for i, b := range bufs {
		if len(b) < joinMax {
			size += len(b)
			smalls++
			if i == 0 || len(bufs[i-1]) >= joinMax {
				runs++
			}
		}
	}
	if smalls == runs || size > joinKeep {
		// No two small frames in a row: nothing to join. Or a backlog (a
		// slow client's): it leaves in pieces, without a copy of it all.
		return bufs, nil
	}
	jp := joinPool.Get().(*[]byte)
	j := (*jp)[:0]
	if cap(j) < size {
		j = make([]byte, 0, size)
	}
	// Each output takes the place of one or more frames already read.
	out := bufs[:0]
	start := 0
	for _, b := range bufs {
		if len(b) < joinMax {
			j = append(j, b...)
			continue
		}
		if len(j) > start {
			out = append(out, j[start:])
			start = len(j)
		}
		out = append(out, b)
	}
	if len(j) > start {
		out = append(out, j[start:])
	}
	clear(bufs[len(out):])
	*jp = j
	return out, jp
}

// flushQueue is the server's queue of WebSocket connections to flush.
type flushQueue struct {
	mu      sync.Mutex
	conns   []*Conn // guarded by mu; conns[head:] wait, oldest first
	head    int     // guarded by mu
	workers int     // guarded by mu; running workers
	limit   int     // guarded by mu; most workers, read when the first one starts
}

// maxFlushWorkers bounds the workers: one per processor but one, so that
// a processor stays free for the readers (at least one worker).
func maxFlushWorkers() int { return max(1, runtime.GOMAXPROCS(0)-1) }

// push queues c, whose pending flag the caller set under c.mu (held).
func (q *flushQueue) push(c *Conn) {
	q.mu.Lock()
	q.conns = append(q.conns, c)
	if q.workers == 0 {
		// Once a burst, not once a recipient: GOMAXPROCS takes the
		// scheduler's lock.
		q.limit = maxFlushWorkers()
	}
	start := q.workers < q.limit
	if start {
		q.workers++
	}
	q.mu.Unlock()
	if start {
		go q.work()
	}
}

// pop returns the next connection, or nil when there is none (the worker
// then ends).
func (q *flushQueue) pop() *Conn {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.conns) {
		q.workers--
		if cap(q.conns) > 1024 {
			q.conns = nil // after a large broadcast, give the array back
		} else {
			q.conns = q.conns[:0]
		}
		q.head = 0
		return nil
	}
	c := q.conns[q.head]
	q.conns[q.head] = nil
	q.head++
	return c
}

// work flushes queued connections until the queue is empty.
func (q *flushQueue) work() {
	for i := 1; ; i++ {
		c := q.pop()
		if c == nil {
			return
		}
		c.flushQueued()
		if i%flushYield == 0 {
			runtime.Gosched()
		}
	}
}

// flushQueued writes what c has queued, without waiting, for a worker of
// the flush queue.
func (c *Conn) flushQueued() {
	c.mu.Lock()
	if !c.pending {
		c.mu.Unlock() // a reply wrote the queue meanwhile
		return
	}
	c.pending = false
	if c.flushing || c.state == stateClosed || c.ws == nil {
		c.mu.Unlock() // another writer has the queue, or nobody needs it
		return
	}
	if len(c.queue) == 0 {
		closing := c.state == stateClosing
		c.mu.Unlock()
		if closing {
			go c.finalize(ReasonForcedClose, nil)
		}
		return
	}
	c.flushing = true
	batch, size := c.queue, c.queued
	c.queue, c.queued = nil, 0
	ws := c.ws
	b64 := c.v3flags&v3WSB64 != 0
	c.mu.Unlock()

	bp := bufsPool.Get().(*net.Buffers)
	bufs := (*bp)[:0]
	threshold := c.srv.deflateThreshold()
	for _, m := range batch {
		bufs = append(bufs, c.wsFrameFor(m, ws, threshold, b64))
	}
	*bp = bufs
	bufs, jp := joinSmall(bufs)
	done, err := ws.TryWriteFrames(bufs, c.srv.opts.WriteTimeout)
	clear(bufs)
	bufsPool.Put(bp)
	putJoined(jp)
	if err != nil {
		c.mu.Lock()
		c.flushing = false
		c.mu.Unlock()
		go c.finalize(ReasonTransportError, err)
		return
	}

	if done {
		if o := c.srv.obs.Load(); o != nil {
			o.sent(batch)
		}
	}

	c.mu.Lock()
	if !done {
		// The socket takes nothing now: a flusher of its own waits for it.
		c.queue = append(batch, c.queue...)
		c.queued += size
		c.mu.Unlock()
		go c.flushWebSocket() // c.flushing stays set for it
		return
	}
	c.flushing = false
	closing := false
	switch {
	case len(c.queue) > 0:
		c.kickLocked() // more came meanwhile: back in the queue, at its end
	case c.state == stateClosing:
		closing = true
	case c.queue == nil && cap(batch) <= 64:
		clear(batch)
		c.queue = batch[:0] // the slice serves the next burst
	}
	c.mu.Unlock()
	if closing {
		go c.finalize(ReasonForcedClose, nil)
	}
}
