package client

import (
	"fmt"
	"reflect"
	"slices"
	"unsafe"

	"github.com/socketio-go/socketio/internal/event"
)

// listener is a handler registered for an event.
type listener struct {
	id   unsafe.Pointer // the function registered, for Off (funcID)
	once bool
	// One of:
	h          *event.Handler                           // On, Once, OnConnect
	disconnect func(reason DisconnectReason, err error) // OnDisconnect
	connectErr func(err error)                          // OnConnectError, On("connect_error")
}

// anyListener is an OnAny or OnAnyOutgoing handler.
type anyListener struct {
	id unsafe.Pointer
	fn func(event string, args Args)
}

// funcID identifies a function value the way JavaScript compares
// listeners: the same value, however copied, is the same function, and two
// closures of one function literal are two functions. It is the pointer to
// the closure held in the interface's data word (a func value is a
// pointer, stored as is); reflect's Pointer would not do, being the code
// that every closure of a literal shares. It returns nil for nil and for
// non-functions.
func funcID(fn any) unsafe.Pointer {
	if fn == nil || reflect.TypeOf(fn).Kind() != reflect.Func {
		return nil
	}
	return (*[2]unsafe.Pointer)(unsafe.Pointer(&fn))[1]
}

// mustFunc panics, as On does, when fn is not a non-nil function.
func mustFunc(method, ev string, fn any) unsafe.Pointer {
	id := funcID(fn)
	if id == nil {
		if ev == "" {
			panic(fmt.Sprintf("client: %s(%T): a handler must be a function, not nil", method, fn))
		}
		if fn != nil && reflect.TypeOf(fn).Kind() != reflect.Func {
			panic(fmt.Sprintf("client: %s(%q, %T): a handler must be a function, not %T", method, ev, fn, fn))
		}
		panic(fmt.Sprintf("client: %s(%q, %T): a handler must be a function, not nil", method, ev, fn))
	}
	return id
}

// On registers a handler for an event. The handler is a function whose
// parameters receive the event's arguments decoded from JSON, and whose
// optional last parameter, of function type, is the acknowledgement
// callback: calling it answers the server with its arguments. The callback
// is nil when the server asked for no acknowledgement.
//
//	s.On("chat", func(msg ChatMessage) { ... })
//	s.On("ask", func(q string, ack func(string)) {
//		if ack != nil { // nil when the server asked for no acknowledgement
//			ack("yes")
//		}
//	})
//	s.On("raw", func(args client.Args, ack func(...any)) { ... }) // args.AckRequested() == (ack != nil)
//	s.On("any", func(vals ...any) { ... }) // the callback, if asked for, is the last value, a func(...any)
//
// Parameters are decoded like encoding/json (struct tags, case-insensitive
// names); []byte receives binary data, anywhere in a value; a parameter of
// type Args receives the arguments undecoded. Missing arguments leave zero
// values, extra ones are ignored. One event is answered once: the first
// call of the callback, by any of the event's handlers, sends the
// acknowledgement; later calls do nothing.
//
// A handler returns nothing or an error, which goes to the OnError
// handlers: answers go through the acknowledgement callback.
//
// Arguments that do not decode into the parameters (a number for a string,
// say) are not handed to the handler: the error, wrapping
// ErrInvalidArguments, is logged as a warning (namespace, event, error)
// and passed to the OnError handlers, and no acknowledgement is sent (the
// server's timeout, if it set one, tells it).
//
// "connect" (no arguments), "disconnect" (the reason as a string) and
// "connect_error" (a func(error)) are the lifecycle events, as in
// JavaScript; see also OnConnect, OnDisconnect and OnConnectError.
//
// On panics if handler is not a function of such a shape (a mistake in the
// program, which must not leave an event silently unhandled), as net/http
// does for a bad pattern.
func (s *Socket) On(ev string, handler any) { s.addListener("Socket.On", ev, handler, false) }

// Once is On for the next occurrence of the event only: the handler is
// removed before it runs (socket.once in JavaScript).
func (s *Socket) Once(ev string, handler any) { s.addListener("Socket.Once", ev, handler, true) }

func (s *Socket) addListener(method, ev string, handler any, once bool) {
	l := &listener{once: once}
	if ev == "connect_error" {
		fn, ok := handler.(func(error))
		if !ok {
			panic(fmt.Sprintf("client: %s(%q, %T): a connect_error handler is a func(error)", method, ev, handler))
		}
		mustFunc(method, ev, fn)
		l.connectErr = fn
	} else {
		l.h = mustHandler(method, ev, handler)
	}
	l.id = funcID(handler)
	s.addLocked(ev, l)
}

func (s *Socket) addLocked(ev string, l *listener) {
	s.m.mu.Lock()
	s.handlers[ev] = append(s.handlers[ev], l)
	s.m.mu.Unlock()
}

// mustHandler validates a handler at registration; a function that cannot
// be called with event arguments panics (see On).
// The common raw shapes skip reflection.
func init() {
	event.RegisterFast(func(Args) {}, func(fn any, a event.Args, _ event.AckSender) error { fn.(func(Args))(Args(a)); return nil })
	event.RegisterFast(func(Args, func(...any)) {}, func(fn any, a event.Args, ack event.AckSender) error {
		fn.(func(Args, func(...any)))(Args(a), ack.Once())
		return nil
	})
}

func mustHandler(method, ev string, fn any) *event.Handler {
	if fn != nil {
		mustFunc(method, ev, fn) // a nil func value is no handler either
	}
	h, err := event.NewHandler(fn, false)
	if err != nil {
		panic(fmt.Sprintf("client: %s(%q, %T): %v", method, ev, fn, err))
	}
	return h
}

// Off removes handlers of an event: with none given, all of them
// (OnConnect, OnDisconnect and OnConnectError handlers included, for those
// events); otherwise each given handler, compared by identity as
// JavaScript does: the function value that was registered (On, Once or the
// OnConnect... shortcuts), not another closure of the same literal, nor a
// new method value (s.Off(ev, obj.Method) does not remove
// s.On(ev, obj.Method): keep the value, h := obj.Method). A handler
// registered several times is removed once per time it is given. Handlers
// already queued for an event that has happened still run.
func (s *Socket) Off(ev string, handlers ...any) {
	ids := make([]unsafe.Pointer, len(handlers))
	for i, h := range handlers {
		ids[i] = mustFunc("Socket.Off", ev, h)
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if len(handlers) == 0 {
		delete(s.handlers, ev)
		return
	}
	ls := s.handlers[ev]
	for _, id := range ids {
		if i := slices.IndexFunc(ls, func(l *listener) bool { return l.id == id }); i >= 0 {
			ls = slices.Concat(ls[:i:i], ls[i+1:]) // a new list: copies in use stay valid
		}
	}
	s.setLocked(ev, ls)
}

func (s *Socket) setLocked(ev string, ls []*listener) {
	if len(ls) == 0 {
		delete(s.handlers, ev)
		return
	}
	s.handlers[ev] = ls
}

// takeListeners returns the handlers of ev for an occurrence of it, and
// removes those registered with Once.
func (s *Socket) takeListeners(ev string) []*listener {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	ls := s.handlers[ev]
	if slices.ContainsFunc(ls, func(l *listener) bool { return l.once }) {
		s.setLocked(ev, slices.DeleteFunc(slices.Clone(ls), func(l *listener) bool { return l.once }))
	}
	return ls
}

// dispatchLocked queues an occurrence of a lifecycle event for the handler
// goroutine: run calls one handler. The handlers are those registered when
// it runs, as for events.
func (s *Socket) dispatchLocked(ev string, run func(l *listener) error) {
	s.m.post(func() {
		for _, l := range s.takeListeners(ev) {
			s.call("event", ev, func() error { return run(l) })
		}
	})
}

// OnAny registers fn for every incoming event, before its handlers.
func (s *Socket) OnAny(fn func(event string, args Args)) {
	id := mustFunc("Socket.OnAny", "", fn)
	s.m.mu.Lock()
	s.anyIn = append(s.anyIn, anyListener{id, fn})
	s.m.mu.Unlock()
}

// OffAny removes OnAny handlers: all of them when none is given, otherwise
// each given one, compared by identity as Off does.
func (s *Socket) OffAny(fns ...func(event string, args Args)) {
	s.m.mu.Lock()
	s.anyIn = offAny(s.anyIn, fns)
	s.m.mu.Unlock()
}

// OnAnyOutgoing registers fn for every event sent to the server.
func (s *Socket) OnAnyOutgoing(fn func(event string, args Args)) {
	id := mustFunc("Socket.OnAnyOutgoing", "", fn)
	s.m.mu.Lock()
	s.anyOut = append(s.anyOut, anyListener{id, fn})
	s.m.mu.Unlock()
}

// OffAnyOutgoing removes OnAnyOutgoing handlers: all of them when none is
// given, otherwise each given one, compared by identity as Off does.
func (s *Socket) OffAnyOutgoing(fns ...func(event string, args Args)) {
	s.m.mu.Lock()
	s.anyOut = offAny(s.anyOut, fns)
	s.m.mu.Unlock()
}

// offAny returns ls without fns (all of them when fns is empty).
func offAny(ls []anyListener, fns []func(string, Args)) []anyListener {
	if len(fns) == 0 {
		return nil
	}
	for _, fn := range fns {
		id := funcID(fn)
		if i := slices.IndexFunc(ls, func(l anyListener) bool { return l.id == id && id != nil }); i >= 0 {
			ls = slices.Concat(ls[:i:i], ls[i+1:])
		}
	}
	return ls
}

// OnConnect registers fn, called each time the socket connects
// (reconnections included): On("connect", fn).
func (s *Socket) OnConnect(fn func()) {
	s.addLocked("connect", &listener{id: mustFunc("Socket.OnConnect", "connect", fn), h: mustHandler("Socket.OnConnect", "connect", fn)})
}

// OnDisconnect registers fn, called each time the socket disconnects, with
// the reason and, where there is one, the error behind it. Off("disconnect",
// fn) removes it.
func (s *Socket) OnDisconnect(fn func(reason DisconnectReason, err error)) {
	s.addLocked("disconnect", &listener{id: mustFunc("Socket.OnDisconnect", "disconnect", fn), disconnect: fn})
}

// OnConnectError registers fn, called when a connection attempt fails:
// with a *ConnectError when the server refused the namespace (the socket
// then stops trying; call Connect again, for instance after SetAuth), or
// with the error of the Engine.IO connection (reconnection goes on).
// Off("connect_error", fn) removes it.
func (s *Socket) OnConnectError(fn func(err error)) {
	s.addLocked("connect_error", &listener{id: mustFunc("Socket.OnConnectError", "connect_error", fn), connectErr: fn})
}
