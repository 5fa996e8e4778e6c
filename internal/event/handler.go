package event

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
)

// Handler calls a user function with arguments decoded from a packet.
//
// The function's parameters are decoded from the event's arguments in order
// (missing arguments give zero values, extra ones are ignored unless the
// function is variadic). A parameter of type Args (or of a type defined as
// Args, such as socketio.Args) receives all the arguments undecoded. A
// trailing parameter of function type receives the acknowledgement
// callback: calling it sends its arguments back to the client (once; later
// calls do nothing); it is nil when the client asked for no
// acknowledgement. A variadic ...any function gets the callback as its last
// value, as a func(...any), when one was asked for (JavaScript's
// typeof last === "function"). The function may return nothing or an
// error, which is reported to the socket's error handlers.
//
// A Handler is 24 bytes and refers to nothing made for it alone: servers
// register the same handlers on every socket, and there are many sockets.
type Handler struct {
	fn  any        // the function
	sig *signature // shared by every function of the same type
}

// signature is what a handler's type says about how to call it.
type signature struct {
	params      []reflect.Type // data parameters; for a variadic function the last is its slice type
	argsParam   []bool         // params[i] receives the Args undecoded
	variadic    bool
	variadicAny bool         // the variadic parameter is ...any: it gets the ack callback too
	ack         reflect.Type // the ack parameter's type, or nil
	errOut      bool         // the function returns an error
	errFirst    bool         // first parameter is an error (acknowledgement callbacks with a timeout)
	fast        FastCall     // calls a function of this type without reflection, or nil
}

// FastCall calls fn, a function of the type it was registered for, without
// reflection.
type FastCall func(fn any, args Args, ack AckSender) error

// fastCalls holds the FastCalls registered with RegisterFast, by type.
var fastCalls sync.Map // reflect.Type -> FastCall

// RegisterFast gives the handlers of fn's type a call without reflection,
// for a signature the caller knows (one of its own Args types, say). It
// must be called before the first handler of that type is made (in an
// init function).
func RegisterFast(fn any, call FastCall) { fastCalls.Store(reflect.TypeOf(fn), call) }

// ErrInvalidArguments is wrapped by the errors of a handler call whose
// arguments do not decode into the handler's parameter types.
var ErrInvalidArguments = errors.New("socketio: arguments do not fit the handler")

type sigKey struct {
	t             reflect.Type
	allowErrFirst bool
}

// signatures caches the analysis of handler types: a server registers the
// same handlers on every socket.
var signatures sync.Map // sigKey -> *signature

// AckSender sends the arguments of an acknowledgement; nil when the peer did
// not ask for one.
// (Variadic, so that a sender that already sends once can be handed to a
// func(...any) parameter as it is.)
type AckSender func(args ...any)

var (
	argsType  = reflect.TypeFor[Args]()
	errorType = reflect.TypeFor[error]()
	anyType   = reflect.TypeFor[any]()
	anyAckTyp = reflect.TypeFor[func(...any)]()
)

// isArgsType reports whether a parameter of type t receives the arguments
// undecoded: Args, or a type defined from it (socketio.Args, client.Args).
// No other type can be converted to Args: its fields are unexported.
func isArgsType(t reflect.Type) bool {
	return t == argsType || (t.Kind() == reflect.Struct && t.ConvertibleTo(argsType))
}

// NewHandler validates fn. allowErrFirst accepts a first parameter of type
// error (for acknowledgement callbacks).
func NewHandler(fn any, allowErrFirst bool) (*Handler, error) {
	if fn == nil {
		return nil, errors.New("a handler must be a function, not nil")
	}
	t := reflect.TypeOf(fn)
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
	return &Handler{fn: fn, sig: sig}, nil
}

func analyze(t reflect.Type, allowErrFirst bool) (*signature, error) {
	if t.Kind() != reflect.Func {
		return nil, fmt.Errorf("a handler must be a function, not %s", t)
	}
	sig := &signature{variadic: t.IsVariadic()}
	switch {
	case t.NumOut() == 0:
	case t.NumOut() == 1 && t.Out(0) == errorType:
		sig.errOut = true
	default:
		return nil, fmt.Errorf("a handler returns nothing or an error, and %s returns %s: answer through an acknowledgement callback, its last parameter (func(x T, ack func(R)))", t, outTypes(t))
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
			return nil, fmt.Errorf("the acknowledgement parameter %s must not return values", sig.ack)
		}
		n--
	}
	for i := first; i < n; i++ {
		pt := t.In(i)
		if sig.variadic && i == n-1 {
			pt = pt.Elem()
		}
		switch pt.Kind() {
		case reflect.Func, reflect.Chan, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
			return nil, fmt.Errorf("parameter %d has type %s, which cannot be decoded from JSON (an acknowledgement callback must be the last parameter)", i, t.In(i))
		}
		sig.params = append(sig.params, t.In(i))
		sig.argsParam = append(sig.argsParam, isArgsType(t.In(i)))
	}
	sig.variadicAny = sig.variadic && len(sig.params) > 0 && sig.params[len(sig.params)-1].Elem() == anyType
	if f, ok := fastCalls.Load(t); ok {
		sig.fast = f.(FastCall)
	}
	return sig, nil
}

// outTypes lists the result types of t.
func outTypes(t reflect.Type) string {
	out := make([]string, t.NumOut())
	for i := range out {
		out[i] = t.Out(i).String()
	}
	return strings.Join(out, ", ")
}

// The most common signatures skip reflection.
func init() {
	RegisterFast(func() {}, func(fn any, _ Args, _ AckSender) error { fn.(func())(); return nil })
	RegisterFast(func(Args) {}, func(fn any, a Args, _ AckSender) error { fn.(func(Args))(a); return nil })
	RegisterFast(func(Args, func(...any)) {}, func(fn any, a Args, ack AckSender) error {
		fn.(func(Args, func(...any)))(a, ack.Once())
		return nil
	})
	RegisterFast(func(string) {}, func(fn any, a Args, _ AckSender) error {
		var s string
		if a.Len() > 0 {
			if err := (&decoder{attachments: a.attachments}).decode(a.raw[0], &s); err != nil {
				return decodeError(0, a.raw[0], reflect.TypeFor[string](), err)
			}
		}
		fn.(func(string))(s)
		return nil
	})
	RegisterFast(func(...any) {}, func(fn any, a Args, ack AckSender) error {
		vals, err := a.Values()
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidArguments, err)
		}
		if ack != nil {
			vals = append(vals, ack.Once())
		}
		fn.(func(...any))(vals...)
		return nil
	})
}

// decodeError describes an argument that does not decode into its
// parameter; the argument's text is cut short, since it comes from the
// peer and ends up in logs.
func decodeError(i int, raw []byte, t reflect.Type, err error) error {
	const max = 64
	shown := string(raw)
	if len(shown) > max {
		shown = shown[:max] + "…"
	}
	return fmt.Errorf("%w: argument %d (%s) does not decode into %s: %v", ErrInvalidArguments, i, shown, t, err)
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

// Once wraps an AckSender so that only its first call sends; a nil sender
// (no acknowledgement asked for) gives a nil function.
func (s AckSender) Once() func(...any) {
	if s == nil {
		return nil
	}
	var sent atomic.Bool
	return func(args ...any) {
		if sent.CompareAndSwap(false, true) {
			s(args...)
		}
	}
}

// call invokes the Handler with decoded arguments.
func (h *Handler) Call(args Args, ack AckSender) error {
	if h.sig.fast != nil {
		return h.sig.fast(h.fn, args, ack)
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
	fv := reflect.ValueOf(h.fn)
	t := fv.Type()
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
		if h.sig.argsParam[i] {
			in = append(in, reflect.ValueOf(args).Convert(pt))
			continue
		}
		v := reflect.New(pt)
		if errArg == nil && i < args.Len() {
			if err := d.decode(args.raw[i], v.Interface()); err != nil {
				return decodeError(i, args.raw[i], pt, err)
			}
		}
		in = append(in, v.Elem())
	}
	if h.sig.variadic {
		et := h.sig.params[fixed].Elem()
		for i := fixed; errArg == nil && i < args.Len(); i++ {
			v := reflect.New(et)
			if err := d.decode(args.raw[i], v.Interface()); err != nil {
				return decodeError(i, args.raw[i], et, err)
			}
			in = append(in, v.Elem())
		}
		if h.sig.variadicAny && ack != nil {
			in = append(in, reflect.ValueOf(ack.Once()))
		}
	}
	if h.sig.ack != nil {
		in = append(in, makeAck(h.sig.ack, ack))
	}
	out := fv.Call(in)
	if h.sig.errOut && !out[0].IsNil() {
		return out[0].Interface().(error)
	}
	return nil
}

// makeAck builds a function of type t that sends its arguments as the
// acknowledgement; a nil one when none was asked for.
func makeAck(t reflect.Type, ack AckSender) reflect.Value {
	if ack == nil {
		return reflect.Zero(t)
	}
	send := ack.Once()
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
