package sioparser

// Parser is a Socket.IO packet codec other than the default one (this
// package's Decoder and Packet.AppendText: JSON text with binary
// attachments), such as package msgpackparser's. The server and the Go
// client take one in their Options; nil selects the default.
//
// Both ends of a connection must use the same parser. A Parser maps one
// packet to one Engine.IO message and back, so it keeps no state between
// messages. Whatever the wire format, packets are this package's: Data is
// JSON, and binary values are Attachments behind placeholders
// ({"_placeholder":true,"num":N}), so that handlers, acknowledgements and
// adapters see the same packets whatever the parser.
//
// Implementations must be safe for concurrent use.
type Parser interface {
	// Encode appends the message of p to dst and reports whether it is a
	// binary message (false: text, which must be valid UTF-8). An Event
	// or Ack with Attachments is one message too: the encoding carries
	// the binary values itself. On error dst is returned unchanged.
	Encode(dst []byte, p *Packet) (msg []byte, binary bool, err error)
	// Decode decodes one message into a packet that Decoder.Add could
	// have returned: types Connect to ConnectError (binary values as
	// Attachments of an Event or Ack, never BinaryEvent or BinaryAck),
	// a payload of the right kind for the type (valid JSON; an EVENT's
	// first element a string that is not a reserved event name, or a
	// number), an ID within JavaScript's safe integers. It enforces lim
	// before allocating. The packet may refer to msg.
	Decode(msg []byte, binary bool, lim Limits) (*Packet, error)
}

// Limits bound what Parser.Decode accepts from a peer, as Decoder's fields
// of the same names do for the default parser.
type Limits struct {
	// MaxAttachments bounds the binary values of one packet; 0 means
	// DefaultMaxAttachments. A packet over it gets ErrTooManyAttachments.
	MaxAttachments int
	// MaxBytes bounds the decoded packet, its JSON payload and binary
	// values together; 0 means no bound. A packet over it gets
	// ErrPacketTooLarge.
	MaxBytes int64
}
