package wellformed

import "unicode/utf8"

// needsEscape marks the ASCII bytes JSON strings escape.
var needsEscape = func() (t [utf8.RuneSelf]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

const hexDigits = "0123456789abcdef"

// AppendJSString appends s as JavaScript's JSON.stringify writes a string:
// '"', '\\' and control characters escaped, invalid UTF-8 read as U+FFFD
// (as Node's Buffer#toString decodes it). With lineSeps, U+2028 and U+2029
// are escaped too, as Node's JSONP transport does (a JavaScript source
// may not hold them raw in older engines).
func AppendJSString(out, s []byte, lineSeps bool) []byte {
	out = append(out, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if !needsEscape[c] {
				i++
				continue
			}
			out = append(out, s[start:i]...)
			switch c {
			case '"', '\\':
				out = append(out, '\\', c)
			case '\n':
				out = append(out, '\\', 'n')
			case '\r':
				out = append(out, '\\', 'r')
			case '\t':
				out = append(out, '\\', 't')
			case '\b':
				out = append(out, '\\', 'b')
			case '\f':
				out = append(out, '\\', 'f')
			default:
				out = append(out, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			out = append(out, s[start:i]...)
			out = append(out, "\ufffd"...)
			start = i + 1
		case lineSeps && (r == '\u2028' || r == '\u2029'):
			out = append(out, s[start:i]...)
			out = append(out, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			start = i + n
		}
		i += n
	}
	out = append(out, s[start:]...)
	return append(out, '"')
}

// JSStringLen is len(AppendJSString(nil, s, false)).
func JSStringLen(s []byte) int {
	n := 2
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case !needsEscape[c]:
				n++
			case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f':
				n += 2
			default:
				n += 6
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			n += 3
			i++
			continue
		}
		n += size
		i += size
	}
	return n
}
