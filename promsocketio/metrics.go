// Package promsocketio exposes the metrics of a socketio.Server to
// Prometheus (github.com/prometheus/client_golang).
//
//	srv := socketio.NewServer(nil)
//	prometheus.MustRegister(promsocketio.Instrument(srv, nil))
//	http.Handle("/metrics", promhttp.Handler())
//
// Instrument adds observers to the server (socketio.Observer and
// engineio.Observer) that count into atomic counters; the metrics are
// built from them, and the gauges read from the server, when Prometheus
// scrapes. Counting allocates nothing per message.
//
// The metrics, all prefixed socketio_ (Options.Namespace changes the
// prefix), with the label namespace for the Socket.IO namespace where it
// applies:
//
//	sockets_connected{namespace}                gauge    sockets connected to this server
//	connections_total{namespace}                counter  sockets that connected
//	connect_errors_total{namespace}             counter  sockets a middleware refused
//	disconnections_total{namespace,reason}      counter  sockets that left, by Node's reason string
//	events_received_total{namespace}            counter  events received from clients
//	events_sent_total{namespace}                counter  events sent to clients (emits to one socket, and broadcast deliveries)
//	broadcasts_total{namespace}                 counter  broadcasts made by this server
//	broadcast_deliveries_total{namespace}       counter  broadcasts delivered to sockets of this server
//	ack_duration_seconds{namespace}             histogram round trip of acknowledgements clients sent
//	ack_timeouts_total{namespace}               counter  acknowledgements that did not come in time
//	engine_connections{transport}               gauge    Engine.IO connections open, by current transport
//	engine_connections_total{transport}         counter  Engine.IO connections opened, by first transport
//	engine_disconnections_total{reason}         counter  Engine.IO connections closed, by reason
//	engine_upgrades_total                       counter  upgrades from long-polling to WebSocket
//	engine_received_packets_total               counter  message packets received
//	engine_received_bytes_total                 counter  their bytes
//	engine_sent_packets_total                   counter  packets with data sent (messages, handshakes)
//	engine_sent_bytes_total                     counter  their bytes
//	engine_dropped_packets_total                counter  volatile packets dropped (client not ready)
//	engine_slow_consumer_closes_total           counter  connections closed for a full outbound queue
//	handshake_errors_total{code}                counter  requests refused by the Engine.IO layer, by error code
//	adapter_outbox_messages{namespace}          gauge    cluster adapters: messages waiting for the broker
//	adapter_outbox_bytes{namespace}             gauge    their bytes
//	adapter_broker_up{namespace}                gauge    1 while the broker answers, 0 while messages wait
//	adapter_published_total{namespace}          counter  messages handed to the broker
//	adapter_publish_errors_total{namespace,reason} counter messages the outbox gave up: overflow, expired, abandoned
//
// The adapter metrics are read at scrape time from each namespace's
// adapter that implements adapter.OutboxReporter (every cluster adapter of
// this module: Redis, Redis Streams, PostgreSQL and NATS).
package promsocketio

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/engineio"
)

// Options configure the metrics. The zero value selects the defaults.
type Options struct {
	// Namespace is the prefix of the metric names (Prometheus's namespace,
	// not Socket.IO's). Default "socketio".
	Namespace string
	// ConstLabels are added to every metric, e.g. the server's id in a
	// cluster.
	ConstLabels prometheus.Labels
	// AckBuckets are the buckets of ack_duration_seconds. Default from
	// 0.5 ms to 10 s.
	AckBuckets []float64
}

// DefaultAckBuckets are the default buckets of ack_duration_seconds.
var DefaultAckBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Metrics is a prometheus.Collector of one server's metrics. Create it
// with Instrument, then register it.
type Metrics struct {
	srv *socketio.Server
	d   descs
	ack *prometheus.HistogramVec

	mu  sync.RWMutex
	nss map[string]*nsStats // guarded by mu; by namespace name, kept when a namespace goes

	eng engineStats
}

// Instrument adds the observers of the metrics to srv and returns the
// collector to register. Call it before serving to count every connection.
func Instrument(srv *socketio.Server, opts *Options) *Metrics {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Namespace == "" {
		o.Namespace = "socketio"
	}
	if o.AckBuckets == nil {
		o.AckBuckets = DefaultAckBuckets
	}
	m := &Metrics{srv: srv, d: newDescs(o), nss: make(map[string]*nsStats)}
	m.eng.disconnects = make(map[string]uint64)
	m.ack = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace:   o.Namespace,
		Name:        "ack_duration_seconds",
		Help:        "Round-trip time of the acknowledgements clients sent for events the server emitted.",
		ConstLabels: o.ConstLabels,
		Buckets:     o.AckBuckets,
	}, []string{"namespace"})
	srv.AddObserver((*nsObserverFactory)(m))
	srv.Engine().AddObserver((*engineObserver)(m))
	return m
}

type descs struct {
	socketsConnected, connections, connectErrors, disconnections       *prometheus.Desc
	eventsReceived, eventsSent, broadcasts, deliveries, ackTimeouts    *prometheus.Desc
	engConnections, engConnectionsTotal, engDisconnections, engUpgrade *prometheus.Desc
	engRecvPackets, engRecvBytes, engSentPackets, engSentBytes         *prometheus.Desc
	engDropped, engSlow, handshakeErrors                               *prometheus.Desc
	outboxMessages, outboxBytes, brokerUp, published, publishErrors    *prometheus.Desc
}

func newDescs(o Options) descs {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(o.Namespace, "", name), help, labels, o.ConstLabels)
	}
	const ns = "namespace"
	return descs{
		socketsConnected:    d("sockets_connected", "Sockets connected to this server.", ns),
		connections:         d("connections_total", "Sockets that connected to a namespace.", ns),
		connectErrors:       d("connect_errors_total", "Sockets refused by a middleware of the namespace.", ns),
		disconnections:      d("disconnections_total", "Sockets that disconnected, by reason.", ns, "reason"),
		eventsReceived:      d("events_received_total", "Events received from clients.", ns),
		eventsSent:          d("events_sent_total", "Events sent to clients: emits to one socket and broadcast deliveries.", ns),
		broadcasts:          d("broadcasts_total", "Broadcasts made by this server.", ns),
		deliveries:          d("broadcast_deliveries_total", "Broadcasts delivered to sockets of this server.", ns),
		ackTimeouts:         d("ack_timeouts_total", "Acknowledgements that did not come within the emit's timeout.", ns),
		engConnections:      d("engine_connections", "Engine.IO connections open, by current transport.", "transport"),
		engConnectionsTotal: d("engine_connections_total", "Engine.IO connections opened, by first transport.", "transport"),
		engDisconnections:   d("engine_disconnections_total", "Engine.IO connections closed, by reason.", "reason"),
		engUpgrade:          d("engine_upgrades_total", "Engine.IO connections upgraded from long-polling to WebSocket."),
		engRecvPackets:      d("engine_received_packets_total", "Engine.IO message packets received."),
		engRecvBytes:        d("engine_received_bytes_total", "Bytes of the Engine.IO message packets received."),
		engSentPackets:      d("engine_sent_packets_total", "Engine.IO packets with data sent."),
		engSentBytes:        d("engine_sent_bytes_total", "Bytes of the Engine.IO packets with data sent."),
		engDropped:          d("engine_dropped_packets_total", "Volatile packets dropped because the client was not ready."),
		engSlow:             d("engine_slow_consumer_closes_total", "Connections closed because their outbound queue was full."),
		handshakeErrors:     d("handshake_errors_total", "Requests refused by the Engine.IO layer, by error code.", "code"),
		outboxMessages:      d("adapter_outbox_messages", "Messages waiting in the cluster adapter's outbox.", ns),
		outboxBytes:         d("adapter_outbox_bytes", "Bytes waiting in the cluster adapter's outbox.", ns),
		brokerUp:            d("adapter_broker_up", "1 while the cluster adapter's broker answers, 0 while messages wait.", ns),
		published:           d("adapter_published_total", "Messages the cluster adapter handed to its broker.", ns),
		publishErrors:       d("adapter_publish_errors_total", "Messages the cluster adapter's outbox gave up, by reason.", ns, "reason"),
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range m.d.all() {
		ch <- d
	}
	m.ack.Describe(ch)
}

func (d *descs) all() []*prometheus.Desc {
	return []*prometheus.Desc{
		d.socketsConnected, d.connections, d.connectErrors, d.disconnections,
		d.eventsReceived, d.eventsSent, d.broadcasts, d.deliveries, d.ackTimeouts,
		d.engConnections, d.engConnectionsTotal, d.engDisconnections, d.engUpgrade,
		d.engRecvPackets, d.engRecvBytes, d.engSentPackets, d.engSentBytes,
		d.engDropped, d.engSlow, d.handshakeErrors,
		d.outboxMessages, d.outboxBytes, d.brokerUp, d.published, d.publishErrors,
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}

	m.mu.RLock()
	nss := make([]*nsStats, 0, len(m.nss))
	for _, s := range m.nss {
		nss = append(nss, s)
	}
	m.mu.RUnlock()
	for _, s := range nss {
		n := s.name
		counter(m.d.connections, s.connections.Load(), n)
		counter(m.d.connectErrors, s.refused.Load(), n)
		counter(m.d.eventsReceived, s.eventsIn.Load(), n)
		delivered := s.deliveries.Load()
		counter(m.d.eventsSent, s.eventsOut.Load()+delivered, n)
		counter(m.d.broadcasts, s.broadcasts.Load(), n)
		counter(m.d.deliveries, delivered, n)
		counter(m.d.ackTimeouts, s.ackTimeouts.Load(), n)
		s.mu.Lock()
		for reason, v := range s.disconnects {
			counter(m.d.disconnections, v, n, reason)
		}
		s.mu.Unlock()
	}
	m.ack.Collect(ch)

	for _, nsp := range m.srv.Namespaces() {
		n := nsp.Name()
		gauge(m.d.socketsConnected, float64(len(nsp.Sockets())), n)
		r, ok := nsp.Adapter().(adapter.OutboxReporter)
		if !ok {
			continue
		}
		st := r.OutboxStats()
		gauge(m.d.outboxMessages, float64(st.Queued), n)
		gauge(m.d.outboxBytes, float64(st.QueuedBytes), n)
		up := 1.0
		if st.Down {
			up = 0
		}
		gauge(m.d.brokerUp, up, n)
		counter(m.d.published, st.Published, n)
		counter(m.d.publishErrors, st.Overflowed, n, "overflow")
		counter(m.d.publishErrors, st.Expired, n, "expired")
		counter(m.d.publishErrors, st.Abandoned, n, "abandoned")
	}

	e := &m.eng
	for tr, n := range m.srv.Engine().ClientsByTransport() {
		gauge(m.d.engConnections, float64(n), tr)
	}
	counter(m.d.engConnectionsTotal, e.openedPolling.Load(), engineio.Polling)
	counter(m.d.engConnectionsTotal, e.openedWebSocket.Load(), engineio.WebSocket)
	if v := e.openedWebTransport.Load(); v > 0 {
		counter(m.d.engConnectionsTotal, v, engineio.WebTransport)
	}
	counter(m.d.engUpgrade, e.upgrades.Load())
	counter(m.d.engRecvPackets, e.recvPackets.Load())
	counter(m.d.engRecvBytes, e.recvBytes.Load())
	counter(m.d.engSentPackets, e.sentPackets.Load())
	counter(m.d.engSentBytes, e.sentBytes.Load())
	counter(m.d.engDropped, e.dropped.Load())
	counter(m.d.engSlow, e.slow.Load())
	for code := range e.refused {
		v := e.refused[code].Load()
		switch {
		case code == len(e.refused)-1:
			if v > 0 {
				counter(m.d.handshakeErrors, v, "other")
			}
		case code <= int(engineio.UnsupportedProtocolVersion) || v > 0:
			counter(m.d.handshakeErrors, v, strconv.Itoa(code))
		}
	}
	e.mu.Lock()
	for reason, v := range e.disconnects {
		counter(m.d.engDisconnections, v, reason)
	}
	e.mu.Unlock()
}

// nsStats counts the events of one namespace. The counters that every
// event or delivery touches sit on cache lines of their own.
type nsStats struct {
	name string
	ack  prometheus.Observer

	eventsIn    atomic.Uint64
	_           [56]byte
	eventsOut   atomic.Uint64
	_           [56]byte
	deliveries  atomic.Uint64
	_           [56]byte
	broadcasts  atomic.Uint64
	connections atomic.Uint64
	refused     atomic.Uint64
	ackTimeouts atomic.Uint64

	mu          sync.Mutex
	disconnects map[string]uint64 // guarded by mu; by reason
}

// nsObserverFactory is the Metrics as a socketio.Observer.
type nsObserverFactory Metrics

func (f *nsObserverFactory) Namespace(n *socketio.Namespace) socketio.NamespaceObserver {
	m := (*Metrics)(f)
	name := n.Name()
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.nss[name]
	if s == nil {
		s = &nsStats{name: name, ack: m.ack.WithLabelValues(name), disconnects: make(map[string]uint64)}
		m.nss[name] = s
	}
	return s
}

func (s *nsStats) Connected(*socketio.Socket) { s.connections.Add(1) }
func (s *nsStats) Refused(error)              { s.refused.Add(1) }
func (s *nsStats) Disconnected(_ *socketio.Socket, reason socketio.DisconnectReason, _ error) {
	s.mu.Lock()
	s.disconnects[string(reason)]++
	s.mu.Unlock()
}
func (s *nsStats) DataChanged(*socketio.Socket)  {}
func (s *nsStats) EventReceived()                { s.eventsIn.Add(1) }
func (s *nsStats) EventSent()                    { s.eventsOut.Add(1) }
func (s *nsStats) Broadcast()                    { s.broadcasts.Add(1) }
func (s *nsStats) Delivered()                    { s.deliveries.Add(1) }
func (s *nsStats) AckReceived(rtt time.Duration) { s.ack.Observe(rtt.Seconds()) }
func (s *nsStats) AckTimedOut()                  { s.ackTimeouts.Add(1) }

// engineStats counts the Engine.IO layer's events.
type engineStats struct {
	recvPackets atomic.Uint64
	recvBytes   atomic.Uint64
	_           [48]byte
	sentPackets atomic.Uint64
	sentBytes   atomic.Uint64
	_           [48]byte

	openedPolling, openedWebSocket atomic.Uint64
	openedWebTransport             atomic.Uint64
	upgrades, dropped, slow        atomic.Uint64
	refused                        [8]atomic.Uint64 // by error code; the last for any other code

	mu          sync.Mutex
	disconnects map[string]uint64 // guarded by mu; by reason
}

// engineObserver is the Metrics as an engineio.Observer.
type engineObserver Metrics

func (o *engineObserver) Opened(c *engineio.Conn) {
	switch c.Transport() {
	case engineio.Polling:
		o.eng.openedPolling.Add(1)
	case engineio.WebSocket:
		o.eng.openedWebSocket.Add(1)
	case engineio.WebTransport:
		o.eng.openedWebTransport.Add(1)
	}
}

func (o *engineObserver) Upgraded(*engineio.Conn) { o.eng.upgrades.Add(1) }

func (o *engineObserver) Closed(_ *engineio.Conn, reason string, err error) {
	if errors.Is(err, engineio.ErrSlowConsumer) {
		o.eng.slow.Add(1)
	}
	o.eng.mu.Lock()
	o.eng.disconnects[reason]++
	o.eng.mu.Unlock()
}

func (o *engineObserver) Refused(e *engineio.RequestError) {
	code := int(e.Code)
	if code < 0 || code >= len(o.eng.refused)-1 {
		code = len(o.eng.refused) - 1
	}
	o.eng.refused[code].Add(1)
}

func (o *engineObserver) Received(packets, bytes int) {
	o.eng.recvPackets.Add(uint64(packets))
	o.eng.recvBytes.Add(uint64(bytes))
}

func (o *engineObserver) Sent(packets, bytes int) {
	o.eng.sentPackets.Add(uint64(packets))
	o.eng.sentBytes.Add(uint64(bytes))
}

func (o *engineObserver) Dropped() { o.eng.dropped.Add(1) }

var (
	_ prometheus.Collector = (*Metrics)(nil)
	_ socketio.Observer    = (*nsObserverFactory)(nil)
	_ engineio.Observer    = (*engineObserver)(nil)
)
