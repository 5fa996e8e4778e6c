package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	ev "github.com/socketio-go/socketio/internal/event"
	"slices"
	"sync"
	"time"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/sioparser"
)

// BroadcastOperator selects sockets of a namespace (by rooms, across the
// cluster unless Local) and acts on them. Each method returns a new
// operator; an operator can be kept and reused, from any goroutine.
type BroadcastOperator struct {
	nsp  *Namespace
	opts adapter.BroadcastOptions
}

func (b *BroadcastOperator) clone() *BroadcastOperator {
	c := *b
	c.opts.Rooms = slices.Clone(b.opts.Rooms)
	c.opts.Except = slices.Clone(b.opts.Except)
	return &c
}

// To adds rooms to the selection: sockets in any of them are selected.
func (b *BroadcastOperator) To(rooms ...string) *BroadcastOperator {
	c := b.clone()
	for _, r := range rooms {
		if !slices.Contains(c.opts.Rooms, r) {
			c.opts.Rooms = append(c.opts.Rooms, r)
		}
	}
	return c
}

// In is To.
func (b *BroadcastOperator) In(rooms ...string) *BroadcastOperator { return b.To(rooms...) }

// Except excludes the sockets in rooms.
func (b *BroadcastOperator) Except(rooms ...string) *BroadcastOperator {
	c := b.clone()
	for _, r := range rooms {
		if !slices.Contains(c.opts.Except, r) {
			c.opts.Except = append(c.opts.Except, r)
		}
	}
	return c
}

// Local restricts the operation to this server.
func (b *BroadcastOperator) Local() *BroadcastOperator {
	c := b.clone()
	c.opts.Flags.Local = true
	return c
}

// Volatile lets the event be dropped for clients not ready to receive it.
func (b *BroadcastOperator) Volatile() *BroadcastOperator {
	c := b.clone()
	c.opts.Flags.Volatile = true
	return c
}

// Compress sets whether the event is sent with WebSocket compression (true,
// the default) or without (false), as Node's compress(false): see
// Socket.Compress. Compressed or not, a broadcast is encoded once.
func (b *BroadcastOperator) Compress(compress bool) *BroadcastOperator {
	c := b.clone()
	c.opts.Flags.NoCompress = !compress
	return c
}

// Timeout sets how long to wait for acknowledgements.
func (b *BroadcastOperator) Timeout(d time.Duration) *BroadcastOperator {
	c := b.clone()
	c.opts.Flags.Timeout = d
	return c
}

// targets returns the namespaces an operation applies to: the namespace,
// or the children of a dynamic parent.
func (b *BroadcastOperator) targets() []*Namespace {
	if b.nsp.isParent() {
		return b.nsp.childList()
	}
	return []*Namespace{b.nsp}
}

// Emit sends an event to the selected sockets; the packet is encoded once.
// A trailing func(err error, responses []Args) argument asks for
// acknowledgements: it is called when every selected client answered, or
// with ErrTimeout and the answers so far when the Timeout (required) passed.
func (b *BroadcastOperator) Emit(event string, args ...any) error {
	if err := checkEventName(event); err != nil {
		return err
	}
	args, cb := ev.SplitCallback(args)
	if cb != nil {
		fn, ok := cb.(func(error, []Args))
		if !ok {
			return fmt.Errorf("socketio: a broadcast acknowledgement callback must be a func(error, []socketio.Args), not %T", cb)
		}
		if b.opts.Flags.Timeout <= 0 {
			return ErrNoTimeout
		}
		go func() {
			resps, err := b.EmitWithAck(context.Background(), event, args...)
			fn(err, resps)
		}()
		return nil
	}
	data, atts, err := ev.EncodeArgs(event, true, args)
	if err != nil {
		return err
	}
	for _, n := range b.targets() {
		p := &sioparser.Packet{Type: sioparser.Event, Namespace: n.name, Data: data, Attachments: atts}
		opts := b.opts
		if err := n.adapter.Broadcast(p, &opts); err != nil {
			return err
		}
		if o := n.obs.Load(); o != nil {
			o.broadcast()
		}
	}
	return nil
}

// EmitWithAck sends an event to the selected sockets and returns their
// acknowledgements once every one answered. When the Timeout passes or ctx
// is done first, it returns the answers so far with ErrTimeout (or the
// context's error). In a cluster, the answers from other servers carry only
// the first argument of each acknowledgement, as Node's adapters transmit.
func (b *BroadcastOperator) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	if err := checkEventName(event); err != nil {
		return nil, err
	}
	if b.nsp.isParent() {
		return nil, ErrParentNamespace
	}
	data, atts, err := ev.EncodeArgs(event, true, args)
	if err != nil {
		return nil, err
	}
	if d := b.opts.Flags.Timeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, d, ErrTimeout)
		defer cancel()
	}
	col := &ackCollector{expectedServers: -1, done: make(chan struct{})}
	p := &sioparser.Packet{Type: sioparser.Event, Namespace: b.nsp.name, Data: data, Attachments: atts}
	opts := b.opts
	a := b.nsp.adapter
	if err := a.BroadcastWithAck(p, &opts, col.clientCount, col.ack); err != nil {
		return nil, err
	}
	obs := b.nsp.obs.Load()
	if obs != nil {
		obs.broadcast()
	}
	servers, err := a.ServerCount(ctx)
	if err != nil {
		servers = 1
	}
	col.setServers(servers)
	select {
	case <-col.done:
		return col.result(), nil
	case <-ctx.Done():
		b.nsp.dropAcks(p.ID)
		err := context.Cause(ctx)
		if err == nil {
			err = ctx.Err()
		}
		if obs != nil && errors.Is(err, ErrTimeout) {
			obs.ackTimedOut()
		}
		return col.result(), err
	}
}

// dropAcks forgets a broadcast's acknowledgement id on every local socket.
func (n *Namespace) dropAcks(ackID uint64) {
	for _, s := range n.localSockets() {
		s.dropAck(ackID)
	}
}

// ackCollector counts the answers of a broadcast with acknowledgements, as
// Node's BroadcastOperator does: complete when every server reported its
// client count and every client answered.
type ackCollector struct {
	mu              sync.Mutex
	expectedServers int // -1 until known
	servers         int
	expectedClients int
	responses       []Args
	finished        bool
	done            chan struct{}
}

func (c *ackCollector) clientCount(n int) {
	c.mu.Lock()
	c.servers++
	c.expectedClients += n
	c.checkLocked()
	c.mu.Unlock()
}

func (c *ackCollector) ack(r adapter.AckResponse) {
	c.mu.Lock()
	c.responses = append(c.responses, Args(ev.NewArgs(r.Data, r.Attachments)))
	c.checkLocked()
	c.mu.Unlock()
}

func (c *ackCollector) setServers(n int) {
	c.mu.Lock()
	c.expectedServers = n
	c.checkLocked()
	c.mu.Unlock()
}

func (c *ackCollector) checkLocked() {
	if !c.finished && c.expectedServers >= 0 && c.servers >= c.expectedServers && len(c.responses) >= c.expectedClients {
		c.finished = true
		close(c.done)
	}
}

func (c *ackCollector) result() []Args {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.responses)
}

// FetchSockets describes the selected sockets, across the cluster.
func (b *BroadcastOperator) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	if b.nsp.isParent() {
		return nil, ErrParentNamespace
	}
	opts := b.opts
	infos, err := b.nsp.adapter.FetchSockets(ctx, &opts)
	if err != nil {
		return nil, err
	}
	out := make([]*RemoteSocket, len(infos))
	for i, info := range infos {
		out[i] = &RemoteSocket{
			ID:        info.ID,
			Handshake: info.Handshake,
			Rooms:     info.Rooms,
			Data:      info.Data,
			nsp:       b.nsp,
		}
	}
	return out, nil
}

// SocketsJoin makes the selected sockets join rooms.
func (b *BroadcastOperator) SocketsJoin(rooms ...string) error {
	for _, n := range b.targets() {
		opts := b.opts
		if err := n.adapter.AddSockets(&opts, rooms); err != nil {
			return err
		}
	}
	return nil
}

// SocketsLeave makes the selected sockets leave rooms.
func (b *BroadcastOperator) SocketsLeave(rooms ...string) error {
	for _, n := range b.targets() {
		opts := b.opts
		if err := n.adapter.DelSockets(&opts, rooms); err != nil {
			return err
		}
	}
	return nil
}

// DisconnectSockets disconnects the selected sockets; with close their
// connections are closed too.
func (b *BroadcastOperator) DisconnectSockets(close bool) error {
	for _, n := range b.targets() {
		opts := b.opts
		if err := n.adapter.DisconnectSockets(&opts, close); err != nil {
			return err
		}
	}
	return nil
}

// RemoteSocket describes a socket found by FetchSockets, on this server or
// another one of the cluster, and acts on it through the adapter.
type RemoteSocket struct {
	ID        string
	Handshake *Handshake
	Rooms     []string
	// Data is what the socket's server stored with SetData (Node:
	// socket.data): the Go value itself for a socket of this server; for a
	// socket of another server, Go or Node, the JSON it sent, as a
	// json.RawMessage that keeps its key order and numbers (binary values
	// as base64 strings). DecodeData reads either into a Go value.
	Data any

	nsp *Namespace
}

// DecodeData decodes the socket's data into the value v points to, as
// encoding/json does, whichever server holds the socket.
func (r *RemoteSocket) DecodeData(v any) error {
	raw, ok := r.Data.(json.RawMessage)
	if !ok {
		var err error
		if raw, err = json.Marshal(r.Data); err != nil {
			return fmt.Errorf("socketio: socket data: %w", err)
		}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("socketio: socket data: %w", err)
	}
	return nil
}

func (r *RemoteSocket) operator() *BroadcastOperator {
	return &BroadcastOperator{nsp: r.nsp, opts: adapter.BroadcastOptions{
		Rooms: []string{r.ID},
		Flags: adapter.BroadcastFlags{ExpectSingleResponse: true},
	}}
}

// Emit sends an event to the socket.
func (r *RemoteSocket) Emit(event string, args ...any) error {
	return r.operator().Emit(event, args...)
}

// EmitWithAck sends an event and waits for the socket's acknowledgement.
func (r *RemoteSocket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	resps, err := r.operator().EmitWithAck(ctx, event, args...)
	if len(resps) > 0 {
		return resps[0], err
	}
	if err == nil {
		err = ErrDisconnected
	}
	return Args{}, err
}

// Timeout returns an operator for the socket whose acknowledgements time
// out after d.
func (r *RemoteSocket) Timeout(d time.Duration) *BroadcastOperator { return r.operator().Timeout(d) }

// Join makes the socket join rooms.
func (r *RemoteSocket) Join(rooms ...string) error { return r.operator().SocketsJoin(rooms...) }

// Leave makes the socket leave rooms.
func (r *RemoteSocket) Leave(rooms ...string) error { return r.operator().SocketsLeave(rooms...) }

// Disconnect disconnects the socket; with close its connection is closed.
func (r *RemoteSocket) Disconnect(close bool) error { return r.operator().DisconnectSockets(close) }
