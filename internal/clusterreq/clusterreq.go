// Package clusterreq keeps the requests a cluster adapter made to the
// other servers (FetchSockets, ServerSideEmitWithAck, ...) and its
// broadcasts with acknowledgements, until their answers are in or their
// time is up: socket.io-adapter's ClusterAdapter bookkeeping, shared by the
// adapters of this module.
package clusterreq

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/socketio-go/socketio/adapter"
)

// Request is a request waiting for the answers of the other servers; the
// adapter reads its fields once Wait returned, and adds to them in the
// function given to Answered.
type Request struct {
	Kind      int
	Expected  int // answers wanted: the other servers counted when it was sent
	Current   int // answers received
	Sockets   []adapter.SocketInfo
	IDs       []string
	Rooms     map[string]struct{}
	Responses []adapter.AckResponse

	// missing, for requests made with AddFrom, holds the servers (uids)
	// that have not answered yet: the request completes when it is empty.
	missing map[string]struct{}

	done chan struct{} // closed when complete or failed
	err  error         // set before done is closed on failure
}

// Ack is a broadcast with acknowledgements of this server: the other
// servers report their client counts and forward their clients' answers.
type Ack struct {
	ClientCount func(int)
	Ack         func(adapter.AckResponse)
	timer       *time.Timer
}

// Table holds the requests and broadcasts with acknowledgements of one
// adapter. Its methods are safe for concurrent use.
type Table struct {
	prefix    string // of error messages: the package
	closedErr error

	mu       sync.Mutex
	requests map[string]*Request // guarded by mu; by request id
	acks     map[string]*Ack     // guarded by mu; by request id
	closed   bool                // guarded by mu
}

// New returns an empty table; errors start with prefix, and closedErr is
// returned once Close was called.
func New(prefix string, closedErr error) *Table {
	return &Table{prefix: prefix, closedErr: closedErr, requests: make(map[string]*Request), acks: make(map[string]*Ack)}
}

// Add registers a request expecting answers from expected servers.
func (t *Table) Add(id string, kind, expected int) (*Request, error) {
	r := &Request{Kind: kind, Expected: expected, done: make(chan struct{})}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, t.closedErr
	}
	t.requests[id] = r
	return r, nil
}

// AddFrom registers a request expecting one answer from each of the
// servers uids (socket.io-adapter's ClusterAdapterWithHeartbeat, which
// knows the other servers by their heartbeats): it completes once each has
// answered or is gone (Gone).
func (t *Table) AddFrom(id string, kind int, uids []string) (*Request, error) {
	r, err := t.Add(id, kind, len(uids))
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	r.missing = make(map[string]struct{}, len(uids))
	for _, u := range uids {
		r.missing[u] = struct{}{}
	}
	t.mu.Unlock()
	return r, nil
}

// Gone records that a server left (its heartbeats stopped, or it closed):
// requests waiting for its answer no longer do.
func (t *Table) Gone(uid string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, r := range t.requests {
		if _, ok := r.missing[uid]; ok {
			delete(r.missing, uid)
			t.completeLocked(id, r)
		}
	}
}

func (t *Table) completeLocked(id string, r *Request) {
	if r.missing != nil && len(r.missing) > 0 || r.missing == nil && r.Current < r.Expected {
		return
	}
	delete(t.requests, id)
	close(r.done)
}

// Forget drops a request that could not be sent.
func (t *Table) Forget(id string) {
	t.mu.Lock()
	delete(t.requests, id)
	t.mu.Unlock()
}

// Wait waits until every answer is in, timeout passes or ctx is done, and
// forgets the request. It returns nil when complete, else an error naming
// op that wraps adapter.ErrTimeout or ctx's error, with the counts.
func (t *Table) Wait(ctx context.Context, id string, r *Request, timeout time.Duration, op string) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-r.done:
	case <-timer.C:
	case <-ctx.Done():
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.requests[id] == r {
		delete(t.requests, id)
	}
	select {
	case <-r.done:
		return r.err
	default:
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %s: %w (%d responses received out of %d)", t.prefix, op, ctx.Err(), r.Current, r.Expected)
	}
	return fmt.Errorf("%s: %s: %w: only %d responses received out of %d", t.prefix, op, adapter.ErrTimeout, r.Current, r.Expected)
}

// Answered records one answer to a request of the given kind; fn adds its
// content (under the table's lock).
func (t *Table) Answered(id string, kind int, fn func(r *Request)) { t.AnsweredBy(id, kind, "", fn) }

// AnsweredBy records the answer of the server uid to a request of the
// given kind; fn adds its content (under the table's lock). A request made
// with AddFrom takes one answer from each of its servers and ignores
// others'.
func (t *Table) AnsweredBy(id string, kind int, uid string, fn func(r *Request)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.requests[id]
	if r == nil || r.Kind != kind {
		return
	}
	if r.missing != nil {
		if _, ok := r.missing[uid]; !ok {
			return
		}
		delete(r.missing, uid)
	}
	r.Current++
	if fn != nil {
		fn(r)
	}
	t.completeLocked(id, r)
}

// Kind returns the kind of a waiting request, or -1.
func (t *Table) Kind(id string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if r := t.requests[id]; r != nil {
		return r.Kind
	}
	return -1
}

// Own reports whether id is one of the table's requests or broadcasts.
func (t *Table) Own(id string) bool {
	if id == "" {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.requests[id]
	if !ok {
		_, ok = t.acks[id]
	}
	return ok
}

// AddAck registers a broadcast with acknowledgements for keep.
func (t *Table) AddAck(id string, keep time.Duration, clientCount func(int), ack func(adapter.AckResponse)) error {
	a := &Ack{ClientCount: clientCount, Ack: ack}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return t.closedErr
	}
	t.acks[id] = a
	a.timer = time.AfterFunc(keep, func() { t.DropAck(id) })
	return nil
}

// Ack returns a broadcast with acknowledgements, or nil.
func (t *Table) Ack(id string) *Ack {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.acks[id]
}

// DropAck forgets a broadcast with acknowledgements.
func (t *Table) DropAck(id string) {
	t.mu.Lock()
	if a := t.acks[id]; a != nil {
		a.timer.Stop()
		delete(t.acks, id)
	}
	t.mu.Unlock()
}

// Pending returns the numbers of waiting requests and broadcasts.
func (t *Table) Pending() (requests, acks int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.requests), len(t.acks)
}

// Close fails the waiting requests with the closed error, forgets the
// broadcasts and refuses new ones.
func (t *Table) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	for id, r := range t.requests {
		r.err = t.closedErr
		close(r.done)
		delete(t.requests, id)
	}
	for id, a := range t.acks {
		a.timer.Stop()
		delete(t.acks, id)
	}
}
