package event

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
)

// Handler calls a user function with arguments decoded from a packet.
//
// The function's parameters are decoded from the event's arguments in order
// (missing arguments give zero values, extra ones are ignored unless the
// function is variadic). A parameter of type Args receives all the
// arguments undecoded. A trailing parameter of function type receives the
// acknowledgement callback: calling it sends its arguments back to the
// client (once; later calls do nothing). The function may return nothing or
// an error, which is reported to the socket's error handlers.
type Handler struct {
	fn   reflect.Value
	sig  *signature // shared by every function of the same type
	fast func(args Args, ack AckSender) error
}

// signature is what a handler's type says about how to call it.
type signature struct {
	params   []reflect.Type // data parameters; for a variadic function the last is its slice type
	variadic bool
	ack      reflect.Type // the ack parameter's type, or nil
	errOut   bool         // the function returns an error
	errFirst bool         // first parameter is an error (acknowledgement callbacks with a timeout)
}

type sigKey struct {
	t             reflect.Type
	allowErrFirst bool
}

// signatures caches the analysis of handler types: a server registers the
// same handlers on every socket.
var signatures sync.Map // sigKey -> *signature

// AckSender sends the arguments of an acknowledgement; nil when the peer did
// not ask for one.
type AckSender func(args []any)

var (
	argsType  = reflect.TypeFor[Args]()
	errorType = reflect.TypeFor[error]()
	anyAckTyp = reflect.TypeFor[func(...any)]()
)

// NewHandler validates fn. allowErrFirst accepts a first parameter of type
// error (for acknowledgement callbacks).
func NewHandler(fn any, allowErrFirst bool) (*Handler, error) {
	if fn == nil {
		return nil, errors.New("socketio: nil handler")
	}
	v := reflect.ValueOf(fn)
	t := v.Type()
	key := sigKey{t, allowErrFirst}
	var sig *signature
	if cached, ok := signatures.Load(key); ok {
		sig = cached.(*signature)
	} else {
		var err error
		if sig, err = analyze(t, allowErrFirst); err != nil {
			return nil, err
		}
		signatures.Store(key, sig)
	}
	return &Handler{fn: v, sig: sig, fast: fastPath(fn)}, nil
}

func analyze(t reflect.Type, allowErrFirst bool) (*signature, error) {
	if t.Kind() != reflect.Func {
		return nil, fmt.Errorf("socketio: handler must be a function, not %s", t)
	}
	sig := &signature{variadic: t.IsVariadic()}
	switch {
	case t.NumOut() == 0:
	case t.NumOut() == 1 && t.Out(0) == errorType:
		sig.errOut = true
	default:
		return nil, fmt.Errorf("socketio: handler %s may return only an error", t)
	}
	n := t.NumIn()
	first := 0
	if allowErrFirst && n > 0 && t.In(0) == errorType {
		sig.errFirst = true
		first = 1
	}
	if !sig.variadic && n > first && t.In(n-1).Kind() == reflect.Func {
		sig.ack = t.In(n - 1)
		if sig.ack.NumOut() != 0 {
			return nil, fmt.Errorf("socketio: acknowledgement parameter %s must not return values", sig.ack)
		}
		n--
	}
	for i := first; i < n; i++ {
		if t.In(i).Kind() == reflect.Func || t.In(i).Kind() == reflect.Chan {
			return nil, fmt.Errorf("socketio: handler parameter %d has type %s, which cannot be decoded", i, t.In(i))
		}
		sig.params = append(sig.params, t.In(i))
	}
	return sig, nil
}

// fastPath avoids reflection for the most common signatures.
func fastPath(fn any) func(Args, AckSender) error {
	switch f := fn.(type) {
	case func():
		return func(Args, AckSender) error { f(); return nil }
	case func(Args):
		return func(a Args, _ AckSender) error { f(a); return nil }
	case func(Args, func(...any)):
		return func(a Args, ack AckSender) error { f(a, ack.once()); return nil }
	case func(string):
		return func(a Args, _ AckSender) error {
			var s string
			if err := a.Decode(&s); err != nil {
				return err
			}
			f(s)
			return nil
		}
	case func(...any):
		return func(a Args, _ AckSender) error {
			vals, err := a.Values()
			if err != nil {
				return err
			}
			f(vals...)
			return nil
		}
	}
	return nil
}

// ErrFirst reports whether the function's first parameter is an error (an
// acknowledgement callback for an emit with a timeout).
func (h *Handler) ErrFirst() bool { return h.sig.errFirst }

// SplitCallback separates a trailing function argument (an acknowledgement
// callback) from the values to send.
func SplitCallback(args []any) ([]any, any) {
	if n := len(args); n > 0 && args[n-1] != nil && reflect.TypeOf(args[n-1]).Kind() == reflect.Func {
		return args[:n-1], args[n-1]
	}
	return args, nil
}

// once wraps an AckSender so that only its first call sends; a nil sender
// gives a no-op.
func (s AckSender) once() func(...any) {
	if s == nil {
		return func(...any) {}
	}
	var sent atomic.Bool
	return func(args ...any) {
		if sent.CompareAndSwap(false, true) {
			s(args)
		}
	}
}

// call invokes the Handler with decoded arguments.
func (h *Handler) Call(args Args, ack AckSender) error {
	if h.fast != nil {
		return h.fast(args, ack)
	}
	return h.invoke(args, ack, nil, false)
}

// callAck invokes an acknowledgement callback: err is passed to an error
// first parameter (nil on success).
func (h *Handler) CallAck(args Args, err error) error {
	if err != nil && !h.sig.errFirst {
		return nil // nothing to tell a callback that cannot take an error
	}
	return h.invoke(args, nil, err, h.sig.errFirst)
}

func (h *Handler) invoke(args Args, ack AckSender, errArg error, withErr bool) error {
	t := h.fn.Type()
	in := make([]reflect.Value, 0, t.NumIn())
	if withErr {
		ev := reflect.New(errorType).Elem()
		if errArg != nil {
			ev.Set(reflect.ValueOf(errArg))
		}
		in = append(in, ev)
	}
	d := decoder{attachments: args.attachments}
	fixed := len(h.sig.params)
	if h.sig.variadic {
		fixed--
	}
	for i := 0; i < fixed; i++ {
		pt := h.sig.params[i]
		if pt == argsType {
			in = append(in, reflect.ValueOf(args))
			continue
		}
		v := reflect.New(pt)
		if errArg == nil && i < args.Len() {
			if err := d.decode(args.raw[i], v.Interface()); err != nil {
				return fmt.Errorf("socketio: argument %d: cannot decode %s into %s: %w", i, args.raw[i], pt, err)
			}
		}
		in = append(in, v.Elem())
	}
	if h.sig.variadic {
		et := h.sig.params[fixed].Elem()
		for i := fixed; errArg == nil && i < args.Len(); i++ {
			v := reflect.New(et)
			if err := d.decode(args.raw[i], v.Interface()); err != nil {
				return fmt.Errorf("socketio: argument %d: cannot decode %s into %s: %w", i, args.raw[i], et, err)
			}
			in = append(in, v.Elem())
		}
	}
	if h.sig.ack != nil {
		in = append(in, makeAck(h.sig.ack, ack))
	}
	out := h.fn.Call(in)
	if h.sig.errOut && !out[0].IsNil() {
		return out[0].Interface().(error)
	}
	return nil
}

// makeAck builds a function of type t that sends its arguments as the
// acknowledgement.
func makeAck(t reflect.Type, ack AckSender) reflect.Value {
	send := ack.once()
	if t == anyAckTyp {
		return reflect.ValueOf(send)
	}
	return reflect.MakeFunc(t, func(in []reflect.Value) []reflect.Value {
		var vals []any
		for i, v := range in {
			if t.IsVariadic() && i == len(in)-1 {
				for j := 0; j < v.Len(); j++ {
					vals = append(vals, v.Index(j).Interface())
				}
				continue
			}
			vals = append(vals, v.Interface())
		}
		send(vals...)
		return nil
	})
}
