package engineio

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/socketio-go/socketio/eioparser"
	"github.com/socketio-go/socketio/internal/websocket"
	"github.com/socketio-go/socketio/internal/wellformed"
)

// Engine.IO protocol v3, for Socket.IO 2.x clients (Options.AllowEIO3), as
// Node's engine.io serves it with allowEIO3:
//
//   - the client pings and the server answers each ping with a pong; a
//     session that gets no ping for PingInterval + PingTimeout ends with
//     "ping timeout" (the server never pings);
//   - long-polling payloads are "<length>:<packet>" (lengths in UTF-16 code
//     units); binary data goes as "b4" + base64 when the client asked for
//     base64 (b64=1), else the whole payload is binary
//     (application/octet-stream, see eioparser.AppendBinaryPayloadV3) when
//     it holds binary data; clients may POST binary payloads too;
//   - JSONP long-polling (the "j" query parameter): payloads wrapped in a
//     script call, POSTed back as the form field "d";
//   - a binary WebSocket frame starts with the type byte 4.
//
// Everything else (handshake, the open packet's fields, the probe of an
// upgrade, close, noop) is as in v4. A session's protocol is fixed at its
// handshake; a later request of another protocol is refused, as in Node.

// v3 transport flags (Conn.v3flags).
const (
	v3PollB64 uint8 = 1 << iota // the long-polling client wants binary data as base64
	v3WSB64                     // the WebSocket client wants binary data as base64
	v3JSONP                     // long-polling is JSONP
)

// protocolOf is the protocol revision of a request's EIO parameter, as
// Node computes it: 4 for "4", 3 for anything else (or nothing).
func protocolOf(eio string) int {
	if eio == "4" {
		return 4
	}
	return 3
}

// v3QueryFlags reads the v3 transport parameters of a handshake or upgrade
// request: b64 (any non-empty value) and, for long-polling, j (present,
// even empty: JSONP).
func v3QueryFlags(raw, transport string) uint8 {
	var f uint8
	var seenB, seenJ bool
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case k == "b64" && !seenB:
			seenB = true
			if v != "" {
				if transport == WebSocket {
					f |= v3WSB64
				} else {
					f |= v3PollB64
				}
			}
		case k == "j" && !seenJ && transport == Polling:
			seenJ = true
			f |= v3JSONP | v3PollB64
		}
	}
	return f
}

// startHeartbeatV3 starts the ping deadline of a v3 session: the client
// pings, and each ping moves the deadline (awaitPong stays set for good,
// so that the shared schedule and Conn.expired treat it as a pong
// deadline). The caller holds c.mu.
func (c *Conn) startHeartbeatV3Locked() {
	o := &c.srv.opts
	c.awaitPong = true
	c.hbDue = time.Now().Add(o.PingInterval + o.PingTimeout).UnixNano()
	c.srv.hb.schedule(c, c.hbDue, false)
}

// onPingV3 answers a v3 client's ping, as Node does: a pong without data,
// and the deadline moved to PingInterval + PingTimeout from now.
func (c *Conn) onPingV3() {
	c.mu.Lock()
	if c.state == stateOpen {
		c.startHeartbeatV3Locked()
		c.queue = append(c.queue, pongMessage)
		c.queued += pongMessage.size()
		c.kickLocked()
	}
	c.mu.Unlock()
}

var pongMessage = controlMessage(eioparser.Pong, "")

// answerHandshakeV3 answers a v3 long-polling handshake with the open
// packet alone, as Node does (it answers before its connection handlers
// run): what OnConnection queued, and the initial packet, wait for the
// next GET.
func (c *Conn) answerHandshakeV3(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	if c.state != stateOpen || c.pollWake != nil || len(c.queue) == 0 {
		c.mu.Unlock()
		c.handlePolling(w, r)
		return
	}
	open := c.queue[0]
	c.queue = append([]*Message(nil), c.queue[1:]...)
	c.queued -= open.size()
	c.mu.Unlock()
	if err := c.writePoll(w, r, []*Message{open}); err != nil {
		c.finalize(ReasonTransportError, err)
	}
}

// decodeFrame decodes a WebSocket message of the session's protocol.
func (c *Conn) decodeFrame(data []byte, binary bool) (eioparser.Packet, error) {
	if c.proto3 {
		return eioparser.DecodePacketV3(data, binary)
	}
	return eioparser.DecodePacket(data, binary)
}

// wsFrameFor returns the WebSocket frame of m for this session: v3 frames
// binary data with the type byte 4 first (made once per message and shared
// by every v3 recipient), or as "b4" + base64 text for a client that asked
// for base64.
func (c *Conn) wsFrameFor(m *Message, ws *websocket.Conn, threshold int, b64 bool) []byte {
	if !c.proto3 || !m.binary {
		return m.wsFrame(ws, threshold)
	}
	if b64 {
		data := m.payload()
		buf := make([]byte, Headroom, Headroom+2+base64.StdEncoding.EncodedLen(len(data)))
		buf = append(buf, 'b', eioparser.Message.Char())
		buf = base64.StdEncoding.AppendEncode(buf, data)
		v := NewTextMessageInPlace(buf)
		v.deflate.off = m.deflate.off
		return v.wsFrame(ws, threshold)
	}
	return m.v3Binary().wsFrame(ws, threshold)
}

// v3Binary returns m (binary) framed for v3: a binary message whose data is
// the type byte 4 and m's data.
func (m *Message) v3Binary() *Message {
	if v := m.v3.Load(); v != nil {
		return v
	}
	m.deflate.mu.Lock()
	defer m.deflate.mu.Unlock()
	if v := m.v3.Load(); v != nil {
		return v
	}
	data := m.payload()
	buf := make([]byte, Headroom, Headroom+1+len(data))
	buf = append(buf, byte(eioparser.Message))
	buf = append(buf, data...)
	v := NewBinaryMessageInPlace(buf)
	v.deflate.off = m.deflate.off
	m.v3.Store(v)
	return v
}

// appendPollV3 encodes msgs as a v3 long-polling payload and reports its
// content type.
func (c *Conn) appendPollV3(dst []byte, msgs []*Message, flags uint8) ([]byte, []string) {
	packets := make([]eioparser.Packet, len(msgs))
	binary := false
	for i, m := range msgs {
		packets[i] = m.packet()
		binary = binary || m.binary
	}
	if flags&v3JSONP != 0 {
		payload := eioparser.AppendPayloadV3(nil, packets)
		dst = append(dst, "___eio["...)
		dst = append(dst, jsonpIndex(c.req.field(0))...)
		dst = append(dst, "]("...)
		dst = wellformed.AppendJSString(dst, payload, true)
		return append(dst, ");"...), textPlainUTF8
	}
	if binary && flags&v3PollB64 == 0 {
		return eioparser.AppendBinaryPayloadV3(dst, packets), octetStream
	}
	return eioparser.AppendPayloadV3(dst, packets), textPlainUTF8
}

var octetStream = []string{"application/octet-stream"}

// jsonpIndex is the digits of the j parameter of the handshake request
// (Node keeps the digits only).
func jsonpIndex(uri string) string {
	_, raw, _ := strings.Cut(uri, "?")
	var j string
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if k, v, _ := strings.Cut(kv, "="); k == "j" {
			j = v
			break
		}
	}
	if u, err := url.QueryUnescape(j); err == nil {
		j = u
	}
	var b strings.Builder
	for i := 0; i < len(j); i++ {
		if j[i] >= '0' && j[i] <= '9' {
			b.WriteByte(j[i])
		}
	}
	return b.String()
}

// decodePostV3 decodes the body of a v3 long-polling POST. ignore reports
// a JSONP body without a "d" field, which Node ignores.
func (c *Conn) decodePostV3(body []byte, binary bool, flags uint8) (packets []eioparser.Packet, ignore bool, err error) {
	if binary {
		packets, err = eioparser.DecodeBinaryPayloadV3(body, 0)
		return packets, false, err
	}
	if flags&v3JSONP != 0 {
		d, ok := jsonpData(body)
		if !ok {
			return nil, true, nil
		}
		body = d
	}
	packets, err = eioparser.DecodePayloadV3(body, 0)
	return packets, false, err
}

// jsonpData extracts the payload of a JSONP POST, a form with the payload
// in "d", as Node's JSONP transport does: querystring.parse (first 1000
// pairs, "+" as space, lenient percent-decoding, the field present once),
// then its escaped newlines undone ("\\n" is a newline, "\\\\n" a
// backslash and an n).
func jsonpData(body []byte) ([]byte, bool) {
	var d []byte
	found := 0
	rest := body
	for pairs := 0; len(rest) > 0 && pairs < 1000; pairs++ {
		var kv []byte
		if i := bytes.IndexByte(rest, '&'); i >= 0 {
			kv, rest = rest[:i], rest[i+1:]
		} else {
			kv, rest = rest, nil
		}
		k, v, _ := bytes.Cut(kv, []byte("="))
		if string(unescapeQS(k)) != "d" {
			continue
		}
		found++
		d = unescapeQS(v)
	}
	if found != 1 {
		return nil, false
	}
	// /(\\)?\\n/g: "\\n" becomes a newline, "\\\\n" stays.
	out := make([]byte, 0, len(d))
	for i := 0; i < len(d); {
		switch {
		case i+2 < len(d) && d[i] == '\\' && d[i+1] == '\\' && d[i+2] == 'n':
			out = append(out, d[i:i+3]...)
			i += 3
		case i+1 < len(d) && d[i] == '\\' && d[i+1] == 'n':
			out = append(out, '\n')
			i += 2
		default:
			out = append(out, d[i])
			i++
		}
	}
	// /\\\\n/g: "\\\\n" becomes "\\n".
	return bytes.ReplaceAll(out, []byte(`\\n`), []byte(`\n`)), true
}

// unescapeQS decodes a querystring component as Node's querystring does:
// "+" is a space, "%XX" a byte, a "%" not followed by two hex digits
// itself; the bytes are then read as UTF-8.
func unescapeQS(s []byte) []byte {
	if bytes.IndexByte(s, '%') < 0 && bytes.IndexByte(s, '+') < 0 {
		return s
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			out = append(out, ' ')
		case c == '%' && i+2 < len(s) && hexVal(s[i+1]) >= 0 && hexVal(s[i+2]) >= 0:
			out = append(out, byte(hexVal(s[i+1])<<4|hexVal(s[i+2])))
			i += 2
		default:
			out = append(out, c)
		}
	}
	if !utf8.Valid(out) {
		out = wellformed.UTF8(out)
	}
	return out
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// handleDataV3 delivers the packets of a v3 POST body. As in Node, a close
// packet ends the reading (what follows it is not looked at), and an
// invalid payload closes the session with "parse error" after the packets
// before it; the request is answered "ok" either way (Node's answer,
// checked on the wire).
func (c *Conn) handleDataV3(body []byte, binary bool) {
	c.mu.Lock()
	flags := c.v3flags
	c.mu.Unlock()
	packets, ignore, perr := c.decodePostV3(body, binary, flags)
	if ignore {
		return
	}
	for _, p := range packets {
		if !c.handlePacket(p) {
			return
		}
	}
	if perr != nil {
		c.finalize(ReasonParseError, perr)
	}
}
