package event

import "github.com/socketio-go/socketio/sioparser"

// EncodeWith encodes p with a parser other than the default one, into one
// Engine.IO message (what such a parser makes of a packet). The returned
// buffer has headroom free bytes (for a WebSocket frame header) followed by
// the message as engineio.NewTextMessageInPlace (the type '4' then the
// text) or engineio.NewBinaryMessageInPlace (the bytes) takes it, as
// binary says.
func EncodeWith(pr sioparser.Parser, p *sioparser.Packet, headroom int) ([]byte, bool, error) {
	// Room for the MessagePack of a JSON payload, which is seldom larger
	// (floats are), and its binary values: most packets fit.
	size := headroom + 1 + len(p.Namespace) + len(p.Data) + 32
	for _, a := range p.Attachments {
		size += len(a) + 5
	}
	buf := make([]byte, headroom+1, size)
	buf[headroom] = '4'
	out, binary, err := pr.Encode(buf, p)
	if err != nil {
		return nil, false, err
	}
	if binary {
		// Drop the '4': the bytes start right after headroom free bytes.
		return out[1:], true, nil
	}
	return out, false, nil
}
