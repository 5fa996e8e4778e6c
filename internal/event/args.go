package event

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/socketio-go/socketio/sioparser"
)

// Args are the arguments of a received event or acknowledgement, kept in
// their JSON form until decoded. Binary values (binary attachments on the
// wire) decode into []byte, or into an any as a []byte.
//
// An Args value is immutable and safe to use from any goroutine.
type Args struct {
	raw         [][]byte
	attachments [][]byte
	ack         bool // the event's sender asked for an acknowledgement
}

// WithAck returns a with the flag telling that the sender of the event
// asked for an acknowledgement.
func (a Args) WithAck(requested bool) Args {
	a.ack = requested
	return a
}

// AckRequested reports whether the sender of the event asked for an
// acknowledgement (always false for the arguments of an acknowledgement).
func (a Args) AckRequested() bool { return a.ack }

// NewArgs splits a JSON array payload. The payload was validated by the
// parser, so splitting cannot fail on it.
func NewArgs(data []byte, attachments [][]byte) Args {
	raw, err := sioparser.SplitArray(data)
	if err != nil {
		return Args{}
	}
	return Args{raw: raw, attachments: attachments}
}

// Len returns the number of arguments.
func (a Args) Len() int { return len(a.raw) }

// Raw returns the JSON text of argument i (binary values appear as
// placeholder objects). It returns nil when i is out of range.
func (a Args) Raw(i int) json.RawMessage {
	if i < 0 || i >= len(a.raw) {
		return nil
	}
	return a.raw[i]
}

// Decode decodes the first arguments into the values pointed to by ptrs, in
// order, with the rules of encoding/json. Missing arguments leave their
// targets untouched; extra arguments are ignored.
func (a Args) Decode(ptrs ...any) error {
	d := decoder{attachments: a.attachments}
	for i, p := range ptrs {
		if i >= len(a.raw) {
			break
		}
		if err := d.decode(a.raw[i], p); err != nil {
			return fmt.Errorf("socketio: argument %d: %w", i, err)
		}
	}
	return nil
}

// DecodeAt decodes argument i into the value ptr points to.
func (a Args) DecodeAt(i int, ptr any) error {
	if i < 0 || i >= len(a.raw) {
		return fmt.Errorf("socketio: no argument %d (have %d)", i, len(a.raw))
	}
	d := decoder{attachments: a.attachments}
	if err := d.decode(a.raw[i], ptr); err != nil {
		return fmt.Errorf("socketio: argument %d: %w", i, err)
	}
	return nil
}

// Values decodes every argument into generic Go values: map[string]any,
// []any, string, float64, bool, nil, and []byte for binary data.
func (a Args) Values() ([]any, error) {
	out := make([]any, len(a.raw))
	d := decoder{attachments: a.attachments}
	for i, raw := range a.raw {
		if err := d.decode(raw, &out[i]); err != nil {
			return nil, fmt.Errorf("socketio: argument %d: %w", i, err)
		}
	}
	return out, nil
}

// SplitEvent separates the event name from the arguments of an EVENT
// payload (a JSON array [name, args...]).
func SplitEvent(data []byte, attachments [][]byte) (string, Args, error) {
	all := NewArgs(data, attachments)
	if all.Len() == 0 {
		return "", Args{}, errors.New("socketio: empty event")
	}
	name, err := sioparser.EventName(all.raw[0])
	if err != nil {
		return "", Args{}, err
	}
	return name, Args{raw: all.raw[1:], attachments: attachments}, nil
}

// String returns the arguments as JSON text, for logs.
func (a Args) String() string {
	b := []byte{'['}
	for i, r := range a.raw {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	return string(append(b, ']'))
}
