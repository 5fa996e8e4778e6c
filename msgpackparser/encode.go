package msgpackparser

import (
	"bytes"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/socketio-go/socketio/internal/msgpackenc"
	"github.com/socketio-go/socketio/sioparser"
)

// encoder turns a packet's JSON payload into MessagePack, as notepack.io
// encodes the value JSON.parse gives, with placeholders turned back into
// bin values. MessagePack writes the length of an array or map before its
// elements, so a first pass records every container (in order of their
// opening bracket) and the second writes.
type encoder struct {
	js   []byte
	atts [][]byte
	cs   []container
	next int // index in cs of the next container to write
}

// container is an array or object of the payload.
type container struct {
	n     int // elements (members), or -1-N for a placeholder of attachment N
	end   int // index in js after it
	after int // index in cs after its own containers
}

func skipSpace(js []byte, i int) int {
	for i < len(js) && (js[i] == ' ' || js[i] == '\t' || js[i] == '\n' || js[i] == '\r') {
		i++
	}
	return i
}

// count validates the value at js[i] and records its containers; it
// returns the index after the value. With attachments, an object whose
// member _placeholder is true is a placeholder, whatever its other
// members, as for the reference parser; its num must index an attachment.
func (e *encoder) count(i, depth int) (int, error) {
	js := e.js
	i = skipSpace(js, i)
	if i >= len(js) {
		return 0, errJSON
	}
	switch c := js[i]; c {
	case '{', '[':
		if depth >= maxDepth {
			return 0, errDepth
		}
		idx := len(e.cs)
		e.cs = append(e.cs, container{})
		closing := byte(']')
		if c == '{' {
			closing = '}'
		}
		var placeholder bool
		var num []byte
		i = skipSpace(js, i+1)
		n := 0
		if i < len(js) && js[i] == closing {
			i++
		} else {
			for n = 1; ; n++ {
				var key []byte
				var err error
				if c == '{' {
					i = skipSpace(js, i)
					if i >= len(js) || js[i] != '"' {
						return 0, errJSON
					}
					start := i
					if i, err = stringEnd(js, i); err != nil {
						return 0, err
					}
					key = js[start:i]
					i = skipSpace(js, i)
					if i >= len(js) || js[i] != ':' {
						return 0, errJSON
					}
					i++
				}
				start := skipSpace(js, i)
				if i, err = e.count(start, depth+1); err != nil {
					return 0, err
				}
				if key != nil && len(e.atts) > 0 {
					switch {
					case keyIs(key, "_placeholder"):
						placeholder = string(js[start:i]) == "true"
					case keyIs(key, "num"):
						num = js[start:i]
					}
				}
				i = skipSpace(js, i)
				if i >= len(js) {
					return 0, errJSON
				}
				if js[i] == closing {
					i++
					break
				}
				if js[i] != ',' {
					return 0, errJSON
				}
				i++
			}
		}
		e.cs[idx] = container{n: n, end: i, after: len(e.cs)}
		if placeholder {
			f, err := strconv.ParseFloat(string(num), 64)
			if len(num) == 0 || num[0] == '"' || err != nil || f != math.Trunc(f) || f < 0 || f >= float64(len(e.atts)) {
				return 0, sioparser.ErrIllegalAttachments
			}
			e.cs[idx].n = -1 - int(f)
		}
		return i, nil
	case '"':
		return stringEnd(js, i)
	case 't':
		return literalEnd(js, i, "true")
	case 'f':
		return literalEnd(js, i, "false")
	case 'n':
		return literalEnd(js, i, "null")
	default:
		end := numberEnd(js, i)
		if end == i {
			return 0, errJSON
		}
		return end, nil
	}
}

// keyIs compares a JSON string token with name, unescaping it only if it
// has escapes.
func keyIs(raw []byte, name string) bool {
	inner := raw[1 : len(raw)-1]
	if string(inner) == name {
		return true
	}
	if bytes.IndexByte(inner, '\\') < 0 || len(inner) > 6*len(name) {
		return false
	}
	return string(appendUnescaped(nil, inner)) == name
}

// write appends the MessagePack encoding of the value at js[i], which
// count has validated, and returns the index after it.
func (e *encoder) write(out []byte, i int) ([]byte, int, error) {
	js := e.js
	i = skipSpace(js, i)
	switch c := js[i]; c {
	case '{', '[':
		if e.next >= len(e.cs) {
			return nil, 0, errJSON
		}
		ct := e.cs[e.next]
		if ct.n < 0 {
			e.next = ct.after
			return msgpackenc.AppendBin(out, e.atts[-1-ct.n]), ct.end, nil
		}
		e.next++
		if c == '{' {
			out = msgpackenc.AppendMapHeader(out, ct.n)
		} else {
			out = msgpackenc.AppendArrayHeader(out, ct.n)
		}
		i = skipSpace(js, i+1)
		for k := range ct.n {
			if k > 0 {
				i = skipSpace(js, i) + 1 // ,
			}
			var err error
			if c == '{' {
				i = skipSpace(js, i)
				end, _ := stringEnd(js, i)
				out = appendJSONString(out, js[i:end])
				i = skipSpace(js, end) + 1 // :
			}
			if out, i, err = e.write(out, i); err != nil {
				return nil, 0, err
			}
		}
		return out, ct.end, nil
	case '"':
		end, _ := stringEnd(js, i)
		return appendJSONString(out, js[i:end]), end, nil
	case 't':
		return append(out, 0xc3), i + 4, nil
	case 'f':
		return append(out, 0xc2), i + 5, nil
	case 'n':
		return append(out, 0xc0), i + 4, nil
	default:
		end := numberEnd(js, i)
		return appendJSONNumberLiteral(out, js[i:end]), end, nil
	}
}

// stringEnd returns the index after the JSON string starting at js[i].
func stringEnd(js []byte, i int) (int, error) {
	for j := i + 1; j < len(js); j++ {
		switch js[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errJSON
}

func literalEnd(js []byte, i int, lit string) (int, error) {
	if len(js)-i < len(lit) || string(js[i:i+len(lit)]) != lit {
		return 0, errJSON
	}
	return i + len(lit), nil
}

// numberEnd returns the index after the characters a JSON number may hold
// (the number itself is parsed when written).
func numberEnd(js []byte, i int) int {
	j := i
	for j < len(js) {
		switch c := js[j]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
			j++
		default:
			return j
		}
	}
	return j
}

// appendJSONNumberLiteral encodes a JSON number as notepack.io encodes the
// JavaScript number: integral values as integers of the smallest width,
// others as float 64. Integers beyond 2^53 are kept exactly (JavaScript
// would round them). Malformed literals, which count let through only if
// they use number characters, encode as NaN.
func appendJSONNumberLiteral(out, lit []byte) []byte {
	if len(lit) > 0 && len(lit) <= 18 {
		neg := lit[0] == '-'
		digits := lit
		if neg {
			digits = lit[1:]
		}
		v := int64(0)
		ok := len(digits) > 0
		for _, c := range digits {
			if c < '0' || c > '9' {
				ok = false
				break
			}
			v = v*10 + int64(c-'0')
		}
		if ok {
			if neg {
				v = -v
			}
			return msgpackenc.AppendInt(out, v)
		}
	}
	s := string(lit)
	if bytes.IndexAny(lit, ".eE") < 0 {
		if v, err := strconv.ParseInt(s, 10, 64); err == nil {
			return msgpackenc.AppendInt(out, v)
		}
		if v, err := strconv.ParseUint(s, 10, 64); err == nil {
			return msgpackenc.AppendUint(out, v)
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && f == 0 && !isRangeErr(err) {
		f = math.NaN()
	}
	return msgpackenc.AppendNumber(out, f)
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// appendJSONString encodes the JSON string token raw (quotes included) as
// a str: the unescaped UTF-8, lone surrogates as U+FFFD.
func appendJSONString(out, raw []byte) []byte {
	inner := raw[1 : len(raw)-1]
	simple := true
	for _, c := range inner {
		if c == '\\' {
			simple = false
			break
		}
	}
	if simple {
		return append(msgpackenc.AppendStrHeader(out, len(inner)), inner...)
	}
	out = msgpackenc.AppendStrHeader(out, unescapedLen(inner))
	return appendUnescaped(out, inner)
}

// unescape walks the inner part of a JSON string with escapes, calling
// emit for each run of literal bytes and each escaped rune.
func unescape(s []byte, lit func([]byte), r func(rune)) {
	start := 0
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			i++
			continue
		}
		lit(s[start:i])
		if i+1 >= len(s) {
			return
		}
		switch c := s[i+1]; c {
		case 'u':
			v, ok := hex4(s, i+2)
			if !ok {
				r(utf8.RuneError)
				i += 2
				break
			}
			i += 6
			if utf16.IsSurrogate(rune(v)) {
				if v < 0xdc00 && i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if lo, ok := hex4(s, i+2); ok && lo >= 0xdc00 && lo <= 0xdfff {
						r(utf16.DecodeRune(rune(v), rune(lo)))
						i += 6
						break
					}
				}
				r(utf8.RuneError) // a lone surrogate
				break
			}
			r(rune(v))
		case 'b':
			r('\b')
			i += 2
		case 'f':
			r('\f')
			i += 2
		case 'n':
			r('\n')
			i += 2
		case 'r':
			r('\r')
			i += 2
		case 't':
			r('\t')
			i += 2
		default: // " \ /
			r(rune(c))
			i += 2
		}
		start = i
	}
	lit(s[start:])
}

func hex4(s []byte, i int) (uint16, bool) {
	if len(s)-i < 4 {
		return 0, false
	}
	var v uint16
	for _, c := range s[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint16(c)
	}
	return v, true
}

func unescapedLen(s []byte) int {
	n := 0
	unescape(s, func(b []byte) { n += len(b) }, func(r rune) { n += utf8.RuneLen(r) })
	return n
}

func appendUnescaped(out, s []byte) []byte {
	unescape(s, func(b []byte) { out = append(out, b...) }, func(r rune) { out = utf8.AppendRune(out, r) })
	return out
}
