// Package wellformed reads bytes as text the way JavaScript peers do: with
// each invalid UTF-8 sequence replaced by U+FFFD, as the WHATWG decoder
// does (the Engine.IO v3 and WebTransport paths, which hand text to
// Socket.IO as a browser or Node would have decoded it), and writes the
// small JSON strings the server builds by hand.
package wellformed

// UTF8 returns s with each maximal invalid subsequence
// replaced by U+FFFD, as the WHATWG decoder (and so Node, reading a
// request body as UTF-8, and a browser) reads it.
func UTF8(s []byte) []byte {
	out := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 {
			out = append(out, c)
			i++
			continue
		}
		need, lo, hi := 0, byte(0x80), byte(0xbf)
		switch {
		case c >= 0xc2 && c <= 0xdf:
			need = 1
		case c == 0xe0:
			need, lo = 2, 0xa0
		case c >= 0xe1 && c <= 0xec, c == 0xee, c == 0xef:
			need = 2
		case c == 0xed:
			need, hi = 2, 0x9f
		case c == 0xf0:
			need, lo = 3, 0x90
		case c >= 0xf1 && c <= 0xf3:
			need = 3
		case c == 0xf4:
			need, hi = 3, 0x8f
		}
		j := i + 1
		for k := 0; k < need; k++ {
			if j >= len(s) || s[j] < lo || s[j] > hi {
				break
			}
			lo, hi = 0x80, 0xbf
			j++
		}
		if need > 0 && j == i+1+need {
			out = append(out, s[i:j]...)
		} else {
			out = append(out, "\uFFFD"...)
		}
		i = j
	}
	return out
}
