package engineio

import (
	"sync"
	"sync/atomic"

	"github.com/socketio-go/socketio/internal/websocket"
)

// DeflateOptions turn on WebSocket compression (permessage-deflate, RFC
// 7692; Node's perMessageDeflate): Options.PerMessageDeflate on the
// server, DialOptions.PerMessageDeflate on the client. The zero value
// gives the defaults in the comments. Long-polling has its own
// compression (Options.HTTPCompression).
//
// Each message is compressed on its own, without the context of the
// previous ones (the server answers server_no_context_takeover to every
// offer, the client asks for it): no connection keeps a compressor between
// messages, and a broadcast is compressed once for all its recipients
// (those that negotiated the same parameters; nearly all do).
type DeflateOptions struct {
	// Threshold: messages shorter than this many bytes (the Engine.IO
	// packet) are sent uncompressed. Default 1024, as in Node; 1 compresses
	// every message. A message that compression would not shorten is sent
	// uncompressed anyway.
	Threshold int
	// Level is the compress/flate level: 1 (flate.BestSpeed) to 9
	// (flate.BestCompression), or flate.HuffmanOnly. Default 1: the
	// higher levels compress a little better for several times the CPU,
	// paid per message.
	Level int
	// ContextTakeover lets the peer compress each message with the
	// context of the previous ones, which compresses many similar small
	// messages much better; each connection that uses it then keeps, between
	// messages, the last 2^MaxWindowBits bytes it received (32 KB by
	// default). Off by default: the peer is asked to compress each message
	// on its own too, and an idle connection keeps nothing.
	ContextTakeover bool
	// MaxWindowBits bounds, with ContextTakeover, the window the peer may
	// refer to, and so what a connection keeps: 2^MaxWindowBits bytes, from
	// 8 to 15. Default 15. A server refuses context takeover to a client
	// that cannot be asked for a smaller window (it did not offer
	// client_max_window_bits).
	MaxWindowBits int
}

// withDefaults returns the options with their defaults, and the
// websocket package's options made of them (nil when d is nil).
func (d *DeflateOptions) withDefaults() (*DeflateOptions, *websocket.DeflateOptions) {
	if d == nil {
		return nil, nil
	}
	r := *d
	if r.Threshold <= 0 {
		r.Threshold = 1024
	}
	return &r, &websocket.DeflateOptions{
		Level:           r.Level,
		Threshold:       r.Threshold,
		ContextTakeover: r.ContextTakeover,
		MaxWindowBits:   r.MaxWindowBits,
	}
}

// deflateCache holds a Message's compressed WebSocket frame, made by the
// first connection that needs it and shared by the others.
type deflateCache struct {
	off  bool                     // immutable: never compressed (Uncompressed)
	mu   sync.Mutex               // held while compressing
	done atomic.Pointer[deflated] // written under mu
}

// deflated is a frame compressed for the connections whose Compressor is z;
// frame is the uncompressed frame when compression did not shorten it.
type deflated struct {
	z     websocket.Compressor
	frame []byte
}

// Uncompressed returns a Message with the same packet that is never
// compressed on WebSocket (Socket.IO's compress(false)). m is unchanged and
// both share their bytes.
func (m *Message) Uncompressed() *Message {
	if m.deflate.off {
		return m
	}
	return &Message{frame: m.frame, hdr: m.hdr, binary: m.binary, deflate: deflateCache{off: true}}
}

// wsFrame returns the frame to write for m on ws: compressed when ws
// negotiated permessage-deflate and m is at least threshold bytes long.
func (m *Message) wsFrame(ws *websocket.Conn, threshold int) []byte {
	if m.deflate.off || len(m.frame)-int(m.hdr) < threshold {
		return m.frame
	}
	z, ok := ws.Compressor()
	if !ok {
		return m.frame
	}
	if d := m.deflate.done.Load(); d != nil && d.z == z {
		return d.frame
	}
	// Compressed once: the recipients of a broadcast that get here at the
	// same time wait for the first one's result.
	m.deflate.mu.Lock()
	defer m.deflate.mu.Unlock()
	prev := m.deflate.done.Load()
	if prev != nil && prev.z == z {
		return prev.frame
	}
	op := websocket.OpText
	if m.binary {
		op = websocket.OpBinary
	}
	frame, ok := z.AppendFrame(nil, op, m.payload())
	if !ok {
		frame = m.frame
	}
	// Keep the first result; a client that asked for a smaller window
	// (rare) gets its own frame each time rather than displacing it.
	if prev == nil {
		m.deflate.done.Store(&deflated{z: z, frame: frame})
	}
	return frame
}

// deflateThreshold is the threshold of the server's WebSocket compression.
func (s *Server) deflateThreshold() int {
	if s.opts.PerMessageDeflate == nil {
		return 0
	}
	return s.opts.PerMessageDeflate.Threshold
}
