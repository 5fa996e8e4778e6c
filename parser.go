package socketio

import (
	"github.com/socketio-go/socketio/engineio"
	ev "github.com/socketio-go/socketio/internal/event"
	"github.com/socketio-go/socketio/sioparser"
)

// The parser seam. Every connection of a server uses the server's parser:
// the default one (a client's sioparser.Decoder, Packet.AppendText, and
// ev.EncodePacket for emits), or Options.Parser. Only the edges know which:
// a message is decoded into a sioparser.Packet, whose payload is JSON with
// placeholders for binary attachments whatever the parser, and a packet is
// encoded into Engine.IO messages right before it is queued. Handlers,
// acknowledgements and adapters only see packets.

// prepare encodes p once with the server's parser, for any number of
// connections. A packet the parser cannot encode (it can only be one whose
// payload did not come from this package's encoder) is logged, and sends
// nothing.
func (s *Server) prepare(p *sioparser.Packet) *prepared {
	pp, err := newPrepared(p, s.opts.Parser)
	if err != nil {
		s.log.Error("socketio: cannot encode a packet", "type", p.Type, "namespace", p.Namespace, "err", err)
		return &prepared{packet: p, err: err}
	}
	return pp
}

// encodeWith encodes p with a parser other than the default one into its
// one message.
func encodeWith(pr sioparser.Parser, p *sioparser.Packet) (*engineio.Message, error) {
	buf, binary, err := ev.EncodeWith(pr, p, engineio.Headroom)
	if err != nil {
		return nil, err
	}
	if binary {
		return engineio.NewBinaryMessageInPlace(buf), nil
	}
	return engineio.NewTextMessageInPlace(buf), nil
}

// sendMessage queues one message, at once when the connection's writer is
// idle (replies and emits to one socket); volatile ones may be dropped.
func sendMessage(conn *engineio.Conn, m *engineio.Message, volatile bool) error {
	if volatile {
		return conn.Send(true, m)
	}
	return conn.SendNow(m)
}

// encodeAckWith encodes an acknowledgement with a parser other than the
// default one.
func encodeAckWith(pr sioparser.Parser, p sioparser.Packet, vals []any) (*engineio.Message, error) {
	var err error
	if p.Data, p.Attachments, err = ev.EncodeArgs("", false, vals); err != nil {
		return nil, err
	}
	return encodeWith(pr, &p)
}
