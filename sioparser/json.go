package sioparser

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
)

// maxDepth bounds nesting so that hostile input cannot grow the stack without
// limit; encoding/json uses the same bound.
const maxDepth = 10000

var errSyntax = errors.New("sioparser: invalid JSON")

// scanner is a hand-written JSON validator. While validating a binary
// packet's payload it also checks every placeholder object against the number
// of attachments (attachments < 0 disables the check).
type scanner struct {
	data        []byte
	pos         int
	depth       int
	attachments int
	err         error
}

// validJSON validates data as one JSON value (surrounding white space
// allowed) and returns the first byte of the value: '{', '[', '"', 't', 'f',
// 'n', or '0' for numbers.
func validJSON(data []byte, attachments int) (byte, error) {
	s := scanner{data: data, attachments: attachments}
	s.skipSpace()
	kind := s.peek()
	if !s.value() {
		return 0, s.fail()
	}
	s.skipSpace()
	if s.pos != len(s.data) {
		return 0, errSyntax
	}
	if kind == '-' || (kind >= '0' && kind <= '9') {
		kind = '0'
	}
	return kind, nil
}

func (s *scanner) fail() error {
	if s.err != nil {
		return s.err
	}
	return errSyntax
}

func (s *scanner) peek() byte {
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) value() bool {
	switch c := s.peek(); {
	case c == '{':
		return s.object()
	case c == '[':
		return s.array()
	case c == '"':
		return s.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return false
}

func (s *scanner) literal(lit string) bool {
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return false
	}
	s.pos += len(lit)
	return true
}

func (s *scanner) number() bool {
	d := s.data
	i := s.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(d) && d[i] == '.' {
		i++
		start := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		start := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	s.pos = i
	return true
}

// str scans a string token; s.pos is at the opening quote.
func (s *scanner) str() bool {
	d := s.data
	i := s.pos + 1
	// Eight bytes at a time over the plain run (most of any string): a
	// word with no '"', no '\\' and no control character is skipped whole;
	// the first word with one goes to the loop below, byte by byte.
	for i+8 <= len(d) {
		w := binary.LittleEndian.Uint64(d[i:])
		if hasZeroByte(w^(swarOnes*'"'))|hasZeroByte(w^(swarOnes*'\\'))|hasByteBelow(w, 0x20) != 0 {
			break
		}
		i += 8
	}
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return true
		case c == '\\':
			i++
			if i >= len(d) {
				return false
			}
			switch d[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if len(d)-i < 5 || !isHex(d[i+1]) || !isHex(d[i+2]) || !isHex(d[i+3]) || !isHex(d[i+4]) {
					return false
				}
				i += 5
			default:
				return false
			}
		case c < 0x20:
			return false
		default:
			i++
		}
	}
	return false
}

const (
	swarOnes = 0x0101010101010101
	swarHigh = 0x8080808080808080
)

// hasZeroByte is non-zero when a byte of w is zero. (Bits above a zero
// byte may be set wrongly, but never when no byte is zero.)
func hasZeroByte(w uint64) uint64 { return (w - swarOnes) & ^w & swarHigh }

// hasByteBelow is non-zero when a byte of w is below n (n ≤ 128), with the
// same caveat.
func hasByteBelow(w uint64, n byte) uint64 { return (w - swarOnes*uint64(n)) & ^w & swarHigh }

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func (s *scanner) enter() bool {
	s.depth++
	if s.depth > maxDepth {
		s.err = errors.New("sioparser: JSON nested too deeply")
		return false
	}
	return true
}

func (s *scanner) array() bool {
	if !s.enter() {
		return false
	}
	s.pos++ // [
	s.skipSpace()
	if s.peek() == ']' {
		s.pos++
		s.depth--
		return true
	}
	for {
		s.skipSpace()
		if !s.value() {
			return false
		}
		s.skipSpace()
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			s.depth--
			return true
		default:
			return false
		}
	}
}

func (s *scanner) object() bool {
	if !s.enter() {
		return false
	}
	s.pos++ // {
	s.skipSpace()
	if s.peek() == '}' {
		s.pos++
		s.depth--
		return true
	}
	// Placeholder tracking, as JSON.parse would see the object: the last
	// occurrence of a key wins.
	var placeholder bool
	var num []byte
	for {
		s.skipSpace()
		if s.peek() != '"' {
			return false
		}
		keyStart := s.pos
		if !s.str() {
			return false
		}
		key := s.data[keyStart:s.pos]
		s.skipSpace()
		if s.peek() != ':' {
			return false
		}
		s.pos++
		s.skipSpace()
		valStart := s.pos
		if !s.value() {
			return false
		}
		if s.attachments >= 0 {
			switch {
			case keyEquals(key, "_placeholder"):
				placeholder = string(s.data[valStart:s.pos]) == "true"
			case keyEquals(key, "num"):
				num = s.data[valStart:s.pos]
			}
		}
		s.skipSpace()
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			s.depth--
			if placeholder && !validPlaceholderNum(num, s.attachments) {
				s.err = ErrIllegalAttachments
				return false
			}
			return true
		default:
			return false
		}
	}
}

// keyEquals compares a raw JSON string token with want, unescaping only when
// the token has escapes.
func keyEquals(raw []byte, want string) bool {
	if len(raw) == len(want)+2 && string(raw[1:len(raw)-1]) == want {
		return true
	}
	for _, c := range raw {
		if c == '\\' {
			s, err := unquote(raw)
			return err == nil && s == want
		}
	}
	return false
}

func validPlaceholderNum(num []byte, attachments int) bool {
	n, ok := integer(num)
	return ok && n >= 0 && n < attachments
}

// PlaceholderIndex reports whether raw is a placeholder object
// ({"_placeholder":true,"num":N}) and returns N. raw must be valid JSON. N is
// read as JSON.parse reads it, so 0.0 and 1e0 are integers; the payload
// validation accepts the same spellings.
func PlaceholderIndex(raw []byte) (int, bool) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return 0, false
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return 0, false
	}
	if string(fields["_placeholder"]) != "true" {
		return 0, false
	}
	n, ok := integer(fields["num"])
	if !ok || n < 0 {
		return 0, false
	}
	return n, true
}

// integer parses a JSON number holding an integral value that fits an int.
func integer(num []byte) (int, bool) {
	if len(num) == 0 {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil || f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
		return 0, false
	}
	return int(f), true
}

func skipSpace(d []byte, i int) int {
	for i < len(d) && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r') {
		i++
	}
	return i
}

// SplitArray returns the elements of the JSON array data as sub-slices of
// data, without surrounding white space. It validates data.
func SplitArray(data []byte) ([][]byte, error) {
	kind, err := validJSON(data, -1)
	if err != nil {
		return nil, err
	}
	if kind != '[' {
		return nil, errors.New("sioparser: payload is not an array")
	}
	return splitValidArray(data), nil
}

// splitValidArray splits an array already known to be valid.
func splitValidArray(data []byte) [][]byte {
	s := scanner{data: data, attachments: -1}
	s.skipSpace()
	s.pos++ // [
	s.skipSpace()
	if s.peek() == ']' {
		return nil
	}
	// Collected on the stack first: one allocation of the exact size
	// for the common short arrays.
	var stack [8][]byte
	n := 0
	var more [][]byte // beyond the stack's
	for {
		s.skipSpace()
		start := s.pos
		s.value()
		if n < len(stack) {
			stack[n] = data[start:s.pos:s.pos]
			n++
		} else {
			more = append(more, data[start:s.pos:s.pos])
		}
		s.skipSpace()
		if s.peek() == ']' {
			return append(append(make([][]byte, 0, n+len(more)), stack[:n]...), more...)
		}
		s.pos++ // ,
	}
}

// unquote decodes a JSON string token.
func unquote(raw []byte) (string, error) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", errSyntax
	}
	inner := raw[1 : len(raw)-1]
	simple := true
	for _, c := range inner {
		if c == '\\' || c == '"' || c < 0x20 || c >= utf8.RuneSelf {
			simple = false
			break
		}
	}
	if simple {
		return string(inner), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	return s, nil
}

// EventName returns the event name held by the first element of an EVENT
// payload: a JSON string, or a number as the reference implementation allows
// (returned in its JSON spelling).
func EventName(first []byte) (string, error) {
	if len(first) == 0 {
		return "", errSyntax
	}
	if first[0] == '"' {
		return unquote(first)
	}
	if _, err := strconv.ParseFloat(string(first), 64); err == nil {
		return string(first), nil
	}
	return "", errors.New("sioparser: event name is not a string")
}
