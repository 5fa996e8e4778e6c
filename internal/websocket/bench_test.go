package websocket

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

func BenchmarkMask(b *testing.B) {
	for _, n := range []int{16, 128, 1024, 16384} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			buf := make([]byte, n)
			b.SetBytes(int64(n))
			for b.Loop() {
				maskBytes(testKey, 1, buf)
			}
		})
	}
}

// repeatReader returns the same stream forever.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := copy(p, r.data[r.off:])
	r.off = (r.off + n) % len(r.data)
	return n, nil
}

// BenchmarkReadMessageSmall reads small masked text frames that arrive back
// to back (many per read).
func BenchmarkReadMessageSmall(b *testing.B) {
	for _, size := range []int{8, 100, 1000} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			frame := cf(OpText, bytes.Repeat([]byte("a"), size))
			var stream []byte
			for len(stream) < 64<<10 {
				stream = append(stream, frame...)
			}
			c := fakeServer(&repeatReader{data: stream}, nil)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := c.ReadMessage(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkWriteMessage(b *testing.B) {
	for _, client := range []bool{false, true} {
		for _, size := range []int{16, 1000, 100000} {
			b.Run(fmt.Sprintf("client=%v/%d", client, size), func(b *testing.B) {
				c := newConn(&fakeConn{r: bytes.NewReader(nil), w: io.Discard}, client, nil)
				p := bytes.Repeat([]byte("a"), size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					if err := c.WriteMessage(OpText, p); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkDeflate compresses and inflates messages of an Engine.IO-like
// event (the cost compression adds per message).
func BenchmarkDeflate(b *testing.B) {
	for _, size := range []int{1024, 2048, 16384} {
		p := jsonish(size)
		z := Compressor{level: 1, windowBits: 15}
		b.Run(fmt.Sprint("compress/", size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				z.AppendFrame(nil, OpText, p)
			}
		})
		body, _ := z.appendBody(nil, p)
		d := &deflateState{readBits: 15}
		b.Run(fmt.Sprint("inflate/", size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := inflate(body, 1<<20, d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
