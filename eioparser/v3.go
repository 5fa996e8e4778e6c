package eioparser

import (
	"encoding/base64"
	"errors"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/socketio-go/socketio/internal/wellformed"
)

// Protocol v3 (Engine.IO 3.x, the transport of Socket.IO 2.x clients),
// as Node's engine.io serves it with allowEIO3:
//
//   - a long-polling text payload is a sequence of "<length>:<packet>",
//     where length counts the UTF-16 code units of the packet (JavaScript's
//     string length), and binary data is "b4" + base64;
//   - a long-polling binary payload (XHR2 clients, "application/octet-
//     stream") frames each packet as 0x00 (text) or 0x01 (binary), the
//     decimal digits of its length as bytes 0-9, 0xff, then the packet
//     ("<type><text>" in UTF-8, or the type byte 4 and the raw data);
//   - a binary WebSocket frame is the type byte 4 followed by the data.
//
// The decoders reproduce what the reference decoder does with bad input
// (it is lenient in places: base64 that is not base64, lengths that are
// JavaScript numbers such as " 5" or "0x5", a binary length that runs past
// the end), so that a v3 client gets the answers it would get from Node.

// ErrTooManyPackets is returned by the payload decoders for a payload of
// more packets than the caller allows.
var ErrTooManyPackets = errors.New("eioparser: too many packets in a payload")

// ignoredType marks a v3 packet whose type the reference decoder does not
// know but does not refuse either (a base64 packet or a binary frame with
// another type): Node ignores it, and so does a server that switches on
// the type.
const ignoredType Type = 0xff

// Ignored reports whether the packet came with a type the v3 decoders
// accept without meaning (see DecodePacketV3); it is to be ignored.
func (p Packet) Ignored() bool { return p.Type == ignoredType }

// DecodePacketV3 decodes a packet received as one WebSocket message of
// protocol v3; binary reports whether it came in a binary frame. A binary
// frame's first byte is the packet type; a text packet "b<type><base64>"
// carries binary data. A type the reference decoder maps to nothing is
// returned as a packet whose Ignored method reports true.
func DecodePacketV3(data []byte, binary bool) (Packet, error) {
	if binary {
		return binaryPacketV3(data), nil
	}
	return decodeTextV3(data)
}

func binaryPacketV3(data []byte) Packet {
	if len(data) == 0 {
		return Packet{Type: ignoredType, Binary: true}
	}
	t := Type(data[0])
	if t > Noop {
		t = ignoredType
	}
	return Packet{Type: t, Data: data[1:], Binary: true}
}

func decodeTextV3(data []byte) (Packet, error) {
	if len(data) == 0 {
		return Packet{}, ErrInvalidPacket
	}
	c := data[0]
	if c == 'b' {
		t := ignoredType
		var rest []byte
		if len(data) > 1 {
			if d := data[1]; d >= '0' && d <= '6' {
				t = Type(d - '0')
			}
			rest = data[2:]
		}
		return Packet{Type: t, Data: decodeBase64Lenient(rest), Binary: true}, nil
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

// decodeBase64Lenient decodes base64 as Node's Buffer.from(s, "base64")
// does: standard and URL-safe alphabets, characters outside them skipped,
// decoding stopped at the first "=", a trailing group of two or three
// characters decoded to one or two bytes (one character alone to none).
// It never fails.
func decodeBase64Lenient(s []byte) []byte {
	if out, ok := decodeBase64Strict(s); ok {
		return out
	}
	out := make([]byte, 0, len(s)*3/4+2)
	var acc uint32
	n := 0
	for _, c := range s {
		if c == '=' {
			break
		}
		v := base64Value(c)
		if v < 0 {
			continue
		}
		acc = acc<<6 | uint32(v)
		n++
		if n == 4 {
			out = append(out, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, n = 0, 0
		}
	}
	switch n {
	case 2:
		out = append(out, byte(acc>>4))
	case 3:
		out = append(out, byte(acc>>10), byte(acc>>2))
	}
	return out
}

// decodeBase64Strict is the fast path of decodeBase64Lenient for what
// clients send: padded standard base64 whose padding bits are zero (Go
// refuses others, which the slow path then decodes as Node does).
func decodeBase64Strict(s []byte) ([]byte, bool) {
	if len(s)%4 != 0 {
		return nil, false
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Strict().Decode(out, s)
	return out[:n], err == nil
}

func base64Value(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '+' || c == '-':
		return 62
	case c == '/' || c == '_':
		return 63
	}
	return -1
}

// DecodePayloadV3 splits a v3 long-polling text payload, a sequence of
// "<length>:<packet>" with lengths in UTF-16 code units, into packets. The
// body is read as UTF-8 the way Node reads a request body (an invalid
// sequence reads as U+FFFD, which the returned data then holds); a packet
// that would end in the middle of a character outside the Basic
// Multilingual Plane gets the halves of that character as U+FFFD, each on
// its side. Empty packets ("0:") are skipped. On an invalid length or
// packet it returns the packets before it with ErrInvalidPacket, as
// DecodePayload does. maxPackets bounds the packets returned (0 for no
// bound); past it the error is ErrTooManyPackets.
func DecodePayloadV3(body []byte, maxPackets int) ([]Packet, error) {
	if !utf8.Valid(body) {
		body = wellformed.UTF8(body)
	}
	if len(body) == 0 {
		return nil, ErrInvalidPacket
	}
	var packets []Packet
	for len(body) > 0 {
		colon := indexByte(body, ':')
		if colon < 0 {
			return packets, ErrInvalidPacket
		}
		n, ok := jsNumber(body[:colon])
		if colon == 0 || !ok {
			return packets, ErrInvalidPacket
		}
		rest := body[colon+1:]
		// JavaScript takes n code units and then checks that it got n of
		// them: n must be an integer no larger than what remains.
		if n != math.Trunc(n) || n < 0 || n > float64(len(rest)) {
			return packets, ErrInvalidPacket
		}
		end, split, ok := utf16Prefix(rest, int(n))
		if !ok {
			return packets, ErrInvalidPacket
		}
		msg := rest[:end]
		body = rest[end:]
		if split {
			// The packet ends inside a surrogate pair: each half becomes
			// U+FFFD, as the lone surrogates are when JavaScript writes
			// them out as UTF-8.
			msg = append(msg[:end:end], replacementChar...)
			body = append(append([]byte(nil), replacementChar...), body[4:]...)
		}
		if len(msg) == 0 {
			continue
		}
		if maxPackets > 0 && len(packets) == maxPackets {
			return packets, ErrTooManyPackets
		}
		p, err := decodeTextV3(msg)
		if err != nil {
			return packets, err
		}
		packets = append(packets, p)
	}
	return packets, nil
}

var replacementChar = []byte("\uFFFD")

// utf16Prefix returns the byte length of the first n UTF-16 code units of
// the valid UTF-8 s; split reports that the n-th unit is the first half
// of a four-byte character (which then starts at end). ok is false when s
// holds fewer than n units.
func utf16Prefix(s []byte, n int) (end int, split, ok bool) {
	i := 0
	for n > 0 {
		if i >= len(s) {
			return 0, false, false
		}
		c := s[i]
		switch {
		case c < 0x80:
			i++
			n--
		case c < 0xe0:
			i += 2
			n--
		case c < 0xf0:
			i += 3
			n--
		default:
			if n == 1 {
				return i, true, true
			}
			i += 4
			n -= 2
		}
	}
	return i, false, true
}

// utf16Len is the length of the valid UTF-8 s in UTF-16 code units
// (JavaScript's string length).
func utf16Len(s []byte) int {
	n := 0
	for _, c := range s {
		if c&0xc0 != 0x80 {
			n++
			if c >= 0xf0 {
				n++
			}
		}
	}
	return n
}

// jsNumber converts s as JavaScript's Number(s) does for a string, and
// reports false where that gives NaN.
func jsNumber(s []byte) (float64, bool) {
	str := trimJSSpace(string(s))
	if str == "" {
		return 0, true
	}
	switch str {
	case "Infinity", "+Infinity":
		return math.Inf(1), true
	case "-Infinity":
		return math.Inf(-1), true
	}
	if len(str) > 2 && str[0] == '0' {
		base := 0
		switch str[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 0 {
			v := 0.0
			for _, c := range []byte(str[2:]) {
				d := digitValue(c)
				if d < 0 || d >= base {
					return 0, false
				}
				v = v*float64(base) + float64(d)
			}
			return v, true
		}
	}
	if !isJSDecimal(str) {
		return 0, false
	}
	v, err := strconv.ParseFloat(str, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return v, true // ±Inf or 0, as JavaScript rounds too
		}
		return 0, false
	}
	return v, true
}

func digitValue(c byte) int {
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

// isJSDecimal reports whether s is a StrDecimalLiteral without the
// Infinity forms: [+-] (digits [. digits?] | . digits) [(e|E) [+-] digits].
func isJSDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}

// trimJSSpace trims what JavaScript's String.prototype.trim trims:
// WhiteSpace and LineTerminator code points.
func trimJSSpace(s string) string {
	start, end := 0, len(s)
	for start < end {
		r, n := utf8.DecodeRuneInString(s[start:])
		if !isJSSpace(r) {
			break
		}
		start += n
	}
	for end > start {
		r, n := utf8.DecodeLastRuneInString(s[start:end])
		if !isJSSpace(r) {
			break
		}
		end -= n
	}
	return s[start:end]
}

func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// DecodeBinaryPayloadV3 splits a v3 long-polling binary payload
// ("application/octet-stream") into packets, as the reference decoder
// does: it reads the decimal length as the concatenated decimal values of
// the bytes before 0xff (so a byte above 9 counts as several digits, and
// shifts what follows), cuts a packet that claims more bytes than remain
// at the end of the body, refuses a length of more than 310 digits, and
// decodes a text packet as UTF-8 (refusing invalid UTF-8 but for encoded
// surrogates, which read as U+FFFD). The error is ErrInvalidPacket, with
// the packets before it, except for a bad length, which loses the whole
// payload. maxPackets bounds the packets (0 for no bound).
func DecodeBinaryPayloadV3(body []byte, maxPackets int) ([]Packet, error) {
	type part struct {
		text bool
		data []byte
	}
	var parts []part
	tail := body
	for len(tail) > 0 {
		text := tail[0] == 0
		// The length's decimal string as JavaScript builds it: each byte
		// before 0xff adds its decimal value. Running off the end adds
		// "undefined" until the string is too long: an error.
		digitsLen := 0
		var value float64
		for i := 1; ; i++ {
			if i < len(tail) && tail[i] == 0xff {
				break
			}
			if digitsLen > 310 || i >= len(tail) {
				return nil, ErrInvalidPacket
			}
			b := int(tail[i])
			switch {
			case b >= 100:
				value = value*1000 + float64(b)
				digitsLen += 3
			case b >= 10:
				value = value*100 + float64(b)
				digitsLen += 2
			default:
				value = value*10 + float64(b)
				digitsLen++
			}
		}
		tail = bufSlice(tail, float64(digitsLen+1))
		var msg []byte
		if digitsLen > 0 {
			msg = bufSliceRange(tail, 1, value+1)
			tail = bufSlice(tail, value+1)
		} // else parseInt gives NaN: an empty packet, and tail stays
		if maxPackets > 0 && len(parts) == maxPackets {
			return nil, ErrTooManyPackets
		}
		parts = append(parts, part{text: text, data: msg})
	}
	packets := make([]Packet, 0, len(parts))
	for _, pt := range parts {
		if !pt.text {
			packets = append(packets, binaryPacketV3(pt.data))
			continue
		}
		data := pt.data
		if len(data) > 0 && data[0] == 'b' {
			// Base64 is looked for before the UTF-8 decoding.
			p, _ := decodeTextV3(data)
			packets = append(packets, p)
			continue
		}
		data, ok := utf8jsDecode(data)
		if !ok {
			return packets, ErrInvalidPacket
		}
		p, err := decodeTextV3(data)
		if err != nil {
			return packets, err
		}
		packets = append(packets, p)
	}
	return packets, nil
}

// bufSlice is Buffer.slice(start) for a start that is an integer, a huge
// number or +Inf.
func bufSlice(b []byte, start float64) []byte {
	if start >= float64(len(b)) {
		return b[len(b):]
	}
	return b[int(start):]
}

// bufSliceRange is Buffer.slice(start, end) for 0 <= start and end >= 1.
func bufSliceRange(b []byte, start int, end float64) []byte {
	if start > len(b) {
		start = len(b)
	}
	e := len(b)
	if end < float64(len(b)) {
		e = int(end)
	}
	if e < start {
		return b[start:start]
	}
	return b[start:e]
}

// utf8jsDecode decodes bytes as the reference parser's utf8.js does in
// non-strict mode: valid UTF-8 is kept, an encoded surrogate becomes
// U+FFFD, anything else invalid is refused.
func utf8jsDecode(b []byte) ([]byte, bool) {
	if utf8.Valid(b) {
		return b, true
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			out = append(out, c)
			i++
			continue
		}
		// An encoded surrogate: ED A0-BF 80-BF.
		if c == 0xed && i+2 < len(b) && b[i+1] >= 0xa0 && b[i+1] <= 0xbf && b[i+2]&0xc0 == 0x80 {
			out = append(out, replacementChar...)
			i += 3
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return nil, false
		}
		out = append(out, b[i:i+n]...)
		i += n
	}
	return out, true
}

// AppendPayloadV3 appends the v3 long-polling text encoding of packets:
// each "<length>:<packet>" with the length in UTF-16 code units, binary
// data as "b4" + base64.
func AppendPayloadV3(dst []byte, packets []Packet) []byte {
	for _, p := range packets {
		if p.Binary {
			n := 2 + base64.StdEncoding.EncodedLen(len(p.Data))
			dst = strconv.AppendInt(dst, int64(n), 10)
			dst = append(dst, ':', 'b', p.Type.Char())
			dst = base64.StdEncoding.AppendEncode(dst, p.Data)
			continue
		}
		dst = strconv.AppendInt(dst, int64(1+textUnits(p.Data)), 10)
		dst = append(dst, ':', p.Type.Char())
		dst = append(dst, p.Data...)
	}
	return dst
}

// textUnits counts the UTF-16 code units of text as the client will read
// it (invalid UTF-8 as U+FFFD).
func textUnits(b []byte) int {
	if !utf8.Valid(b) {
		b = wellformed.UTF8(b)
	}
	return utf16Len(b)
}

// EncodedLenV3 bounds the length AppendPayloadV3 or
// AppendBinaryPayloadV3 adds for p.
func EncodedLenV3(p Packet) int {
	if p.Binary {
		return 24 + base64.StdEncoding.EncodedLen(len(p.Data))
	}
	return 24 + len(p.Data)
}

// AppendBinaryPayloadV3 appends the v3 binary long-polling encoding of
// packets (XHR2 clients, sent as application/octet-stream): for each,
// 0x00 or 0x01 (text or binary), the decimal digits of its length as
// bytes 0-9, 0xff, then the packet, in UTF-8 for text or the type byte
// and the data for binary.
func AppendBinaryPayloadV3(dst []byte, packets []Packet) []byte {
	var digits [20]byte
	for _, p := range packets {
		kind, n := byte(0), 1+len(p.Data)
		if p.Binary {
			kind = 1
		}
		if !p.Binary && !utf8.Valid(p.Data) {
			p.Data = wellformed.UTF8(p.Data)
			n = 1 + len(p.Data)
		}
		dst = append(dst, kind)
		for _, d := range strconv.AppendInt(digits[:0], int64(n), 10) {
			dst = append(dst, d-'0')
		}
		dst = append(dst, 0xff)
		if p.Binary {
			dst = append(dst, byte(p.Type))
		} else {
			dst = append(dst, p.Type.Char())
		}
		dst = append(dst, p.Data...)
	}
	return dst
}
