package websocket

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

func TestAppendFrameHeader(t *testing.T) {
	tests := []struct {
		op   Opcode
		n    int
		want []byte
	}{
		{OpText, 0, []byte{0x81, 0x00}},
		{OpBinary, 5, []byte{0x82, 0x05}},
		{OpText, 125, []byte{0x81, 0x7d}},
		{OpText, 126, []byte{0x81, 0x7e, 0x00, 0x7e}},
		{OpBinary, 65535, []byte{0x82, 0x7e, 0xff, 0xff}},
		{OpBinary, 65536, []byte{0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}},
		{OpText, 1 << 20, []byte{0x81, 0x7f, 0, 0, 0, 0, 0, 0x10, 0, 0}},
		{OpPing, 3, []byte{0x89, 0x03}},
		{OpClose, 2, []byte{0x88, 0x02}},
	}
	for _, tt := range tests {
		got := AppendFrameHeader([]byte{0xAA}, tt.op, tt.n)
		if !bytes.Equal(got[1:], tt.want) || got[0] != 0xAA {
			t.Errorf("AppendFrameHeader(%v, %d) = %x, want aa%x", tt.op, tt.n, got, tt.want)
		}
		if len(got)-1 > MaxFrameHeaderLen || len(got)-1 != headerLen(tt.n) {
			t.Errorf("header length %d for n=%d", len(got)-1, tt.n)
		}
	}
}

func TestAppendHeaderMasked(t *testing.T) {
	got := appendHeader(nil, 0x81, 70000, true, testKey)
	want := []byte{0x81, 0xff, 0, 0, 0, 0, 0, 1, 0x11, 0x70, 0x37, 0xfa, 0x21, 0x3d}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %x want %x", got, want)
	}
	if len(got) != maxClientHeaderLen {
		t.Fatalf("len %d", len(got))
	}
}

func TestFrameInPlace(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 65535, 65536} {
		buf := make([]byte, MaxFrameHeaderLen+n)
		for i := range n {
			buf[MaxFrameHeaderLen+i] = byte(i)
		}
		payload := bytes.Clone(buf[MaxFrameHeaderLen:])
		got := FrameInPlace(buf, MaxFrameHeaderLen, OpBinary)
		want := append(AppendFrameHeader(nil, OpBinary, n), payload...)
		if !bytes.Equal(got, want) {
			t.Fatalf("n=%d: frame mismatch", n)
		}
		if &got[len(got)-1] != &buf[len(buf)-1] && n > 0 {
			t.Fatalf("n=%d: not in place", n)
		}
	}
	// A 2-byte headroom is enough for a short payload.
	buf := []byte{0, 0, 'h', 'i'}
	if got := FrameInPlace(buf, 2, OpText); !bytes.Equal(got, []byte{0x81, 2, 'h', 'i'}) {
		t.Fatalf("got %x", got)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("expected panic for too small headroom")
		}
	}()
	FrameInPlace(make([]byte, 2+200), 2, OpText)
}

func naiveMask(key [4]byte, pos int, b []byte) {
	for i := range b {
		b[i] ^= key[(pos+i)%4]
	}
}

func TestMaskBytes(t *testing.T) {
	// RFC 6455 section 5.7 example: "Hello" masked with 37 fa 21 3d.
	b := []byte("Hello")
	maskBytes(testKey, 0, b)
	if want := []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58}; !bytes.Equal(b, want) {
		t.Fatalf("got %x want %x", b, want)
	}
	for _, n := range []int{0, 1, 3, 4, 7, 8, 9, 15, 16, 31, 32, 33, 63, 64, 65, 100, 1000} {
		for pos := range 4 {
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(i*7 + 3)
			}
			want := bytes.Clone(data)
			naiveMask(testKey, pos, want)
			next := maskBytes(testKey, pos, data)
			if !bytes.Equal(data, want) {
				t.Fatalf("n=%d pos=%d mismatch", n, pos)
			}
			if next != (pos+n)%4 {
				t.Fatalf("n=%d pos=%d: next %d", n, pos, next)
			}
		}
	}
	// Masking in pieces equals masking at once.
	pieces := bytes.Repeat([]byte("abcdefghij"), 50)
	whole := bytes.Clone(pieces)
	maskBytes(testKey, 0, whole)
	rest, pos := pieces, 0
	for _, cut := range []int{3, 17, 1, 64, 99, 316} {
		pos = maskBytes(testKey, pos, rest[:cut])
		rest = rest[cut:]
	}
	if !bytes.Equal(pieces, whole) {
		t.Fatal("masking in pieces differs from masking at once")
	}
}

func TestClosePayload(t *testing.T) {
	tests := []struct {
		code   int
		reason string
		want   []byte
	}{
		{CloseNormal, "", []byte{0x03, 0xe8}},
		{CloseGoingAway, "bye", []byte{0x03, 0xe9, 'b', 'y', 'e'}},
		{0, "x", nil},
		{CloseNoStatus, "x", nil},
		{CloseAbnormal, "", nil},
		{4000, "", []byte{0x0f, 0xa0}},
	}
	for _, tt := range tests {
		if got := closePayload(tt.code, tt.reason); !bytes.Equal(got, tt.want) {
			t.Errorf("closePayload(%d, %q) = %x want %x", tt.code, tt.reason, got, tt.want)
		}
	}
	long := strings.Repeat("é", 100) // 200 bytes
	p := closePayload(CloseNormal, long)
	if len(p) > maxControlPayload || !strings.HasPrefix(long, string(p[2:])) || len(p[2:])%2 != 0 {
		t.Fatalf("bad truncation: %d bytes", len(p))
	}
}

func TestValidWireCloseCode(t *testing.T) {
	valid := []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999}
	invalid := []int{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}
	for _, c := range valid {
		if !validWireCloseCode(c) {
			t.Errorf("%d should be valid", c)
		}
	}
	for _, c := range invalid {
		if validWireCloseCode(c) {
			t.Errorf("%d should be invalid", c)
		}
	}
}

// TestDecodeFrames checks header decoding through ReadMessage, with the
// stream delivered all at once and one byte per read.
func TestDecodeFrames(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 70000}
	var stream []byte
	var want [][]byte
	for i, n := range sizes {
		p := bytes.Repeat([]byte{byte('a' + i)}, n)
		want = append(want, p)
		stream = append(stream, cf(OpBinary, p)...)
	}
	for _, oneByte := range []bool{false, true} {
		var r io.Reader = bytes.NewReader(stream)
		if oneByte {
			r = iotest.OneByteReader(r)
		}
		c := fakeServer(r, nil)
		for i, w := range want {
			op, got, err := c.ReadMessage()
			if err != nil {
				t.Fatalf("oneByte=%v msg %d: %v", oneByte, i, err)
			}
			if op != OpBinary || !bytes.Equal(got, w) {
				t.Fatalf("oneByte=%v msg %d: op %v len %d, want len %d", oneByte, i, op, len(got), len(w))
			}
		}
		if _, _, err := c.ReadMessage(); err != io.EOF {
			t.Fatalf("at end: %v, want EOF", err)
		}
		if c.rkind == rbufPooled || c.pooled != nil {
			t.Fatal("pooled read buffer kept after the stream ended")
		}
	}
}

func TestDecodeTruncated(t *testing.T) {
	full := cf(OpText, []byte("hello world"))
	for cut := 1; cut < len(full); cut++ {
		c := fakeServer(bytes.NewReader(full[:cut]), nil)
		if _, _, err := c.ReadMessage(); err != io.ErrUnexpectedEOF {
			t.Fatalf("cut=%d: %v", cut, err)
		}
	}
}

// TestReadLimitNoAlloc checks that a declared length is not allocated up
// front, both over the limit and with no limit at all.
func TestReadLimitNoAlloc(t *testing.T) {
	hdr := []byte{0x82, 0xff, 0, 0, 1, 0, 0, 0, 0, 0} // 2^40 bytes, masked
	stream := append(append(hdr, testKey[:]...), "only a few bytes"...)

	var out bytes.Buffer
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	c := fakeServer(bytes.NewReader(stream), &out)
	_, _, err := c.ReadMessage()
	runtime.ReadMemStats(&ms1)
	if !errors.Is(err, ErrMessageTooBig) {
		t.Fatalf("err %v", err)
	}
	if d := ms1.TotalAlloc - ms0.TotalAlloc; d > 1<<20 {
		t.Fatalf("allocated %d bytes", d)
	}
	if want := append([]byte{0x88, 27, 0x03, 0xf1}, "Max payload size exceeded"...); !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("close frame %x", out.Bytes())
	}

	runtime.ReadMemStats(&ms0)
	c = fakeServer(bytes.NewReader(stream), nil)
	c.SetReadLimit(0)
	_, _, err = c.ReadMessage()
	runtime.ReadMemStats(&ms1)
	if err != io.ErrUnexpectedEOF {
		t.Fatalf("err %v", err)
	}
	if d := ms1.TotalAlloc - ms0.TotalAlloc; d > 1<<20 {
		t.Fatalf("allocated %d bytes with no limit", d)
	}
}

func TestIdleConnHoldsNoPooledBuffer(t *testing.T) {
	// A big frame followed by the first bytes of the next one.
	stream := append(cf(OpBinary, make([]byte, 3000)), cf(OpText, []byte("next"))[:3]...)
	c := fakeServer(bytes.NewReader(stream), nil)
	if _, _, err := c.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	if c.rkind != rbufSmall || c.w-c.r != 3 {
		t.Fatalf("kind %d, %d buffered", c.rkind, c.w-c.r)
	}
}

func TestLeftoverBytes(t *testing.T) {
	for _, n := range []int{10, 1000, 10000} {
		var stream []byte
		for len(stream) < n {
			stream = append(stream, cf(OpText, []byte("x"))...)
		}
		count := len(stream) / 7
		c := newConn(&fakeConn{r: bytes.NewReader(nil)}, false, stream)
		for i := range count {
			if _, m, err := c.ReadMessage(); err != nil || string(m) != "x" {
				t.Fatalf("n=%d msg %d: %q %v", n, i, m, err)
			}
		}
		if _, _, err := c.ReadMessage(); err != io.EOF {
			t.Fatalf("n=%d: %v", n, err)
		}
	}
}

func TestOpcodeString(t *testing.T) {
	if OpText.String() != "text" || Opcode(3).String() != "opcode(3)" {
		t.Fatal(OpText.String(), Opcode(3).String())
	}
}
