// Package sioparser encodes and decodes Socket.IO protocol v5 packets with
// the default (JSON) parser, including binary attachments.
//
// A packet is encoded as
//
//	<type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
//
// followed, for BINARY_EVENT and BINARY_ACK, by one binary message per
// attachment. Binary values inside the payload are replaced by placeholders
// {"_placeholder":true,"num":N}.
//
// The package works on raw JSON: it validates payloads the way the reference
// parser does and splits arrays, but leaves turning JSON into Go values to its
// callers. It uses only the standard library and is fuzzed.
package sioparser

import (
	"strconv"
)

// Type is a Socket.IO packet type.
type Type byte

// The packet types of protocol v5.
const (
	Connect      Type = 0
	Disconnect   Type = 1
	Event        Type = 2
	Ack          Type = 3
	ConnectError Type = 4
	BinaryEvent  Type = 5
	BinaryAck    Type = 6
)

var typeNames = [...]string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Packet is one Socket.IO packet.
//
// After decoding, BINARY_EVENT and BINARY_ACK packets are reported as Event and
// Ack with their Attachments set, as the reference parser does; on encoding,
// an Event or Ack with attachments is written as its binary counterpart.
type Packet struct {
	Type Type
	// Namespace is the namespace name, "/" for the main namespace (an empty
	// Namespace encodes as "/").
	Namespace string
	// ID is the acknowledgement id; it is present only when HasID is set.
	ID    uint64
	HasID bool
	// Data is the raw JSON payload, nil when the packet has none. In binary
	// packets it holds placeholders for the Attachments.
	Data        []byte
	Attachments [][]byte
}

// wireType is the type written on the wire.
func (p *Packet) wireType() Type {
	if len(p.Attachments) > 0 {
		switch p.Type {
		case Event:
			return BinaryEvent
		case Ack:
			return BinaryAck
		}
	}
	return p.Type
}

// AppendText appends the text part of the encoding of p (everything but the
// attachments, which are sent as separate binary messages).
func (p *Packet) AppendText(dst []byte) []byte {
	t := p.wireType()
	dst = append(dst, '0'+byte(t))
	if t == BinaryEvent || t == BinaryAck {
		dst = strconv.AppendInt(dst, int64(len(p.Attachments)), 10)
		dst = append(dst, '-')
	}
	if p.Namespace != "" && p.Namespace != "/" {
		dst = append(dst, p.Namespace...)
		dst = append(dst, ',')
	}
	if p.HasID {
		dst = strconv.AppendUint(dst, p.ID, 10)
	}
	return append(dst, p.Data...)
}

// TextLen is the number of bytes AppendText adds.
func (p *Packet) TextLen() int {
	n := 1 + len(p.Data)
	t := p.wireType()
	if t == BinaryEvent || t == BinaryAck {
		n += decimalLen(uint64(len(p.Attachments))) + 1
	}
	if p.Namespace != "" && p.Namespace != "/" {
		n += len(p.Namespace) + 1
	}
	if p.HasID {
		n += decimalLen(p.ID)
	}
	return n
}

func decimalLen(v uint64) int {
	n := 1
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}
