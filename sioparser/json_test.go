package sioparser

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// strByBytes is what scanner.str must do, one byte at a time: the
// reference for its eight-byte skip. It returns the position after the
// closing quote.
func strByBytes(d []byte, pos int) (int, bool) {
	i := pos + 1
	for i < len(d) {
		switch c := d[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			i++
			if i >= len(d) {
				return 0, false
			}
			switch d[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if len(d)-i < 5 || !isHex(d[i+1]) || !isHex(d[i+2]) || !isHex(d[i+3]) || !isHex(d[i+4]) {
					return 0, false
				}
				i += 5
			default:
				return 0, false
			}
		case c < 0x20:
			return 0, false
		default:
			i++
		}
	}
	return 0, false
}

// TestStrWordSkip checks the eight-byte skip of scanner.str against the
// byte-by-byte loop: every special byte (quote, backslash, each control
// character, and high bytes that are not special) at every offset of
// strings around the word size.
func TestStrWordSkip(t *testing.T) {
	specials := []byte{'"', '\\', 0, 0x1f, 0x20, 0x7f, 0x80, 0xff, 'a'}
	for n := 0; n <= 40; n++ {
		for at := 0; at < n; at++ {
			for _, c := range specials {
				b := []byte(`"` + strings.Repeat("x", n) + `"`)
				b[1+at] = c
				for _, cut := range []int{len(b), len(b) - 1} {
					d := b[:cut]
					s := scanner{data: d}
					got := s.str()
					wantPos, want := strByBytes(d, 0)
					if got != want || (got && s.pos != wantPos) {
						t.Fatalf("%q: str() = %v at %d, want %v at %d", d, got, s.pos, want, wantPos)
					}
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("ab\"\\\x01\x1f \x7f\x80\xc3\xa9/u0123456789ABCDEF")
	for range 200000 {
		b := make([]byte, 1+r.IntN(48))
		b[0] = '"'
		for i := 1; i < len(b); i++ {
			if r.IntN(6) == 0 {
				b[i] = alphabet[r.IntN(len(alphabet))]
			} else {
				b[i] = 'k'
			}
		}
		s := scanner{data: b}
		got := s.str()
		wantPos, want := strByBytes(b, 0)
		if got != want || (got && s.pos != wantPos) {
			t.Fatalf("%q: str() = %v at %d, want %v at %d", b, got, s.pos, want, wantPos)
		}
	}
}

func BenchmarkStr(b *testing.B) {
	d := []byte(`"` + strings.Repeat("x", 100) + `"`)
	b.SetBytes(int64(len(d)))
	for b.Loop() {
		s := scanner{data: d}
		if !s.str() {
			b.Fatal("invalid")
		}
	}
}
