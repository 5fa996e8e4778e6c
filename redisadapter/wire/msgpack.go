package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/socketio-go/socketio/internal/msgpackenc"
	"github.com/socketio-go/socketio/sioparser"
)

// maxDepth bounds the nesting of the values this package reads, as
// sioparser does for JSON.
const maxDepth = 10000

var (
	errJSON    = errors.New("wire: invalid JSON")
	errMsgpack = errors.New("wire: invalid MessagePack")
	errDepth   = errors.New("wire: value nested too deeply")
)

// IsJSON reports whether a payload read from Redis is JSON text rather
// than MessagePack: Node's receivers decide by the first byte, '{'.
func IsJSON(payload []byte) bool { return len(payload) > 0 && payload[0] == '{' }

// --- JSON -> MessagePack ---

// JSONToMsgpack appends the MessagePack encoding of the JSON value js to
// dst. Placeholders that index attachments become bin values; everything
// else is encoded as notepack.io encodes the JavaScript value JSON.parse
// would give. js must be valid JSON (as produced by this module's encoders
// or checked by sioparser); invalid input gives an error or garbage, never a
// panic.
func JSONToMsgpack(dst, js []byte, attachments [][]byte) ([]byte, error) {
	counts, err := countElements(js)
	if err != nil {
		return dst, err
	}
	out, err := transcodeJSON(dst, js, attachments, counts)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// countElements returns, for each array and object of js in order of their
// opening bracket, the number of its elements (members for objects): the
// header MessagePack writes before them.
func countElements(js []byte) ([]int, error) {
	type frame struct {
		idx  int
		seen bool
	}
	var counts []int
	var stackBuf [16]frame
	stack := stackBuf[:0]
	for i := 0; i < len(js); i++ {
		c := js[i]
		switch c {
		case ' ', '\t', '\n', '\r', ':':
			continue
		case ',':
			if len(stack) == 0 {
				return nil, errJSON
			}
			counts[stack[len(stack)-1].idx]++
			continue
		case ']', '}':
			if len(stack) == 0 {
				return nil, errJSON
			}
			top := stack[len(stack)-1]
			if top.seen {
				counts[top.idx]++
			}
			stack = stack[:len(stack)-1]
			continue
		}
		if n := len(stack); n > 0 {
			stack[n-1].seen = true
		}
		switch c {
		case '"':
			end, err := stringEnd(js, i)
			if err != nil {
				return nil, err
			}
			i = end
		case '[', '{':
			if len(stack) >= maxDepth {
				return nil, errDepth
			}
			stack = append(stack, frame{idx: len(counts)})
			counts = append(counts, 0)
		}
	}
	if len(stack) != 0 {
		return nil, errJSON
	}
	return counts, nil
}

// stringEnd returns the index of the quote closing the string that starts
// at js[i].
func stringEnd(js []byte, i int) (int, error) {
	for j := i + 1; j < len(js); j++ {
		switch js[j] {
		case '\\':
			j++
		case '"':
			return j, nil
		}
	}
	return 0, errJSON
}

func transcodeJSON(out, js []byte, atts [][]byte, counts []int) ([]byte, error) {
	ci := 0 // index in counts of the next container
	for i := 0; i < len(js); {
		c := js[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ':' || c == ']' || c == '}':
			i++
		case c == '{':
			if len(atts) > 0 {
				if n, end, ok := placeholderAt(js, i); ok && n < len(atts) {
					out = AppendBin(out, atts[n])
					i = end
					ci++
					continue
				}
			}
			if ci >= len(counts) {
				return nil, errJSON
			}
			out = AppendMapHeader(out, counts[ci])
			ci++
			i++
		case c == '[':
			if ci >= len(counts) {
				return nil, errJSON
			}
			out = AppendArrayHeader(out, counts[ci])
			ci++
			i++
		case c == '"':
			end, err := stringEnd(js, i)
			if err != nil {
				return nil, err
			}
			lit := js[i : end+1]
			if bytes.IndexByte(lit, '\\') < 0 {
				out = AppendStringBytes(out, lit[1:len(lit)-1])
			} else {
				s, _ := jsontext.AppendUnquote(nil, lit) // invalid UTF-8 is replaced
				out = AppendStringBytes(out, s)
			}
			i = end + 1
		case c == 't':
			if !bytes.HasPrefix(js[i:], []byte("true")) {
				return nil, errJSON
			}
			out = append(out, 0xc3)
			i += 4
		case c == 'f':
			if !bytes.HasPrefix(js[i:], []byte("false")) {
				return nil, errJSON
			}
			out = append(out, 0xc2)
			i += 5
		case c == 'n':
			if !bytes.HasPrefix(js[i:], []byte("null")) {
				return nil, errJSON
			}
			out = append(out, 0xc0)
			i += 4
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(js) && isNumberByte(js[j]) {
				j++
			}
			var err error
			if out, err = appendJSONNumber(out, js[i:j]); err != nil {
				return nil, err
			}
			i = j
		default:
			return nil, errJSON
		}
	}
	return out, nil
}

func isNumberByte(c byte) bool {
	return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

// placeholderAt recognises a placeholder object starting at js[i] and
// returns its number and the index after it.
func placeholderAt(js []byte, i int) (int, int, bool) {
	limit := min(len(js), i+96) // a placeholder is short
	for j := i + 1; j < limit; j++ {
		switch js[j] {
		case '{', '[':
			return 0, 0, false
		case '}':
			raw := js[i : j+1]
			if !bytes.Contains(raw, []byte(`"_placeholder"`)) {
				return 0, 0, false
			}
			n, ok := sioparser.PlaceholderIndex(raw)
			return n, j + 1, ok
		}
	}
	return 0, 0, false
}

// appendJSONNumber encodes a JSON number as notepack encodes the JavaScript
// number: integral values as integers of the smallest width, others as
// float64.
func appendJSONNumber(out, lit []byte) ([]byte, error) {
	s := string(lit)
	if !bytes.ContainsAny(lit, ".eE") {
		if v, err := strconv.ParseInt(s, 10, 64); err == nil {
			return AppendInt(out, v), nil
		}
		if v, err := strconv.ParseUint(s, 10, 64); err == nil {
			return AppendUint(out, v), nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, errJSON
	}
	return AppendNumber(out, f), nil
}

// --- MessagePack writers ---

// AppendNumber appends f as notepack encodes a JavaScript number.
func AppendNumber(out []byte, f float64) []byte {
	return msgpackenc.AppendNumber(out, f)
}

// AppendInt appends v in its smallest MessagePack form.
func AppendInt(out []byte, v int64) []byte {
	return msgpackenc.AppendInt(out, v)
}

// AppendUint appends v in its smallest MessagePack form.
func AppendUint(out []byte, v uint64) []byte {
	return msgpackenc.AppendUint(out, v)
}

// AppendString appends s as a MessagePack str.
func AppendString(out []byte, s string) []byte {
	return msgpackenc.AppendString(out, s)
}

// AppendStringBytes appends s as a MessagePack str.
func AppendStringBytes(out []byte, s []byte) []byte {
	return msgpackenc.AppendStringBytes(out, s)
}

// AppendBin appends b as a MessagePack bin.
func AppendBin(out, b []byte) []byte {
	return msgpackenc.AppendBin(out, b)
}

// AppendArrayHeader appends the header of an array of n elements.
func AppendArrayHeader(out []byte, n int) []byte {
	return msgpackenc.AppendArrayHeader(out, n)
}

// AppendMapHeader appends the header of a map of n entries.
func AppendMapHeader(out []byte, n int) []byte {
	return msgpackenc.AppendMapHeader(out, n)
}

// --- MessagePack -> JSON ---

// MsgpackToJSON decodes one MessagePack value into JSON text, as
// JSON.stringify would write the value notepack.io decodes (maps keep their
// key order), except that integers are written exactly, where JavaScript
// rounds those beyond 2^53, and bin values become placeholders indexing the
// returned attachments (which alias src). Floats are written as JavaScript
// writes numbers (1.5, 1e+21; an integral float64 as an integer, as notepack
// would have sent it). Timestamps (extension -1) become ISO 8601 strings, as
// Date.toJSON writes them; other extensions become null.
func MsgpackToJSON(src []byte) ([]byte, [][]byte, error) {
	d := mpDecoder{src: src}
	out, err := d.value(make([]byte, 0, len(src)+len(src)/4+16), 0)
	if err != nil {
		return nil, nil, err
	}
	if d.pos != len(src) {
		return nil, nil, fmt.Errorf("%w: %d bytes after the value", errMsgpack, len(src)-d.pos)
	}
	return out, d.atts, nil
}

type mpDecoder struct {
	src  []byte
	pos  int
	atts [][]byte
	// base64 writes bin values as base64 strings instead of placeholders.
	base64 bool
}

func (d *mpDecoder) need(n int) ([]byte, error) {
	if n < 0 || len(d.src)-d.pos < n {
		return nil, errMsgpack
	}
	b := d.src[d.pos : d.pos+n]
	d.pos += n
	return b, nil
}

func (d *mpDecoder) uint(n int) (uint64, error) {
	b, err := d.need(n)
	if err != nil {
		return 0, err
	}
	switch n {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(b)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(b)), nil
	}
	return binary.BigEndian.Uint64(b), nil
}

func (d *mpDecoder) value(out []byte, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, errDepth
	}
	b, err := d.need(1)
	if err != nil {
		return nil, err
	}
	c := b[0]
	switch {
	case c <= 0x7f:
		return strconv.AppendInt(out, int64(c), 10), nil
	case c >= 0xe0:
		return strconv.AppendInt(out, int64(int8(c)), 10), nil
	case c&0xf0 == 0x80:
		return d.object(out, int(c&0x0f), depth)
	case c&0xf0 == 0x90:
		return d.array(out, int(c&0x0f), depth)
	case c&0xe0 == 0xa0:
		return d.str(out, int(c&0x1f))
	}
	switch c {
	case 0xc0:
		return append(out, "null"...), nil
	case 0xc2:
		return append(out, "false"...), nil
	case 0xc3:
		return append(out, "true"...), nil
	case 0xc4, 0xc5, 0xc6:
		n, err := d.uint(1 << (c - 0xc4))
		if err != nil {
			return nil, err
		}
		bin, err := d.need(int(n))
		if err != nil {
			return nil, err
		}
		if d.base64 {
			out = append(out, '"')
			out = base64.StdEncoding.AppendEncode(out, bin)
			return append(out, '"'), nil
		}
		out = append(out, `{"_placeholder":true,"num":`...)
		out = strconv.AppendInt(out, int64(len(d.atts)), 10)
		d.atts = append(d.atts, bin)
		return append(out, '}'), nil
	case 0xc7, 0xc8, 0xc9:
		n, err := d.uint(1 << (c - 0xc7))
		if err != nil {
			return nil, err
		}
		return d.ext(out, int(n))
	case 0xca:
		v, err := d.uint(4)
		if err != nil {
			return nil, err
		}
		return appendJSFloat(out, float64(math.Float32frombits(uint32(v)))), nil
	case 0xcb:
		v, err := d.uint(8)
		if err != nil {
			return nil, err
		}
		return appendJSFloat(out, math.Float64frombits(v)), nil
	case 0xcc, 0xcd, 0xce, 0xcf:
		v, err := d.uint(1 << (c - 0xcc))
		if err != nil {
			return nil, err
		}
		return strconv.AppendUint(out, v, 10), nil
	case 0xd0, 0xd1, 0xd2, 0xd3:
		n := 1 << (c - 0xd0)
		v, err := d.uint(n)
		if err != nil {
			return nil, err
		}
		var i int64
		switch n {
		case 1:
			i = int64(int8(v))
		case 2:
			i = int64(int16(v))
		case 4:
			i = int64(int32(v))
		default:
			i = int64(v)
		}
		return strconv.AppendInt(out, i, 10), nil
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return d.ext(out, 1<<(c-0xd4))
	case 0xd9, 0xda, 0xdb:
		n, err := d.uint(1 << (c - 0xd9))
		if err != nil {
			return nil, err
		}
		return d.str(out, int(n))
	case 0xdc, 0xdd:
		n, err := d.uint(2 << (c - 0xdc))
		if err != nil {
			return nil, err
		}
		return d.array(out, int(n), depth)
	case 0xde, 0xdf:
		n, err := d.uint(2 << (c - 0xde))
		if err != nil {
			return nil, err
		}
		return d.object(out, int(n), depth)
	}
	return nil, fmt.Errorf("%w: byte 0x%02x", errMsgpack, c)
}

func (d *mpDecoder) str(out []byte, n int) ([]byte, error) {
	s, err := d.need(n)
	if err != nil {
		return nil, err
	}
	out, _ = jsontext.AppendQuote(out, s) // invalid UTF-8 is replaced
	return out, nil
}

func (d *mpDecoder) array(out []byte, n, depth int) ([]byte, error) {
	if n > len(d.src)-d.pos { // every element takes a byte at least
		return nil, errMsgpack
	}
	out = append(out, '[')
	for i := 0; i < n; i++ {
		if i > 0 {
			out = append(out, ',')
		}
		var err error
		if out, err = d.value(out, depth+1); err != nil {
			return nil, err
		}
	}
	return append(out, ']'), nil
}

func (d *mpDecoder) object(out []byte, n, depth int) ([]byte, error) {
	if n > (len(d.src)-d.pos)/2 {
		return nil, errMsgpack
	}
	out = append(out, '{')
	for i := 0; i < n; i++ {
		if i > 0 {
			out = append(out, ',')
		}
		var err error
		if out, err = d.key(out); err != nil {
			return nil, err
		}
		out = append(out, ':')
		if out, err = d.value(out, depth+1); err != nil {
			return nil, err
		}
	}
	return append(out, '}'), nil
}

// key writes a map key as a JSON string: JavaScript objects have string
// keys, and notepack turns other scalar keys into strings.
func (d *mpDecoder) key(out []byte) ([]byte, error) {
	if d.pos < len(d.src) {
		switch c := d.src[d.pos]; {
		case c&0xe0 == 0xa0 || c == 0xd9 || c == 0xda || c == 0xdb:
			return d.value(out, 0)
		case c == 0xc4 || c == 0xc5 || c == 0xc6:
			return nil, fmt.Errorf("%w: map key is binary", errMsgpack)
		}
	}
	v, err := d.value(nil, maxDepth) // a container here fails on depth
	if err != nil {
		return nil, err
	}
	if len(v) > 0 && (v[0] == '{' || v[0] == '[') {
		return nil, fmt.Errorf("%w: map key is not a scalar", errMsgpack)
	}
	out, _ = jsontext.AppendQuote(out, v)
	return out, nil
}

// ext decodes an extension value of n data bytes.
func (d *mpDecoder) ext(out []byte, n int) ([]byte, error) {
	tb, err := d.need(1)
	if err != nil {
		return nil, err
	}
	data, err := d.need(n)
	if err != nil {
		return nil, err
	}
	if int8(tb[0]) != -1 {
		return append(out, "null"...), nil // notepack's undefined, or unknown
	}
	var t time.Time
	switch n {
	case 4:
		t = time.Unix(int64(binary.BigEndian.Uint32(data)), 0)
	case 8:
		v := binary.BigEndian.Uint64(data)
		t = time.Unix(int64(v&(1<<34-1)), int64(v>>34))
	case 12:
		t = time.Unix(int64(binary.BigEndian.Uint64(data[4:])), int64(binary.BigEndian.Uint32(data)))
	default:
		return nil, fmt.Errorf("%w: timestamp of %d bytes", errMsgpack, n)
	}
	out = append(out, '"')
	out = t.UTC().AppendFormat(out, "2006-01-02T15:04:05.000Z")
	return append(out, '"'), nil
}

// appendJSFloat writes f as JavaScript's Number#toString does (and
// JSON.stringify, which writes null for NaN and infinities).
func appendJSFloat(out []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(out, "null"...)
	}
	if f == 0 {
		return append(out, '0') // -0 too, as JavaScript writes it
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	out = strconv.AppendFloat(out, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 -> 1e-7
		n := len(out)
		if n >= 4 && out[n-4] == 'e' && out[n-3] == '-' && out[n-2] == '0' {
			out[n-2] = out[n-1]
			out = out[:n-1]
		}
	}
	return out
}

// InlineBinary returns the JSON value js of a message, whose placeholders
// index attachments, with its binary values written as base64 strings
// (standard encoding, padded), as encoding/json writes a []byte: JSON text
// that stands alone and decodes back into []byte fields. Key order and
// integers are kept; with no attachments js is returned as is, otherwise
// numbers are written as MsgpackToJSON writes them (the form js already has
// when the message arrived as MessagePack, the only way to have binary).
func InlineBinary(js []byte, attachments [][]byte) ([]byte, error) {
	if len(attachments) == 0 {
		return js, nil
	}
	mp, err := JSONToMsgpack(nil, js, attachments)
	if err != nil {
		return nil, err
	}
	d := mpDecoder{src: mp, base64: true}
	out, err := d.value(make([]byte, 0, len(js)+len(js)/4+16), 0)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Extract returns the JSON value js with only the attachments it refers to,
// renumbered from 0: a field of a message whose attachments are numbered
// across the whole message.
func Extract(js []byte, attachments [][]byte) ([]byte, [][]byte, error) {
	if len(attachments) == 0 {
		return js, nil, nil
	}
	mp, err := JSONToMsgpack(nil, js, attachments)
	if err != nil {
		return nil, nil, err
	}
	return MsgpackToJSON(mp)
}
