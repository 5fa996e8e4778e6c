package socketio

import (
	"encoding/json"

	ev "github.com/socketio-go/socketio/internal/event"
)

// Args are the arguments of a received event or acknowledgement, kept in
// their JSON form until decoded. Binary values (attachments on the wire)
// decode into []byte, or into an any as a []byte. Decoding follows
// encoding/json (struct tags, case-insensitive field names).
//
// A handler parameter of type Args receives the event's arguments as they
// came; so does an acknowledgement callback's (Emit), which also tells an
// answer without arguments (Len() == 0) from an answer null
// (Raw(0) is "null"). An Args value is immutable and safe to use from any
// goroutine. The client package has the same type, client.Args.
type Args ev.Args

// Len returns the number of arguments.
func (a Args) Len() int { return ev.Args(a).Len() }

// Raw returns the JSON text of argument i (binary values appear as
// placeholder objects {"_placeholder":true,"num":N}), or nil when i is out
// of range.
func (a Args) Raw(i int) json.RawMessage { return ev.Args(a).Raw(i) }

// Decode decodes the first arguments into the values pointed to by ptrs, in
// order. Missing arguments leave their targets untouched; extra arguments
// are ignored.
func (a Args) Decode(ptrs ...any) error { return ev.Args(a).Decode(ptrs...) }

// DecodeAt decodes argument i into the value ptr points to.
func (a Args) DecodeAt(i int, ptr any) error { return ev.Args(a).DecodeAt(i, ptr) }

// Values decodes every argument into generic Go values: map[string]any,
// []any, string, float64, bool, nil, and []byte for binary data.
func (a Args) Values() ([]any, error) { return ev.Args(a).Values() }

// AckRequested reports whether the sender of the event asked for an
// acknowledgement (always false for the arguments of an acknowledgement).
func (a Args) AckRequested() bool { return ev.Args(a).AckRequested() }

// String returns the arguments as a JSON array, for logs.
func (a Args) String() string { return ev.Args(a).String() }
