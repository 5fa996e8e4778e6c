// Package eioparser encodes and decodes Engine.IO protocol v4 packets and
// HTTP long-polling payloads.
//
// A packet travels alone in a WebSocket frame ("4hello", or a binary frame for
// binary data) or joined with others by the record separator 0x1e in a
// long-polling body, where binary data is sent as "b" + base64. The decoders
// never panic on bad input; they return ErrInvalidPacket.
//
// Protocol v3 (Socket.IO 2.x clients) has its own functions, named V3:
// see v3.go.
//
// The package uses only the standard library and allocates only where it must:
// decoded packets refer to the input slice except for base64 data.
package eioparser

import (
	"encoding/base64"
	"errors"
	"strconv"
)

// Type is an Engine.IO packet type.
type Type byte

// The packet types of protocol v4.
const (
	Open    Type = 0 // handshake data, server to client
	Close   Type = 1 // request to close the transport
	Ping    Type = 2 // heartbeat, server to client (or "probe" during an upgrade)
	Pong    Type = 3 // heartbeat answer
	Message Type = 4 // application data
	Upgrade Type = 5 // completes a transport upgrade
	Noop    Type = 6 // does nothing; ends a pending long-polling request
)

var typeNames = [...]string{"open", "close", "ping", "pong", "message", "upgrade", "noop"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// Char is the character that encodes t on the wire ('0' for Open, ...).
func (t Type) Char() byte { return '0' + byte(t) }

// Separator joins packets in a long-polling payload.
const Separator = 0x1e

// ErrInvalidPacket is returned for data that is not a valid Engine.IO packet.
// Node's engine.io-parser calls the same condition "parser error".
var ErrInvalidPacket = errors.New("eioparser: invalid packet")

// Packet is one Engine.IO packet.
type Packet struct {
	Type Type
	// Data is the payload: text for every type, or raw bytes when Binary is set
	// (binary data is always a Message).
	Data   []byte
	Binary bool
}

// DecodePacket decodes a packet received as one WebSocket message; binary
// reports whether it came in a binary frame. The returned Data refers to data
// unless it was base64-encoded.
func DecodePacket(data []byte, binary bool) (Packet, error) {
	if binary {
		return Packet{Type: Message, Data: data, Binary: true}, nil
	}
	return decodeText(data)
}

func decodeText(data []byte) (Packet, error) {
	if len(data) == 0 {
		return Packet{}, ErrInvalidPacket
	}
	c := data[0]
	if c == 'b' {
		raw, err := decodeBase64(data[1:])
		if err != nil {
			return Packet{}, ErrInvalidPacket
		}
		return Packet{Type: Message, Data: raw, Binary: true}, nil
	}
	if c < '0' || c > '6' {
		return Packet{}, ErrInvalidPacket
	}
	p := Packet{Type: Type(c - '0')}
	if len(data) > 1 {
		p.Data = data[1:]
	}
	return p, nil
}

// decodeBase64 accepts padded and unpadded standard base64, as Node's
// Buffer.from(s, "base64") does for the strings clients produce.
func decodeBase64(s []byte) ([]byte, error) {
	enc := base64.StdEncoding
	if len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	out := make([]byte, enc.DecodedLen(len(s)))
	n, err := enc.Decode(out, s)
	if err != nil {
		return nil, err
	}
	return out[:n], nil
}

// DecodePayload splits a long-polling body into packets. On an invalid
// packet it returns the packets before it together with ErrInvalidPacket, so
// that a server can process what came first and then close the session, as
// the reference implementation does.
func DecodePayload(body []byte) ([]Packet, error) {
	n := 1
	for _, c := range body {
		if c == Separator {
			n++
		}
	}
	packets := make([]Packet, 0, n)
	for {
		i := indexByte(body, Separator)
		part := body
		if i >= 0 {
			part = body[:i]
		}
		p, err := decodeText(part)
		if err != nil {
			return packets, err
		}
		packets = append(packets, p)
		if i < 0 {
			return packets, nil
		}
		body = body[i+1:]
	}
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// AppendPacket appends the text encoding of p, as used in long-polling
// payloads: binary data becomes "b" + base64.
func AppendPacket(dst []byte, p Packet) []byte {
	if p.Binary {
		dst = append(dst, 'b')
		return base64.StdEncoding.AppendEncode(dst, p.Data)
	}
	dst = append(dst, p.Type.Char())
	return append(dst, p.Data...)
}

// EncodedLen is the length AppendPacket adds for p.
func EncodedLen(p Packet) int {
	if p.Binary {
		return 1 + base64.StdEncoding.EncodedLen(len(p.Data))
	}
	return 1 + len(p.Data)
}

// AppendPayload appends the long-polling encoding of packets, joined by the
// record separator.
func AppendPayload(dst []byte, packets []Packet) []byte {
	for i, p := range packets {
		if i > 0 {
			dst = append(dst, Separator)
		}
		dst = AppendPacket(dst, p)
	}
	return dst
}
