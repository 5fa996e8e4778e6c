package wellformed

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
)

func TestAppendJSString(t *testing.T) {
	for _, c := range []struct {
		in       string
		lineSeps bool
		want     string
	}{
		{"plain", false, `"plain"`},
		{"q\"b\\n\n\t\r\b\f\x01\x1f", false, `"q\"b\\n\n\t\r\b\f\u0001\u001f"`},
		{"\x7f é 😀", false, "\"\x7f é 😀\""},
		{"bad \xff end", false, "\"bad \ufffd end\""},
		{"\u2028\u2029", false, "\"\u2028\u2029\""},
		{"a\u2028b\u2029c", true, `"a\u2028b\u2029c"`},
	} {
		if got := AppendJSString([]byte("x"), []byte(c.in), c.lineSeps); string(got) != "x"+c.want {
			t.Errorf("AppendJSString(%q, %v) = %s, want x%s", c.in, c.lineSeps, got, c.want)
		}
	}
	// JSStringLen agrees with what is written, and the result is JSON.
	r := rand.New(rand.NewPCG(5, 6))
	alpha := []string{"a", "\"", "\\", "\n", "\x01", "\x7f", "é", "\u2028", "\xff", "\xe2\x80", "😀", "\b"}
	for range 50000 {
		var b bytes.Buffer
		for range r.IntN(10) {
			b.WriteString(alpha[r.IntN(len(alpha))])
		}
		s := b.Bytes()
		out := AppendJSString(nil, s, false)
		if n := JSStringLen(s); n != len(out) {
			t.Fatalf("JSStringLen(%q) = %d, wrote %d", s, n, len(out))
		}
		if !json.Valid(out) {
			t.Fatalf("%q -> %s: not JSON", s, out)
		}
	}
}
