package engineio

import (
	"sync/atomic"

	"github.com/socketio-go/socketio/eioparser"
	"github.com/socketio-go/socketio/internal/websocket"
)

// Headroom is the number of bytes to reserve in front of a text payload
// given to NewTextMessageInPlace, so that the WebSocket frame header can be
// written there without copying the payload.
const Headroom = websocket.MaxFrameHeaderLen

// Message is an encoded Engine.IO packet ready to be written to any number
// of connections: it holds the WebSocket frame, and the long-polling encoding
// is derived from the same bytes. A Message is immutable once created and
// safe to share between goroutines; encoding a broadcast once and sending the
// same Message to every recipient is the intended use.
type Message struct {
	frame   []byte       // WebSocket frame: header followed by the packet
	hdr     int32        // length of the frame header (int32: Message stays 64 bytes)
	binary  bool         // frame[hdr:] is raw binary data, not "<type><data>"
	deflate deflateCache // the compressed frame, made once (deflate.go)
	// v3 is, for a binary message, the same framed for Engine.IO v3
	// WebSockets (the type byte first), made once (eio3.go).
	v3 atomic.Pointer[Message]
}

// NewTextMessage builds a "message" packet carrying text (which is copied).
func NewTextMessage(text []byte) *Message {
	buf := make([]byte, Headroom, Headroom+1+len(text))
	buf = append(buf, eioparser.Message.Char())
	buf = append(buf, text...)
	return newTextInPlace(buf, Headroom)
}

// NewTextMessageInPlace builds a text packet from buf without copying it:
// buf[:Headroom] is reserved for the frame header and buf[Headroom:] holds
// the complete packet, type character included (for example "42[...]" for a
// Socket.IO event). buf must not be modified afterwards.
func NewTextMessageInPlace(buf []byte) *Message {
	return newTextInPlace(buf, Headroom)
}

func newTextInPlace(buf []byte, headroom int) *Message {
	frame := websocket.FrameInPlace(buf, headroom, websocket.OpText)
	return &Message{frame: frame, hdr: int32(len(frame) - (len(buf) - headroom))}
}

// NewBinaryMessage builds a "message" packet carrying binary data (which is
// not copied and must not be modified afterwards).
func NewBinaryMessage(data []byte) *Message {
	frame := websocket.AppendFrameHeader(make([]byte, 0, websocket.MaxFrameHeaderLen+len(data)), websocket.OpBinary, len(data))
	hdr := len(frame)
	frame = append(frame, data...)
	return &Message{frame: frame, hdr: int32(hdr), binary: true}
}

// NewBinaryMessageInPlace builds a "message" packet carrying binary data
// from buf without copying it: buf[:Headroom] is reserved for the frame
// header and buf[Headroom:] is the data. buf must not be modified
// afterwards.
func NewBinaryMessageInPlace(buf []byte) *Message {
	frame := websocket.FrameInPlace(buf, Headroom, websocket.OpBinary)
	return &Message{frame: frame, hdr: int32(len(frame) - (len(buf) - Headroom)), binary: true}
}

// controlMessage builds a packet of type t with optional text data.
func controlMessage(t eioparser.Type, data string) *Message {
	buf := make([]byte, Headroom, Headroom+1+len(data))
	buf = append(buf, t.Char())
	buf = append(buf, data...)
	return newTextInPlace(buf, Headroom)
}

// Pre-built control packets, shared by every connection.
var (
	pingMessage  = controlMessage(eioparser.Ping, "")
	noopMessage  = controlMessage(eioparser.Noop, "")
	closeMessage = controlMessage(eioparser.Close, "")
	probeAnswer  = controlMessage(eioparser.Pong, "probe")
)

// payload returns the packet bytes without the frame header.
func (m *Message) payload() []byte { return m.frame[m.hdr:] }

// size is what the message counts against a connection's outbound budget.
func (m *Message) size() int { return len(m.frame) }

// Binary reports whether the message carries binary data.
func (m *Message) Binary() bool { return m.binary }

// Data returns the packet as it is sent in a WebSocket frame: "<type><data>"
// for text packets, the raw bytes for binary ones. It must not be modified.
func (m *Message) Data() []byte { return m.payload() }

// packet converts m for the long-polling encoder.
func (m *Message) packet() eioparser.Packet {
	p := m.payload()
	if m.binary {
		return eioparser.Packet{Type: eioparser.Message, Data: p, Binary: true}
	}
	return eioparser.Packet{Type: eioparser.Type(p[0] - '0'), Data: p[1:]}
}
