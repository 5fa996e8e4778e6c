package sioparser

import (
	"errors"
)

// Decoding errors. Their texts follow the reference parser's messages.
var (
	ErrUnknownType        = errors.New("sioparser: unknown packet type")
	ErrIllegalAttachments = errors.New("sioparser: illegal attachments")
	ErrTooManyAttachments = errors.New("sioparser: too many attachments")
	ErrInvalidPayload     = errors.New("sioparser: invalid payload")
	ErrUnexpectedText     = errors.New("sioparser: got plaintext data when reconstructing a packet")
	ErrUnexpectedBinary   = errors.New("sioparser: got binary data when not reconstructing a packet")
	ErrPacketTooLarge     = errors.New("sioparser: binary packet larger than the limit")
)

// maxSafeInteger is JavaScript's Number.MAX_SAFE_INTEGER, the largest
// acknowledgement id a JavaScript peer can represent exactly.
const maxSafeInteger = 1<<53 - 1

// DefaultMaxAttachments is the reference parser's default limit on the
// attachments of one packet.
const DefaultMaxAttachments = 10

// reservedEvents may not be sent by a peer: they name local lifecycle events.
var reservedEvents = map[string]bool{
	"connect":        true,
	"connect_error":  true,
	"disconnect":     true,
	"disconnecting":  true,
	"newListener":    true,
	"removeListener": true,
}

// IsReservedEvent reports whether name is reserved by the protocol
// implementations and must not be used for an application event.
func IsReservedEvent(name string) bool { return reservedEvents[name] }

// Decoder turns a sequence of Engine.IO messages into packets, joining binary
// packets with their attachments. A Decoder is not safe for concurrent use.
type Decoder struct {
	// MaxAttachments bounds the attachments of one packet; 0 means
	// DefaultMaxAttachments.
	MaxAttachments int
	// MaxBytes bounds the bytes of one binary packet, its JSON payload and
	// its attachments together, while it is being received; 0 means no
	// bound.
	// A peer that goes over it gets ErrPacketTooLarge and the partial
	// packet is dropped.
	MaxBytes int64

	pending *Packet // binary packet waiting for attachments
}

// Add feeds one message to the decoder. It returns a packet when one is
// complete, nil while attachments are still expected, or an error, after
// which the connection should be closed. Returned packets refer to data.
func (d *Decoder) Add(data []byte, binary bool) (*Packet, error) {
	return d.AddInto(nil, data, binary)
}

// AddInto is Add decoding a text message into *dst rather than a new
// Packet when dst is not nil: a packet complete at once is dst itself,
// and dst is not retained (a binary packet waiting for its attachments is
// copied), so that a caller can reuse it once done with the packet.
func (d *Decoder) AddInto(dst *Packet, data []byte, binary bool) (*Packet, error) {
	if binary {
		if d.pending == nil {
			return nil, ErrUnexpectedBinary
		}
		p := d.pending
		if d.MaxBytes > 0 && pendingSize(p)+int64(len(data)) > d.MaxBytes {
			d.Reset()
			return nil, ErrPacketTooLarge
		}
		p.Attachments = append(p.Attachments, data)
		if len(p.Attachments) < cap(p.Attachments) {
			return nil, nil
		}
		d.Reset()
		return p, nil
	}
	if d.pending != nil {
		return nil, ErrUnexpectedText
	}
	max := d.MaxAttachments
	if max <= 0 {
		max = DefaultMaxAttachments
	}
	fresh := dst == nil
	if fresh {
		dst = new(Packet)
	}
	n, err := decodeText(dst, data, max)
	if err != nil {
		return nil, err
	}
	p := dst
	if p.Type == BinaryEvent || p.Type == BinaryAck {
		if p.Type == BinaryEvent {
			p.Type = Event
		} else {
			p.Type = Ack
		}
		if n > 0 {
			if d.MaxBytes > 0 && int64(len(data)) > d.MaxBytes {
				return nil, ErrPacketTooLarge
			}
			if !fresh {
				p = new(Packet)
				*p = *dst
			}
			p.Attachments = make([][]byte, 0, n)
			d.pending = p
			return nil, nil
		}
	}
	return p, nil
}

// Reset drops a partially received binary packet.
func (d *Decoder) Reset() { d.pending = nil }

// pendingSize counts the bytes a pending packet holds: its payload (the
// header before it is a few bytes at most) and the attachments so far. It
// is computed rather than kept, so that an idle decoder stays small.
func pendingSize(p *Packet) int64 {
	n := int64(len(p.Data))
	for _, a := range p.Attachments {
		n += int64(len(a))
	}
	return n
}

// Pending reports whether the decoder waits for attachments.
func (d *Decoder) Pending() bool { return d.pending != nil }

// Decode decodes a packet that has no attachments (a text message that is
// not a binary packet header). It is a convenience for tests and tools.
func Decode(data []byte) (*Packet, error) {
	var d Decoder
	p, err := d.Add(data, false)
	if err == nil && p == nil {
		return nil, ErrIllegalAttachments
	}
	return p, err
}

// decodeText parses the text part of a packet and returns it with the
// number of attachments that follow.
func decodeText(p *Packet, s []byte, maxAttachments int) (int, error) {
	if len(s) == 0 || s[0] < '0' || s[0] > '6' {
		return 0, ErrUnknownType
	}
	*p = Packet{Type: Type(s[0] - '0'), Namespace: "/"}
	i := 1
	attachments := 0
	if p.Type == BinaryEvent || p.Type == BinaryAck {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if i-start >= 6 {
				return 0, ErrTooManyAttachments
			}
			attachments = attachments*10 + int(s[i]-'0')
			i++
		}
		if i == start || i >= len(s) || s[i] != '-' {
			return 0, ErrIllegalAttachments
		}
		if attachments > maxAttachments {
			return 0, ErrTooManyAttachments
		}
		i++ // -
	}
	if i < len(s) && s[i] == '/' {
		start := i
		for i < len(s) && s[i] != ',' {
			i++
		}
		p.Namespace = string(s[start:i])
		if i < len(s) {
			i++ // ,
		}
	}
	if i < len(s) && s[i] >= '0' && s[i] <= '9' {
		var id uint64
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			d := uint64(s[i] - '0')
			if id > (maxSafeInteger-d)/10 { // keep ids within JavaScript's safe integers
				return 0, ErrInvalidPayload
			}
			id = id*10 + d
			i++
		}
		p.ID, p.HasID = id, true
	}
	if i < len(s) {
		p.Data = s[i:]
	}
	check := -1
	if attachments > 0 {
		check = attachments
	}
	if err := validatePayload(p.Type, p.Data, check); err != nil {
		return 0, err
	}
	return attachments, nil
}

// validatePayload applies the reference parser's rules for each packet type.
func validatePayload(t Type, data []byte, attachments int) error {
	if data == nil {
		switch t {
		case Event, BinaryEvent, Ack, BinaryAck:
			// The protocol makes the payload mandatory for these types.
			return ErrInvalidPayload
		}
		return nil
	}
	kind, err := validJSON(data, attachments)
	if err != nil {
		if errors.Is(err, ErrIllegalAttachments) {
			return err
		}
		return ErrInvalidPayload
	}
	switch t {
	case Connect:
		if kind != '{' {
			return ErrInvalidPayload
		}
	case Disconnect:
		return ErrInvalidPayload
	case ConnectError:
		if kind != '{' && kind != '"' {
			return ErrInvalidPayload
		}
	case Event, BinaryEvent:
		if kind != '[' {
			return ErrInvalidPayload
		}
		first := firstElement(data)
		if first == nil {
			return ErrInvalidPayload
		}
		switch c := first[0]; {
		case c == '"':
			name, err := unquote(first)
			if err != nil || reservedEvents[name] {
				return ErrInvalidPayload
			}
		case c == '-' || (c >= '0' && c <= '9'):
		default:
			return ErrInvalidPayload
		}
	case Ack, BinaryAck:
		if kind != '[' {
			return ErrInvalidPayload
		}
	}
	return nil
}

// firstElement returns the first element of a valid JSON array, or nil.
func firstElement(data []byte) []byte {
	s := scanner{data: data, attachments: -1}
	s.skipSpace()
	s.pos++ // [
	s.skipSpace()
	if s.peek() == ']' {
		return nil
	}
	start := s.pos
	s.value()
	return data[start:s.pos]
}
