package engineio

// Observer is told about the sessions of a Server and their traffic: the
// seam for metrics and monitoring (packages promsocketio and adminui
// implement it). Set it in Options.Observer or add it with
// Server.AddObserver.
//
// Its methods are called on the goroutines where things happen (a
// session's reader, a flusher, an HTTP handler), concurrently: they must be
// safe for concurrent use, return quickly, not block, and not call back
// into the Server or the Conn except for its accessors (ID, Transport,
// RemoteAddr, Request). The counting methods are called for every message:
// they must not allocate. Without an observer the server pays one nil
// check at each of these points.
type Observer interface {
	// Opened is called when a handshake created session c, on its first
	// transport (c.Transport()).
	Opened(c *Conn)
	// Upgraded is called when session c moved from long-polling to
	// WebSocket or WebTransport (c.Transport()).
	Upgraded(c *Conn)
	// Closed is called once when session c ended, with one of the Reason
	// strings and the error behind it, if any: ErrSlowConsumer for a client
	// whose outbound queue went over Options.MaxBufferedBytes. c.Transport()
	// is the transport it ended on.
	Closed(c *Conn, reason string, err error)
	// Refused is called for every request the server refused (a bad
	// handshake, an unknown session id, a forbidden origin, ...), as
	// Node's "connection_error" event.
	Refused(e *RequestError)
	// Received counts message packets read from clients, with the bytes of
	// their data (the Engine.IO type character excluded).
	Received(packets, bytes int)
	// Sent counts packets that carry data (messages, the handshake)
	// written to clients, with the bytes of their data.
	Sent(packets, bytes int)
	// Dropped is called when a volatile send was dropped because the
	// client was not ready to receive it.
	Dropped()
}

// AddObserver adds an observer to the server; the events that happen from
// then on are reported to it, and to the observers added before. It is
// safe to call at any time.
func (s *Server) AddObserver(o Observer) {
	if o == nil {
		return
	}
	s.obsMu.Lock()
	defer s.obsMu.Unlock()
	var next observers
	if old := s.obs.Load(); old != nil {
		next.list = append(next.list, old.list...)
	}
	next.list = append(next.list, o)
	s.obs.Store(&next)
}

// observers is the list of a server's observers, replaced as a whole when
// one is added.
type observers struct{ list []Observer }

func (o *observers) opened(c *Conn) {
	for _, x := range o.list {
		x.Opened(c)
	}
}

func (o *observers) upgraded(c *Conn) {
	for _, x := range o.list {
		x.Upgraded(c)
	}
}

func (o *observers) closed(c *Conn, reason string, err error) {
	for _, x := range o.list {
		x.Closed(c, reason, err)
	}
}

func (o *observers) refused(e *RequestError) {
	for _, x := range o.list {
		x.Refused(e)
	}
}

func (o *observers) received(packets, bytes int) {
	for _, x := range o.list {
		x.Received(packets, bytes)
	}
}

func (o *observers) dropped() {
	for _, x := range o.list {
		x.Dropped()
	}
}

// sent counts the packets with data among msgs (see Observer.Sent).
func (o *observers) sent(msgs []*Message) {
	packets, bytes := 0, 0
	for _, m := range msgs {
		p := m.payload()
		switch {
		case m.binary:
			packets, bytes = packets+1, bytes+len(p)
		case len(p) > 1:
			packets, bytes = packets+1, bytes+len(p)-1
		}
	}
	if packets == 0 {
		return
	}
	for _, x := range o.list {
		x.Sent(packets, bytes)
	}
}

// ClientsByTransport returns the number of open sessions on each
// transport, by name: Polling (sessions not upgraded, or not yet),
// WebSocket and WebTransport, each present even when zero.
func (s *Server) ClientsByTransport() map[string]int {
	s.mu.RLock()
	conns := make([]*Conn, 0, len(s.clients))
	for _, c := range s.clients {
		conns = append(conns, c)
	}
	s.mu.RUnlock()
	var n [3]int // by transportKind
	for _, c := range conns {
		c.mu.Lock()
		kind := c.transport
		c.mu.Unlock()
		n[kind]++
	}
	return map[string]int{
		Polling:      n[kindPolling],
		WebSocket:    n[kindWebSocket],
		WebTransport: n[kindWebTransport],
	}
}
