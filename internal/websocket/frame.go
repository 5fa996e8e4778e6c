// Package websocket is a small, dependency-free implementation of the
// WebSocket protocol (RFC 6455) for the Engine.IO / Socket.IO server and the
// Go client.
//
// It implements the opening handshake (server side with [Accept], client side
// with [Dial]), framing, masking, fragmentation, ping/pong and the closing
// handshake, and the permessage-deflate extension (RFC 7692) when asked for
// ([DeflateOptions]); it declines other extensions and does not select a
// subprotocol.
//
// The package starts no goroutines. A [Conn] keeps very little memory while it
// is idle: a read buffer from a shared pool is only held while a frame is
// being received, and compressors and decompressors only while a message is
// compressed or decompressed.
package websocket

import (
	"encoding/binary"
	"strconv"
)

// Opcode is the opcode of a WebSocket frame (RFC 6455, section 5.2).
type Opcode byte

// Frame opcodes defined by RFC 6455.
const (
	OpContinuation Opcode = 0x0 // continuation of a fragmented data message
	OpText         Opcode = 0x1 // text (UTF-8) data frame
	OpBinary       Opcode = 0x2 // binary data frame
	OpClose        Opcode = 0x8 // connection close control frame
	OpPing         Opcode = 0x9 // ping control frame
	OpPong         Opcode = 0xA // pong control frame
)

// String returns a readable name of the opcode.
func (op Opcode) String() string {
	switch op {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return "opcode(" + strconv.Itoa(int(op)) + ")"
}

// isControl reports whether op is a control opcode (close, ping, pong or a
// reserved control opcode).
func (op Opcode) isControl() bool { return op&0x8 != 0 }

// isKnown reports whether op is one of the opcodes defined by RFC 6455.
func (op Opcode) isKnown() bool {
	switch op {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
		return true
	}
	return false
}

// Close status codes (RFC 6455, section 7.4.1).
const (
	CloseNormal          = 1000 // normal closure
	CloseGoingAway       = 1001 // endpoint going away (server shutdown, page left)
	CloseProtocolError   = 1002 // protocol error
	CloseUnsupportedData = 1003 // data type that cannot be accepted
	CloseNoStatus        = 1005 // no status code present (never sent on the wire)
	CloseAbnormal        = 1006 // connection closed without close frame (never sent on the wire)
	CloseInvalidPayload  = 1007 // data inconsistent with the message type (e.g. bad UTF-8)
	ClosePolicyViolation = 1008 // message violates the endpoint's policy
	CloseMessageTooBig   = 1009 // message too big to process
	CloseInternalError   = 1011 // unexpected condition on the server
)

// validWireCloseCode reports whether code may appear in a close frame on the
// wire: 1000-1003, 1007-1014 and 3000-4999.
func validWireCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003:
		return true
	case code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

const (
	// MaxFrameHeaderLen is the largest header AppendFrameHeader writes: 2
	// bytes plus an 8-byte extended payload length. Server frames carry no
	// masking key.
	MaxFrameHeaderLen = 10

	// maxClientHeaderLen is the largest header of a masked (client) frame.
	maxClientHeaderLen = MaxFrameHeaderLen + 4

	// maxControlPayload is the largest payload a control frame may carry.
	maxControlPayload = 125

	finBit  = 0x80
	rsvBits = 0x70
	opBits  = 0x0F
	maskBit = 0x80
	lenBits = 0x7F
)

// headerLen returns the length of an unmasked frame header for a payload of
// n bytes.
func headerLen(n int) int {
	switch {
	case n <= 125:
		return 2
	case n <= 0xFFFF:
		return 4
	}
	return 10
}

// appendHeader appends a frame header with first byte b0 (FIN, RSV and
// opcode) for a payload of n bytes; when masked, the masking key follows.
func appendHeader(dst []byte, b0 byte, n int, masked bool, key [4]byte) []byte {
	if n < 0 {
		panic("websocket: negative payload length")
	}
	var b1 byte
	if masked {
		b1 = maskBit
	}
	switch {
	case n <= 125:
		dst = append(dst, b0, b1|byte(n))
	case n <= 0xFFFF:
		dst = append(dst, b0, b1|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, b0, b1|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	if masked {
		dst = append(dst, key[:]...)
	}
	return dst
}

// AppendFrameHeader appends to dst the header of a server-side frame
// (unmasked, FIN set, no reserved bits) with opcode op and a payload of n
// bytes, and returns the extended slice. It appends at most
// MaxFrameHeaderLen bytes. It panics if n is negative.
func AppendFrameHeader(dst []byte, op Opcode, n int) []byte {
	return appendHeader(dst, finBit|byte(op&opBits), n, false, [4]byte{})
}

// FrameInPlace turns a payload that already sits in buf into a complete
// server-side frame without copying it. buf[headroom:] is the payload and
// buf[:headroom] is free space; the frame header (unmasked, FIN set, opcode
// op) is written right-aligned against the payload and the slice of buf
// holding header+payload is returned. A headroom of at least
// MaxFrameHeaderLen is always enough; FrameInPlace panics if headroom is too
// small for the header the payload length needs.
func FrameInPlace(buf []byte, headroom int, op Opcode) []byte {
	n := len(buf) - headroom
	hl := headerLen(n)
	if headroom < hl || n < 0 {
		panic("websocket: FrameInPlace: headroom too small for frame header")
	}
	start := headroom - hl
	appendHeader(buf[start:start:headroom], finBit|byte(op&opBits), n, false, [4]byte{})
	return buf[start:]
}

// maskBytes XORs b in place with the masking key, where b[0] is combined
// with key[pos&3], and returns the key position for the byte following b.
// Masking and unmasking are the same operation.
func maskBytes(key [4]byte, pos int, b []byte) int {
	pos &= 3
	if len(b) >= 8 {
		// Rotate the key so that b[0] lines up with key[pos], then work on
		// 8 bytes (or 32 bytes) at a time. 8 is a multiple of 4, so pos is
		// unchanged by the wide loops.
		k32 := uint32(key[pos]) | uint32(key[(pos+1)&3])<<8 |
			uint32(key[(pos+2)&3])<<16 | uint32(key[(pos+3)&3])<<24
		k := uint64(k32) | uint64(k32)<<32
		for len(b) >= 32 {
			_ = b[31]
			binary.LittleEndian.PutUint64(b[0:], binary.LittleEndian.Uint64(b[0:])^k)
			binary.LittleEndian.PutUint64(b[8:], binary.LittleEndian.Uint64(b[8:])^k)
			binary.LittleEndian.PutUint64(b[16:], binary.LittleEndian.Uint64(b[16:])^k)
			binary.LittleEndian.PutUint64(b[24:], binary.LittleEndian.Uint64(b[24:])^k)
			b = b[32:]
		}
		for len(b) >= 8 {
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
			b = b[8:]
		}
	}
	for i := range b {
		b[i] ^= key[pos]
		pos = (pos + 1) & 3
	}
	return pos
}

// closePayload builds the payload of a close frame. A code of 0 or
// CloseNoStatus, or any code that may not be sent on the wire, gives an empty
// payload. The reason is cut to fit a control frame without splitting a UTF-8
// sequence.
func closePayload(code int, reason string) []byte {
	if !validWireCloseCode(code) {
		return nil
	}
	if len(reason) > maxControlPayload-2 {
		n := maxControlPayload - 2
		// Step back over continuation bytes so the cut stays valid UTF-8.
		for n > 0 && reason[n]&0xC0 == 0x80 {
			n--
		}
		reason = reason[:n]
	}
	p := make([]byte, 2, 2+len(reason))
	binary.BigEndian.PutUint16(p, uint16(code))
	return append(p, reason...)
}
