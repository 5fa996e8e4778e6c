package adminui

import (
	"encoding/json"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/engineio"
)

// observer is the AdminUI as a socketio.Observer (development mode): it
// reports every socket of every namespace to the UIs.
type observer AdminUI

func (o *observer) Namespace(n *socketio.Namespace) socketio.NamespaceObserver {
	return &nsObserver{ui: (*AdminUI)(o), nsp: n}
}

// nsObserver reports the sockets of one namespace.
type nsObserver struct {
	ui  *AdminUI
	nsp *socketio.Namespace
}

func (o *nsObserver) Connected(s *socketio.Socket) {
	ui, name := o.ui, o.nsp.Name()
	ui.mu.Lock()
	cid := s.Conn().ID()
	ui.conns[cid] = append(ui.conns[cid], s)
	ui.mu.Unlock()
	// Node copies the data a middleware set key by key, each copy
	// reported before socket_connected.
	if keys, vals := dataKeys(s.Data()); len(keys) > 0 {
		partial := make(map[string]json.RawMessage, len(keys))
		for i, k := range keys {
			partial[k] = vals[i]
			ui.broadcast("socket_updated", dataUpdate{ID: s.ID(), Nsp: name, Data: orderedObject(keys[:i+1], partial)})
		}
	}
	ui.broadcast("socket_connected", serializeLocal(s), now())
	if o.nsp == ui.admin {
		return // the UI's own traffic is not reported as events
	}
	s.OnAny(func(event string, args socketio.Args) {
		ui.broadcast("event_received", name, s.ID(), eventArgs(event, args), now())
	})
	s.OnAnyOutgoing(func(event string, args socketio.Args) {
		ui.broadcast("event_sent", name, s.ID(), eventArgs(event, args), now())
	})
}

func (o *nsObserver) Disconnected(s *socketio.Socket, reason socketio.DisconnectReason, _ error) {
	ui := o.ui
	ui.mu.Lock()
	cid := s.Conn().ID()
	list := slices.DeleteFunc(ui.conns[cid], func(x *socketio.Socket) bool { return x == s })
	if len(list) == 0 {
		delete(ui.conns, cid)
	} else {
		ui.conns[cid] = list
	}
	ui.mu.Unlock()
	ui.broadcast("socket_disconnected", o.nsp.Name(), s.ID(), string(reason), now())
}

func (o *nsObserver) DataChanged(s *socketio.Socket) {
	if !s.Connected() {
		return // a middleware's: Connected reports it
	}
	o.ui.broadcast("socket_updated", dataUpdate{ID: s.ID(), Nsp: o.nsp.Name(), Data: serializeData(s.Data())})
}

func (o *nsObserver) Refused(error)                 {}
func (o *nsObserver) EventReceived()                {}
func (o *nsObserver) EventSent()                    {}
func (o *nsObserver) Broadcast()                    {}
func (o *nsObserver) Delivered()                    {}
func (o *nsObserver) AckReceived(rtt time.Duration) {}
func (o *nsObserver) AckTimedOut()                  {}

// The two forms of socket_updated, with Node's key order.
type (
	dataUpdate struct {
		ID   string          `json:"id"`
		Nsp  string          `json:"nsp"`
		Data json.RawMessage `json:"data"`
	}
	transportUpdate struct {
		ID        string `json:"id"`
		Nsp       string `json:"nsp"`
		Transport string `json:"transport"`
	}
)

// eventArgs is [event, ...args] as the UI shows it: the arguments as they
// came (binary ones as binary).
func eventArgs(event string, args socketio.Args) []any {
	out := make([]any, 1, 1+args.Len())
	out[0] = event
	vals, err := args.Values()
	if err != nil {
		return out
	}
	return append(out, rawArgs(args, vals, 0)...)
}

// watchRooms reports the room changes of a namespace (once per namespace).
func (ui *AdminUI) watchRooms(n *socketio.Namespace) {
	ui.mu.Lock()
	seen := ui.watched[n]
	ui.watched[n] = true
	ui.mu.Unlock()
	if seen {
		return
	}
	name := n.Name()
	n.OnJoinRoom(func(room, id string) { ui.broadcast("room_joined", name, room, id, now()) })
	n.OnLeaveRoom(func(room, id string) { ui.broadcast("room_left", name, room, id, now()) })
}

// engineObserver is the AdminUI as an engineio.Observer: the aggregated
// events of the statistics, and the transport of upgraded sockets.
type engineObserver AdminUI

func (o *engineObserver) Opened(*engineio.Conn) { o.stats.connections.Add(1) }

func (o *engineObserver) Upgraded(c *engineio.Conn) {
	ui := (*AdminUI)(o)
	if !ui.dev {
		return
	}
	ui.mu.Lock()
	sockets := slices.Clone(ui.conns[c.ID()])
	ui.mu.Unlock()
	for _, s := range sockets {
		ui.broadcast("socket_updated", transportUpdate{ID: s.ID(), Nsp: s.Namespace().Name(), Transport: c.Transport()})
	}
}

func (o *engineObserver) Closed(_ *engineio.Conn, reason string, _ error) {
	o.stats.disconnected(reason)
}

func (o *engineObserver) Refused(*engineio.RequestError) {}

func (o *engineObserver) Received(packets, bytes int) {
	o.stats.packetsIn.Add(int64(packets))
	o.stats.bytesIn.Add(int64(bytes))
}

func (o *engineObserver) Sent(packets, bytes int) {
	o.stats.packetsOut.Add(int64(packets))
	o.stats.bytesOut.Add(int64(bytes))
}

func (o *engineObserver) Dropped() {}

// eventBuffer counts the aggregated events between two statistics.
type eventBuffer struct {
	connections, packetsIn, bytesIn, packetsOut, bytesOut atomic.Int64

	mu            sync.Mutex
	disconnects   map[string]int64 // guarded by mu; by reason
	disconnectSeq []string         // guarded by mu; reasons in order of first appearance
}

func (b *eventBuffer) init() { b.disconnects = make(map[string]int64) }

func (b *eventBuffer) disconnected(reason string) {
	b.mu.Lock()
	if _, ok := b.disconnects[reason]; !ok {
		b.disconnectSeq = append(b.disconnectSeq, reason)
	}
	b.disconnects[reason]++
	b.mu.Unlock()
}

type aggregatedEvent struct {
	Timestamp int64  `json:"timestamp"`
	Type      string `json:"type"`
	SubType   string `json:"subType,omitempty"`
	Count     int64  `json:"count"`
}

// drain returns the counts since the last call, stamped with the current
// second (Node stamps each with its own second; the UI groups them by ten
// seconds).
func (b *eventBuffer) drain() []aggregatedEvent {
	ts := time.Now().Truncate(time.Second).UnixMilli()
	out := []aggregatedEvent{}
	for _, c := range []struct {
		typ string
		v   *atomic.Int64
	}{
		{"rawConnection", &b.connections},
		{"packetsIn", &b.packetsIn},
		{"bytesIn", &b.bytesIn},
		{"packetsOut", &b.packetsOut},
		{"bytesOut", &b.bytesOut},
	} {
		if n := c.v.Swap(0); n > 0 {
			out = append(out, aggregatedEvent{Timestamp: ts, Type: c.typ, Count: n})
		}
	}
	b.mu.Lock()
	for _, r := range b.disconnectSeq {
		out = append(out, aggregatedEvent{Timestamp: ts, Type: "rawDisconnection", SubType: r, Count: b.disconnects[r]})
	}
	clear(b.disconnects)
	b.disconnectSeq = b.disconnectSeq[:0]
	b.mu.Unlock()
	return out
}

type serverStats struct {
	ServerID            string            `json:"serverId"`
	Hostname            string            `json:"hostname"`
	PID                 int               `json:"pid"`
	Uptime              float64           `json:"uptime"`
	ClientsCount        int               `json:"clientsCount"`
	PollingClientsCount int               `json:"pollingClientsCount"`
	AggregatedEvents    []aggregatedEvent `json:"aggregatedEvents"`
	Namespaces          []namespaceStats  `json:"namespaces"`
}

type namespaceStats struct {
	Name         string `json:"name"`
	SocketsCount int    `json:"socketsCount"`
}

// processStart approximates the process's start for the uptime.
var processStart = time.Now()

// sendStats sends the statistics to every UI and schedules the next.
func (ui *AdminUI) sendStats() {
	polling := ui.srv.Engine().ClientsByTransport()[engineio.Polling]
	st := serverStats{
		ServerID:            ui.opts.ServerID,
		Hostname:            ui.hostname,
		PID:                 os.Getpid(),
		Uptime:              time.Since(processStart).Seconds(),
		ClientsCount:        ui.srv.Engine().ClientsCount(),
		PollingClientsCount: polling,
		AggregatedEvents:    ui.stats.drain(),
		Namespaces:          []namespaceStats{},
	}
	for _, n := range ui.srv.Namespaces() {
		st.Namespaces = append(st.Namespaces, namespaceStats{Name: n.Name(), SocketsCount: len(n.Sockets())})
	}
	ui.broadcast("server_stats", st)
	ui.mu.Lock()
	defer ui.mu.Unlock()
	if !ui.closed {
		ui.timer = time.AfterFunc(ui.opts.StatsInterval, ui.sendStats)
	}
}
