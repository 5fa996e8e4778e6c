// Package msgpackparser is the MessagePack parser of Socket.IO, wire
// compatible with the npm package socket.io-msgpack-parser 3.x (and the
// socket.io.msgpack.min.js client bundle): each packet is one binary
// Engine.IO message holding a map with the keys type, nsp, data and id,
// binary values travel as MessagePack bin inside data, and there are no
// attachments.
//
// Give the same parser to the server and to its clients:
//
//	srv := socketio.NewServer(&socketio.Options{Parser: msgpackparser.New()})
//	c, err := client.Connect(ctx, url, &client.Options{Parser: msgpackparser.New()})
//
// and, in JavaScript, io(url, { parser }) with parser from
// socket.io-msgpack-parser.
//
// Handlers see the same arguments as with the default parser: the parser
// converts at the edge, between MessagePack and the JSON packets
// (sioparser.Packet) the rest of the stack works with. Values convert as
// JSON.stringify writes what notepack.io (the MessagePack library of the
// npm package) decodes, and back as notepack.io encodes what JSON.parse
// gives, with these differences:
//
//   - integers are kept exactly (JavaScript rounds those beyond 2^53);
//   - binary values (bin, and the ext type 0 that notepack.io uses for an
//     ArrayBuffer in Node) are binary arguments ([]byte in Go) in events
//     and acknowledgements; in the payload of a CONNECT or CONNECT_ERROR,
//     which has no attachments, they become base64 strings;
//   - notepack.io's undefined becomes null in an array and is left out of
//     a map, and its Date extension becomes an ISO 8601 string, as
//     JSON.stringify writes them; other extensions become [type, bytes];
//   - NaN and the infinities become null;
//   - map keys must be strings, numbers, booleans, null or undefined
//     (turned into strings, as JavaScript does).
//
// The decoder validates packets as socket.io-msgpack-parser does, and as
// the default parser does on top of that: an EVENT needs a name (a string
// that is not reserved, or a number), an id is an integer from 0 to
// 2^53-1. It enforces the server's limits (sioparser.Limits: binary values
// per packet, bytes of the decoded packet) and a nesting bound before it
// allocates anything.
package msgpackparser

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/socketio-go/socketio/internal/msgpackenc"
	"github.com/socketio-go/socketio/sioparser"
)

// Errors of malformed MessagePack. Packets that are well-formed
// MessagePack but not valid Socket.IO packets get errors wrapping
// sioparser's (ErrUnknownType, ErrInvalidPayload, ErrTooManyAttachments,
// ErrPacketTooLarge).
var (
	ErrMessagePack = errors.New("msgpackparser: invalid MessagePack")
	// ErrTextMessage is returned for a text message: the peer uses
	// another parser (the default one, probably).
	ErrTextMessage = errors.New("msgpackparser: got a text message (is the peer using the default parser?)")
)

var (
	errTruncated = fmt.Errorf("%w: unexpected end of message", ErrMessagePack)
	errReserved  = fmt.Errorf("%w: byte 0xc1", ErrMessagePack)
	errDepth     = fmt.Errorf("%w: nested too deeply", ErrMessagePack)
	errKey       = fmt.Errorf("%w: map key that is not a string, a number, a boolean, null or undefined", ErrMessagePack)
	errJSON      = errors.New("msgpackparser: invalid JSON payload")
)

// Parser is the MessagePack parser (sioparser.Parser). It has no state and
// no options: New and the zero value are the same, safe for concurrent
// use.
type Parser struct{}

// New returns the MessagePack parser.
func New() *Parser { return &Parser{} }

var _ sioparser.Parser = (*Parser)(nil)

// Packet types on the wire: there are no binary types.
const maxType = sioparser.ConnectError

func invalid(base error, what string) error {
	return fmt.Errorf("msgpackparser: %s: %w", what, base)
}

// Decode decodes one message into a packet (sioparser.Parser).
func (*Parser) Decode(msg []byte, binary bool, lim sioparser.Limits) (*sioparser.Packet, error) {
	if !binary {
		return nil, ErrTextMessage
	}
	d := decoder{src: msg}
	top, err := d.next()
	if err != nil {
		return nil, err
	}
	if top.kind != kMap {
		return nil, invalid(sioparser.ErrUnknownType, "not a map")
	}
	// The values of the known keys, the last one winning as in
	// JavaScript; -1 when absent.
	typePos, nspPos, idPos, dataPos := -1, -1, -1, -1
	for range top.n() {
		k, err := d.next()
		if err != nil {
			return nil, err
		}
		if err := d.rest(k); err != nil { // a key that is a container
			return nil, err
		}
		if k.kind == kStr {
			switch string(k.b) {
			case "type":
				typePos = d.pos
			case "nsp":
				nspPos = d.pos
			case "id":
				idPos = d.pos
			case "data":
				dataPos = d.pos
			}
		}
		if err := d.skip(); err != nil {
			return nil, err
		}
	}
	if d.pos != len(msg) {
		return nil, fmt.Errorf("%w: %d bytes after the packet", ErrMessagePack, len(msg)-d.pos)
	}

	p := &sioparser.Packet{}
	t, ok := d.at(typePos)
	typ, isInt := t.integer(0, int64(maxType))
	if !ok || !isInt {
		return nil, invalid(sioparser.ErrUnknownType, "invalid packet type")
	}
	p.Type = sioparser.Type(typ)

	t, ok = d.at(nspPos)
	if !ok || t.kind != kStr || len(t.b) == 0 {
		// An empty name, which Encode would write as "/", is no one's.
		return nil, invalid(sioparser.ErrInvalidPayload, "invalid namespace")
	}
	switch {
	case string(t.b) == "/":
		p.Namespace = "/"
	case utf8.Valid(t.b):
		p.Namespace = string(t.b)
	default:
		p.Namespace = strings.ToValidUTF8(string(t.b), "\ufffd")
	}

	if t, ok = d.at(idPos); ok && !t.isUndefined() {
		id, isInt := t.integer(0, maxSafeInteger)
		if !isInt {
			return nil, invalid(sioparser.ErrInvalidPayload, "invalid packet id")
		}
		p.ID, p.HasID = uint64(id), true
	}

	t, ok = d.at(dataPos)
	if ok && t.isUndefined() {
		ok = false
	}
	if !validData(p.Type, ok, &t) {
		return nil, invalid(sioparser.ErrInvalidPayload, "invalid payload")
	}
	if !ok {
		return p, nil
	}
	if p.Type == sioparser.Event {
		if err := d.checkEventName(dataPos); err != nil {
			return nil, err
		}
	}

	// Measure, check the limits, then write.
	d.inline = p.Type == sioparser.Connect || p.Type == sioparser.ConnectError
	d.maxBins = lim.MaxAttachments
	if d.maxBins <= 0 {
		d.maxBins = sioparser.DefaultMaxAttachments
	}
	d.pos = dataPos
	if err := d.value(0); err != nil {
		return nil, err
	}
	if lim.MaxBytes > 0 && d.size+d.binBytes > lim.MaxBytes {
		return nil, sioparser.ErrPacketTooLarge
	}
	d.pos, d.write = dataPos, true
	d.out = make([]byte, 0, d.size)
	if d.bins > 0 {
		d.atts = make([][]byte, 0, d.bins)
	}
	if err := d.value(0); err != nil {
		return nil, err // cannot happen: the same pass succeeded
	}
	p.Data, p.Attachments = d.out, d.atts
	return p, nil
}

// rest skips the elements of a container whose header was read (for a
// value whose content is not wanted).
func (d *decoder) rest(t token) error {
	n := t.n()
	if t.kind == kMap {
		n *= 2
	}
	for range n {
		if err := d.skip(); err != nil {
			return err
		}
	}
	return nil
}

// at reads the header of the value at pos (-1: absent).
func (d *decoder) at(pos int) (token, bool) {
	if pos < 0 {
		return token{}, false
	}
	d.pos = pos
	t, err := d.next()
	return t, err == nil
}

// validData applies socket.io-msgpack-parser's rules: CONNECT has an
// object or nothing, DISCONNECT nothing, CONNECT_ERROR a string or an
// object, EVENT and ACK an array.
func validData(t sioparser.Type, present bool, v *token) bool {
	switch t {
	case sioparser.Connect:
		return !present || v.kind == kMap
	case sioparser.Disconnect:
		return !present
	case sioparser.ConnectError:
		return present && (v.kind == kStr || v.kind == kMap)
	}
	return present && v.kind == kArray
}

// checkEventName applies the default parser's rule to the first element
// of an EVENT payload (socket.io-msgpack-parser checks nothing): a string
// that is not a reserved event name, or a finite number.
func (d *decoder) checkEventName(dataPos int) error {
	d.pos = dataPos
	arr, _ := d.next()
	if arr.n() == 0 {
		return invalid(sioparser.ErrInvalidPayload, "event without a name")
	}
	first, err := d.next()
	if err != nil {
		return err
	}
	if first.kind == kStr {
		if sioparser.IsReservedEvent(string(first.b)) {
			return invalid(sioparser.ErrInvalidPayload, "reserved event name")
		}
		return nil
	}
	if f, ok := first.number(); ok && f-f == 0 {
		return nil
	}
	return invalid(sioparser.ErrInvalidPayload, "event name is not a string")
}

// Encode appends the message of p (sioparser.Parser): always binary.
func (*Parser) Encode(dst []byte, p *sioparser.Packet) ([]byte, bool, error) {
	var t sioparser.Type
	switch p.Type {
	case sioparser.Event, sioparser.BinaryEvent:
		t = sioparser.Event
	case sioparser.Ack, sioparser.BinaryAck:
		t = sioparser.Ack
	case sioparser.Connect, sioparser.Disconnect, sioparser.ConnectError:
		t = p.Type
	default:
		return dst, true, invalid(sioparser.ErrUnknownType, fmt.Sprintf("cannot encode %v", p.Type))
	}
	nsp := p.Namespace
	if nsp == "" {
		nsp = "/"
	}
	hasData := p.Data != nil
	n := 2
	if hasData {
		n++
	}
	if p.HasID {
		n++
	}
	out := msgpackenc.AppendMapHeader(dst, n)
	// The keys in the order the Node server writes them (Socket#emit,
	// Socket#ack), so that our bytes are Node's wherever Node's have no
	// undefined values.
	if t == sioparser.Ack && p.HasID {
		out = msgpackenc.AppendString(out, "id")
		out = msgpackenc.AppendUint(out, p.ID)
	}
	out = msgpackenc.AppendString(out, "type")
	out = append(out, byte(t))
	if hasData {
		out = msgpackenc.AppendString(out, "data")
		var err error
		if out, err = appendData(out, p.Data, p.Attachments); err != nil {
			return dst, true, err
		}
	}
	if t != sioparser.Ack && p.HasID {
		out = msgpackenc.AppendString(out, "id")
		out = msgpackenc.AppendUint(out, p.ID)
	}
	out = msgpackenc.AppendString(out, "nsp")
	out = msgpackenc.AppendString(out, nsp)
	return out, true, nil
}

var encoderPool = sync.Pool{New: func() any { return &encoder{cs: make([]container, 0, 16)} }}

// appendData appends the JSON value js, its placeholders indexing atts.
func appendData(out, js []byte, atts [][]byte) ([]byte, error) {
	e := encoderPool.Get().(*encoder)
	defer func() {
		e.js, e.atts, e.cs, e.next = nil, nil, e.cs[:0], 0
		if cap(e.cs) <= 1024 {
			encoderPool.Put(e)
		}
	}()
	e.js, e.atts = js, atts
	end, err := e.count(0, 0)
	if err != nil {
		return nil, err
	}
	if skipSpace(js, end) != len(js) {
		return nil, errJSON
	}
	out, _, err = e.write(out, 0)
	return out, err
}
