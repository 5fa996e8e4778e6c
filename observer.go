package socketio

import (
	"slices"
	"sort"
	"time"
)

// Observer is told about the namespaces of a Server, their sockets and
// their events: the seam for metrics and monitoring (packages promsocketio
// and adminui implement it; the Engine.IO layer has its own,
// engineio.Observer). Set it in Options.Observer or add it with
// Server.AddObserver.
type Observer interface {
	// Namespace is called once for each namespace of the server (the main
	// one included, dynamic parents excluded), when it is created or when
	// the observer is added, and returns the observer of that namespace,
	// or nil. It is called with the server's lock held: it must not call
	// the server back (reading n.Name() is fine).
	Namespace(n *Namespace) NamespaceObserver
}

// NamespaceObserver is told what happens in one namespace. Its methods are
// called on the goroutines where things happen, concurrently: they must be
// safe for concurrent use, return quickly and not block. The counting
// methods are called for every event or delivery and must not allocate.
// Without an observer the server pays one nil check at each of these
// points.
type NamespaceObserver interface {
	// Connected is called when a socket joined the namespace (after its
	// middlewares, its own room joined, the CONNECT answer queued), before
	// the connection handlers run.
	Connected(s *Socket)
	// Refused is called when a middleware refused a socket (the client
	// gets a connect_error).
	Refused(err error)
	// Disconnected is called when a socket leaves, with the reason and the
	// error behind it, after the disconnecting handlers and before it
	// leaves its rooms.
	Disconnected(s *Socket, reason DisconnectReason, err error)
	// DataChanged is called after Socket.SetData.
	DataChanged(s *Socket)
	// EventReceived counts an event received from a client.
	EventReceived()
	// EventSent counts an event sent to one socket (Socket.Emit).
	EventSent()
	// Broadcast counts a broadcast made by this server (an Emit on a
	// namespace, room or BroadcastOperator; once per namespace).
	Broadcast()
	// Delivered counts a broadcast's delivery to one socket of this
	// server (broadcasts from other servers of a cluster included).
	Delivered()
	// AckReceived is called with the round-trip time of an
	// acknowledgement a client sent for an event the server emitted.
	AckReceived(rtt time.Duration)
	// AckTimedOut counts an acknowledgement that did not come within the
	// Timeout of its emit (once per socket for Socket.Timeout, once per
	// broadcast for a broadcast with acknowledgements).
	AckTimedOut()
}

// AddObserver adds an observer to the server: it is asked for the observer
// of every namespace, existing or to come, and is told what happens from
// then on, with the observers added before. It is safe to call at any
// time; add it before serving to see every socket.
func (s *Server) AddObserver(o Observer) {
	if o == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observers = append(slices.Clip(s.observers), o)
	for _, n := range s.nsps {
		n.observe(o)
	}
}

// observe adds o's observer of the namespace; the caller holds srv.mu.
func (n *Namespace) observe(o Observer) {
	x := o.Namespace(n)
	if x == nil {
		return
	}
	var next nsObservers
	if old := n.obs.Load(); old != nil {
		next.list = append(next.list, old.list...)
	}
	next.list = append(next.list, x)
	n.obs.Store(&next)
}

// Namespaces returns the namespaces of the server, the main one included
// and dynamic parents (OfRegexp, OfFunc) excluded, sorted by name.
func (s *Server) Namespaces() []*Namespace {
	s.mu.RLock()
	out := make([]*Namespace, 0, len(s.nsps))
	for _, n := range s.nsps {
		out = append(out, n)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// nsObservers is the list of a namespace's observers, replaced as a whole
// when one is added.
type nsObservers struct{ list []NamespaceObserver }

func (o *nsObservers) connected(s *Socket) {
	for _, x := range o.list {
		x.Connected(s)
	}
}

func (o *nsObservers) refused(err error) {
	for _, x := range o.list {
		x.Refused(err)
	}
}

func (o *nsObservers) disconnected(s *Socket, reason DisconnectReason, err error) {
	for _, x := range o.list {
		x.Disconnected(s, reason, err)
	}
}

func (o *nsObservers) dataChanged(s *Socket) {
	for _, x := range o.list {
		x.DataChanged(s)
	}
}

func (o *nsObservers) eventReceived() {
	for _, x := range o.list {
		x.EventReceived()
	}
}

func (o *nsObservers) eventSent() {
	for _, x := range o.list {
		x.EventSent()
	}
}

func (o *nsObservers) broadcast() {
	for _, x := range o.list {
		x.Broadcast()
	}
}

func (o *nsObservers) delivered() {
	for _, x := range o.list {
		x.Delivered()
	}
}

func (o *nsObservers) ackReceived(rtt time.Duration) {
	for _, x := range o.list {
		x.AckReceived(rtt)
	}
}

func (o *nsObservers) ackTimedOut() {
	for _, x := range o.list {
		x.AckTimedOut()
	}
}
