package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/socketio-go/socketio/internal/event"
	"github.com/socketio-go/socketio/sioparser"
)

// Emit sends an event to the server. A trailing function argument asks for
// an acknowledgement and receives its arguments, decoded like a handler's
// parameters; when the emit has a timeout (Timeout or
// Options.AckTimeout), its first parameter must be an error: ErrTimeout
// when the server did not answer in time, ErrDisconnected when the
// connection was lost after the packet was sent. While the socket is not
// connected the event waits in the send buffer. Emit returns an error only
// for a reserved event name, arguments that cannot be encoded, or an
// acknowledgement callback of the wrong shape.
func (s *Socket) Emit(ev string, args ...any) error {
	return s.emit(ev, args, emitFlags{})
}

// Send emits a "message" event.
func (s *Socket) Send(args ...any) error { return s.emit("message", args, emitFlags{}) }

// EmitWithAck sends an event and waits for the server's acknowledgement,
// the emit's timeout (ErrTimeout) or ctx. Cancelling ctx stops the wait, not
// the delivery of the event.
func (s *Socket) EmitWithAck(ctx context.Context, ev string, args ...any) (Args, error) {
	return s.emitWithAck(ctx, ev, args, emitFlags{})
}

// Timeout returns an emitter whose acknowledgements time out after d
// (socket.timeout(d) in JavaScript).
func (s *Socket) Timeout(d time.Duration) *Emitter {
	return &Emitter{s: s, flags: emitFlags{timeout: d}}
}

// Volatile returns an emitter whose events are dropped, rather than
// buffered, when they cannot be written at once (not connected, or the
// transport busy).
func (s *Socket) Volatile() *Emitter {
	return &Emitter{s: s, flags: emitFlags{volatile: true}}
}

// Emitter emits with flags (Timeout, Volatile). It is immutable.
type Emitter struct {
	s     *Socket
	flags emitFlags
}

// Timeout sets the acknowledgement timeout.
func (e *Emitter) Timeout(d time.Duration) *Emitter {
	f := e.flags
	f.timeout = d
	return &Emitter{s: e.s, flags: f}
}

// Volatile makes the events volatile.
func (e *Emitter) Volatile() *Emitter {
	f := e.flags
	f.volatile = true
	return &Emitter{s: e.s, flags: f}
}

// Emit is Socket.Emit with the emitter's flags.
func (e *Emitter) Emit(ev string, args ...any) error { return e.s.emit(ev, args, e.flags) }

// EmitWithAck is Socket.EmitWithAck with the emitter's flags.
func (e *Emitter) EmitWithAck(ctx context.Context, ev string, args ...any) (Args, error) {
	return e.s.emitWithAck(ctx, ev, args, e.flags)
}

// timeoutOf returns the acknowledgement timeout of an emit; m.mu is held.
func (s *Socket) timeoutOf(f emitFlags) time.Duration {
	if f.timeout > 0 {
		return f.timeout
	}
	return s.ackTimeout
}

func (s *Socket) emit(ev string, args []any, f emitFlags) error {
	if sioparser.IsReservedEvent(ev) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, ev)
	}
	args, cb := event.SplitCallback(args)
	var deliver func(Args, error)
	if cb != nil {
		h, err := event.NewHandler(cb, true)
		if err != nil {
			return fmt.Errorf("client: acknowledgement callback %T: %w", cb, err)
		}
		s.m.mu.Lock()
		needErr := s.timeoutOf(f) > 0 || (s.retries > 0 && !f.volatile)
		s.m.mu.Unlock()
		if needErr && !h.ErrFirst() {
			return errors.New("client: with a timeout or retries, the acknowledgement callback's first parameter must be an error")
		}
		deliver = func(a Args, err error) {
			if err != nil && !h.ErrFirst() {
				return
			}
			s.m.post(func() { s.call("acknowledgement of", ev, func() error { return h.CallAck(event.Args(a), err) }) })
		}
	}
	data, atts, err := event.EncodeArgs(ev, true, args)
	if err != nil {
		return err
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if s.retries > 0 && !f.volatile {
		s.enqueueLocked(data, atts, f, deliver)
		return nil
	}
	var pa *pendingAck
	if deliver != nil {
		pa = &pendingAck{deliver: deliver}
	}
	s.emitLocked(data, atts, f, pa)
	return nil
}

func (s *Socket) emitWithAck(ctx context.Context, ev string, args []any, f emitFlags) (Args, error) {
	if sioparser.IsReservedEvent(ev) {
		return Args{}, fmt.Errorf("%w: %q", ErrReservedEvent, ev)
	}
	data, atts, err := event.EncodeArgs(ev, true, args)
	if err != nil {
		return Args{}, err
	}
	type result struct {
		args Args
		err  error
	}
	ch := make(chan result, 1)
	deliver := func(a Args, err error) { ch <- result{a, err} }
	s.m.mu.Lock()
	var id uint64
	hasID := false
	if s.retries > 0 && !f.volatile {
		s.enqueueLocked(data, atts, f, deliver)
	} else {
		id, hasID = s.emitLocked(data, atts, f, &pendingAck{deliver: deliver})
	}
	s.m.mu.Unlock()
	select {
	case r := <-ch:
		return r.args, r.err
	case <-ctx.Done():
		if hasID {
			s.m.mu.Lock()
			if pa := s.acks[id]; pa != nil {
				delete(s.acks, id)
				if pa.timer != nil {
					pa.timer.Stop()
				}
			}
			s.m.mu.Unlock()
		}
		return Args{}, ctx.Err()
	}
}

// emitLocked sends an EVENT packet, or buffers it while the socket is not
// connected (socket.emit in JavaScript). It returns the acknowledgement id
// when pa is set.
func (s *Socket) emitLocked(data []byte, atts [][]byte, f emitFlags, pa *pendingAck) (uint64, bool) {
	p := &sioparser.Packet{Type: sioparser.Event, Namespace: s.nsp, Data: data, Attachments: atts}
	if pa != nil {
		p.ID, p.HasID = s.nextAck, true
		s.nextAck++
		s.registerAckLocked(p.ID, pa, s.timeoutOf(f))
	}
	conn := s.m.connLocked()
	switch {
	case f.volatile && (conn == nil || !conn.Writable()):
		// Dropped: volatile events are not buffered.
	case s.connected && conn != nil:
		s.notifyOutgoingLocked(p)
		if err := conn.Send(f.volatile, s.m.packetMessages(p)...); err != nil && !f.volatile {
			// The connection is going away (ping overdue, closing):
			// keep the packet for the next one.
			s.sendBuf = append(s.sendBuf, p)
		}
	default:
		s.sendBuf = append(s.sendBuf, p)
	}
	return p.ID, p.HasID
}

func (s *Socket) registerAckLocked(id uint64, pa *pendingAck, timeout time.Duration) {
	s.acks[id] = pa
	if timeout <= 0 {
		return
	}
	pa.timer = time.AfterFunc(timeout, func() {
		s.m.mu.Lock()
		defer s.m.mu.Unlock()
		if s.acks[id] != pa {
			return
		}
		delete(s.acks, id)
		s.sendBuf = slices.DeleteFunc(s.sendBuf, func(p *sioparser.Packet) bool { return p.HasID && p.ID == id })
		pa.deliver(Args{}, ErrTimeout)
	})
}

// enqueueLocked adds an emit to the retry queue (socket._addToQueue).
func (s *Socket) enqueueLocked(data []byte, atts [][]byte, f emitFlags, done func(Args, error)) {
	q := &queuedEmit{seq: s.queueSeq, data: data, atts: atts, flags: f, done: done}
	s.queueSeq++
	s.queue = append(s.queue, q)
	s.drainQueueLocked(false)
}

// drainQueueLocked sends the head of the retry queue, unless it waits for
// its acknowledgement (or force is set: a new connection).
func (s *Socket) drainQueueLocked(force bool) {
	if !s.connected || len(s.queue) == 0 {
		return
	}
	q := s.queue[0]
	if q.pending && !force {
		return
	}
	q.pending = true
	q.tries++
	s.emitLocked(q.data, q.atts, q.flags, &pendingAck{deliver: func(a Args, err error) {
		if len(s.queue) == 0 || s.queue[0] != q {
			return // already acknowledged
		}
		if err != nil {
			if q.tries > s.retries {
				s.queue = s.queue[1:]
				if q.done != nil {
					q.done(Args{}, err)
				}
			}
		} else {
			s.queue = s.queue[1:]
			if q.done != nil {
				q.done(a, nil)
			}
		}
		q.pending = false
		s.drainQueueLocked(false)
	}})
}
