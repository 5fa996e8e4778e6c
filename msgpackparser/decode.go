package msgpackparser

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"strconv"
	"time"

	"github.com/socketio-go/socketio/internal/wellformed"
	"github.com/socketio-go/socketio/sioparser"
)

// maxDepth bounds the nesting of a payload, as sioparser does for JSON.
const maxDepth = 10000

// maxSafeInteger is JavaScript's Number.MAX_SAFE_INTEGER, the largest
// acknowledgement id the default parser accepts too.
const maxSafeInteger = 1<<53 - 1

// kind is the kind of a MessagePack value.
type kind uint8

const (
	kNil kind = iota
	kFalse
	kTrue
	kInt   // i; unsigned values that fit an int64 too
	kUint  // u; unsigned values over math.MaxInt64
	kFloat // f; float 32 and float 64
	kStr   // b
	kBin   // b
	kArray // n elements follow
	kMap   // n key/value pairs follow
	kExt   // ext (type), b; hdr tells fixext from ext 8/16/32
)

// token is one MessagePack value header, with its payload for scalars.
// It is small: next returns one per value.
type token struct {
	kind kind
	hdr  byte // the first byte
	ext  int8
	v    uint64 // kInt: int64(v); kUint: v; kFloat: its bits; kArray, kMap: the count
	b    []byte // capped: appending to it cannot overwrite what follows
}

func (t *token) i() int64   { return int64(t.v) }
func (t *token) f() float64 { return math.Float64frombits(t.v) }
func (t *token) n() int     { return int(t.v) }

// isUndefined reports notepack's undefined: fixext 1 of type 0.
func (t *token) isUndefined() bool { return t.kind == kExt && t.hdr == 0xd4 && t.ext == 0 }

// number returns the value of a numeric token as JavaScript sees it.
func (t *token) number() (float64, bool) {
	switch t.kind {
	case kInt:
		return float64(t.i()), true
	case kUint:
		return float64(t.v), true
	case kFloat:
		return t.f(), true
	}
	return 0, false
}

// integer returns a numeric token's value if it is an integer in [lo, hi]
// (Number.isInteger: integral floats count).
func (t *token) integer(lo, hi int64) (int64, bool) {
	switch t.kind {
	case kInt:
		return t.i(), t.i() >= lo && t.i() <= hi
	case kFloat:
		if f := t.f(); f == math.Trunc(f) && f >= float64(lo) && f <= float64(hi) {
			return int64(f), true
		}
	}
	return 0, false
}

// decoder reads MessagePack from src. Converting a value to JSON runs
// twice: a measuring pass (write false) that validates it and counts the
// JSON bytes and binary values without allocating, then, once the limits
// are checked, a writing pass into a buffer of the exact size.
type decoder struct {
	src []byte
	pos int

	write    bool
	inline   bool // binary values as base64 strings (CONNECT, CONNECT_ERROR: no attachments)
	out      []byte
	size     int64 // JSON bytes measured
	atts     [][]byte
	bins     int
	binBytes int64
	maxBins  int
}

func (d *decoder) take(n uint64) ([]byte, error) {
	if n > uint64(len(d.src)-d.pos) {
		return nil, errTruncated
	}
	end := d.pos + int(n)
	b := d.src[d.pos:end:end]
	d.pos = end
	return b, nil
}

func (d *decoder) uint(n int) (uint64, error) {
	b, err := d.take(uint64(n))
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

// next reads one value header (and the payload of a scalar). For arrays
// and maps it checks the count against the bytes left, one byte at least
// per element, so that no count is trusted beyond the message.
func (d *decoder) next() (token, error) {
	if d.pos >= len(d.src) {
		return token{}, errTruncated
	}
	c := d.src[d.pos]
	d.pos++
	t := token{hdr: c}
	switch {
	case c <= 0x7f:
		t.kind, t.v = kInt, uint64(c)
		return t, nil
	case c >= 0xe0:
		t.kind, t.v = kInt, uint64(int64(int8(c)))
		return t, nil
	case c <= 0x8f:
		return d.container(t, kMap, uint64(c&0x0f))
	case c <= 0x9f:
		return d.container(t, kArray, uint64(c&0x0f))
	case c <= 0xbf:
		t.kind = kStr
		var err error
		t.b, err = d.take(uint64(c & 0x1f))
		return t, err
	}
	switch c {
	case 0xc0:
		t.kind = kNil
	case 0xc2:
		t.kind = kFalse
	case 0xc3:
		t.kind = kTrue
	case 0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb:
		t.kind = kBin
		w := 1 << (c - 0xc4)
		if c >= 0xd9 {
			t.kind = kStr
			w = 1 << (c - 0xd9)
		}
		n, err := d.uint(w)
		if err != nil {
			return t, err
		}
		t.b, err = d.take(n)
		return t, err
	case 0xc7, 0xc8, 0xc9:
		n, err := d.uint(1 << (c - 0xc7))
		if err != nil {
			return t, err
		}
		return d.extension(t, n)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return d.extension(t, 1<<(c-0xd4))
	case 0xca:
		v, err := d.uint(4)
		t.kind, t.v = kFloat, math.Float64bits(float64(math.Float32frombits(uint32(v))))
		return t, err
	case 0xcb:
		v, err := d.uint(8)
		t.kind, t.v = kFloat, v
		return t, err
	case 0xcc, 0xcd, 0xce, 0xcf:
		v, err := d.uint(1 << (c - 0xcc))
		t.kind, t.v = kInt, v
		if v > math.MaxInt64 {
			t.kind = kUint
		}
		return t, err
	case 0xd0, 0xd1, 0xd2, 0xd3:
		w := 1 << (c - 0xd0)
		v, err := d.uint(w)
		t.kind = kInt
		switch w {
		case 1:
			t.v = uint64(int64(int8(v)))
		case 2:
			t.v = uint64(int64(int16(v)))
		case 4:
			t.v = uint64(int64(int32(v)))
		default:
			t.v = v
		}
		return t, err
	case 0xdc, 0xdd:
		n, err := d.uint(2 << (c - 0xdc))
		if err != nil {
			return t, err
		}
		return d.container(t, kArray, n)
	case 0xde, 0xdf:
		n, err := d.uint(2 << (c - 0xde))
		if err != nil {
			return t, err
		}
		return d.container(t, kMap, n)
	default: // 0xc1, never used
		return t, errReserved
	}
	return t, nil
}

func (d *decoder) container(t token, k kind, n uint64) (token, error) {
	left := uint64(len(d.src) - d.pos)
	if k == kMap && n > left/2 || n > left {
		return t, errTruncated
	}
	t.kind, t.v = k, n
	return t, nil
}

func (d *decoder) extension(t token, n uint64) (token, error) {
	typ, err := d.take(1)
	if err != nil {
		return t, err
	}
	t.kind, t.ext = kExt, int8(typ[0])
	t.b, err = d.take(n)
	return t, err
}

// undefinedNext reports whether the next value is notepack's undefined,
// and skips it if so.
func (d *decoder) undefinedNext() bool {
	if len(d.src)-d.pos >= 3 && d.src[d.pos] == 0xd4 && d.src[d.pos+1] == 0 {
		d.pos += 3
		return true
	}
	return false
}

// skip passes over one value of any depth without looking into it (the
// values of keys a Socket.IO packet does not have), iteratively: nothing
// is converted, so nesting costs nothing.
func (d *decoder) skip() error {
	for left := 1; left > 0; left-- {
		t, err := d.next()
		if err != nil {
			return err
		}
		switch t.kind {
		case kArray:
			left += t.n()
		case kMap:
			left += 2 * t.n()
		}
	}
	return nil
}

// --- output, measured or written ---

func (d *decoder) raw(s string) {
	if d.write {
		d.out = append(d.out, s...)
	} else {
		d.size += int64(len(s))
	}
}

func (d *decoder) byte(c byte) {
	if d.write {
		d.out = append(d.out, c)
	} else {
		d.size++
	}
}

// bytes outputs b, formatted into a small buffer by the caller.
func (d *decoder) bytes(b []byte) {
	if d.write {
		d.out = append(d.out, b...)
	} else {
		d.size += int64(len(b))
	}
}

func (d *decoder) quote(s []byte) {
	if d.write {
		d.out = wellformed.AppendJSString(d.out, s, false)
	} else {
		d.size += int64(wellformed.JSStringLen(s))
	}
}

const placeholderPrefix = `{"_placeholder":true,"num":`

func (d *decoder) binary(b []byte) error {
	if d.inline {
		d.byte('"')
		if d.write {
			d.out = base64.StdEncoding.AppendEncode(d.out, b)
		} else {
			d.size += int64(base64.StdEncoding.EncodedLen(len(b)))
		}
		d.byte('"')
		return nil
	}
	var num [20]byte
	if d.write {
		d.out = append(d.out, placeholderPrefix...)
		d.out = strconv.AppendInt(d.out, int64(len(d.atts)), 10)
		d.out = append(d.out, '}')
		d.atts = append(d.atts, b)
		return nil
	}
	d.bins++
	if d.bins > d.maxBins {
		return sioparser.ErrTooManyAttachments
	}
	d.binBytes += int64(len(b))
	d.size += int64(len(placeholderPrefix) + len(strconv.AppendInt(num[:0], int64(d.bins-1), 10)) + 1)
	return nil
}

// value converts the next value to JSON as JSON.stringify writes what
// notepack.io decodes, except that integers are written exactly
// (JavaScript rounds those beyond 2^53) and binary values become
// placeholders.
func (d *decoder) value(depth int) error {
	t, err := d.next()
	if err != nil {
		return err
	}
	var buf [32]byte
	switch t.kind {
	case kNil:
		d.raw("null")
	case kFalse:
		d.raw("false")
	case kTrue:
		d.raw("true")
	case kInt:
		d.bytes(strconv.AppendInt(buf[:0], t.i(), 10))
	case kUint:
		d.bytes(strconv.AppendUint(buf[:0], t.v, 10))
	case kFloat:
		d.bytes(appendJSONNumber(buf[:0], t.f()))
	case kStr:
		d.quote(t.b)
	case kBin:
		return d.binary(t.b)
	case kExt:
		return d.extValue(&t)
	case kArray:
		if depth >= maxDepth {
			return errDepth
		}
		d.byte('[')
		for i := range t.n() {
			if i > 0 {
				d.byte(',')
			}
			if d.undefinedNext() {
				d.raw("null") // as JSON.stringify writes undefined in an array
				continue
			}
			if err := d.value(depth + 1); err != nil {
				return err
			}
		}
		d.byte(']')
	case kMap:
		if depth >= maxDepth {
			return errDepth
		}
		d.byte('{')
		first := true
		for range t.n() {
			k, err := d.next()
			if err != nil {
				return err
			}
			if d.undefinedNext() {
				// JSON.stringify leaves out a member whose value is
				// undefined; its key must still be one we could write.
				if err := checkKey(&k); err != nil {
					return err
				}
				continue
			}
			if !first {
				d.byte(',')
			}
			first = false
			if err := d.key(&k); err != nil {
				return err
			}
			d.byte(':')
			if err := d.value(depth + 1); err != nil {
				return err
			}
		}
		d.byte('}')
	}
	return nil
}

// extValue converts an extension value as notepack.io decodes it: type 0
// is undefined (fixext 1), a Date (fixext 8) or an ArrayBuffer (ext 8, 16,
// 32: binary); any other becomes the array [type, bytes].
func (d *decoder) extValue(t *token) error {
	if t.ext == 0 {
		switch t.hdr {
		case 0xd4:
			d.raw("null")
			return nil
		case 0xd7:
			var buf [40]byte
			d.bytes(appendDate(buf[:0], t.b))
			return nil
		case 0xc7, 0xc8, 0xc9:
			return d.binary(t.b)
		}
	}
	var buf [8]byte
	d.byte('[')
	d.bytes(strconv.AppendInt(buf[:0], int64(t.ext), 10))
	d.byte(',')
	if err := d.binary(t.b); err != nil {
		return err
	}
	d.byte(']')
	return nil
}

// checkKey accepts the keys a JavaScript object gets from notepack.io's
// map decoding that have a string form worth keeping: strings, numbers,
// null, booleans and undefined. Binary, containers and extensions as keys
// are refused.
func checkKey(k *token) error {
	switch k.kind {
	case kStr, kInt, kUint, kFloat, kNil, kTrue, kFalse:
		return nil
	case kExt:
		if k.isUndefined() {
			return nil
		}
	}
	return errKey
}

// key writes a map key as the string JavaScript makes of it.
func (d *decoder) key(k *token) error {
	if err := checkKey(k); err != nil {
		return err
	}
	var buf [32]byte
	var s []byte
	switch k.kind {
	case kStr:
		d.quote(k.b)
		return nil
	case kInt:
		s = strconv.AppendInt(buf[:0], k.i(), 10)
	case kUint:
		s = strconv.AppendUint(buf[:0], k.v, 10)
	case kFloat:
		switch f := k.f(); {
		case math.IsNaN(f):
			s = append(buf[:0], "NaN"...)
		case math.IsInf(f, 1):
			s = append(buf[:0], "Infinity"...)
		case math.IsInf(f, -1):
			s = append(buf[:0], "-Infinity"...)
		default:
			s = appendJSONNumber(buf[:0], f)
		}
	case kNil:
		s = append(buf[:0], "null"...)
	case kTrue:
		s = append(buf[:0], "true"...)
	case kFalse:
		s = append(buf[:0], "false"...)
	default: // undefined
		s = append(buf[:0], "undefined"...)
	}
	d.byte('"')
	d.bytes(s)
	d.byte('"')
	return nil
}

// appendJSONNumber writes f as JSON.stringify does: null for NaN and the
// infinities, otherwise as Number#toString (1.5, 1e+21, 1e-7, 0 for -0).
func appendJSONNumber(out []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(out, "null"...)
	}
	if f == 0 {
		return append(out, '0')
	}
	format := byte('f')
	if abs := math.Abs(f); abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	start := len(out)
	out = strconv.AppendFloat(out, f, format, -1, 64)
	if format == 'e' {
		// Go writes e-07 and e+07, JavaScript e-7 and e+7.
		s := out[start:]
		if n := len(s); n >= 4 && s[n-2] == '0' && (s[n-3] == '-' || s[n-3] == '+') {
			s[n-2] = s[n-1]
			out = out[:len(out)-1]
		}
	}
	return out
}

// appendDate writes notepack's Date extension (milliseconds since the
// epoch, a signed 32-bit high word and an unsigned low word) as
// Date#toJSON does: an ISO 8601 string, with a six-digit signed year
// outside 0000-9999, or null for a time JavaScript cannot represent.
func appendDate(out, b []byte) []byte {
	ms := float64(int32(binary.BigEndian.Uint32(b)))*(1<<32) + float64(binary.BigEndian.Uint32(b[4:]))
	if math.Abs(ms) > 8.64e15 {
		return append(out, "null"...)
	}
	t := time.UnixMilli(int64(ms)).UTC()
	out = append(out, '"')
	if y := t.Year(); y >= 0 && y <= 9999 {
		out = t.AppendFormat(out, "2006-01-02T15:04:05.000Z")
	} else {
		if y < 0 {
			out = append(out, '-')
			y = -y
		} else {
			out = append(out, '+')
		}
		var digits [8]byte
		s := strconv.AppendInt(digits[:0], int64(y), 10)
		for range 6 - len(s) {
			out = append(out, '0')
		}
		out = append(out, s...)
		out = t.AppendFormat(out, "-01-02T15:04:05.000Z")
	}
	return append(out, '"')
}
