package websocket

import (
	"io"
	"net"
	"testing"
	"time"
)

// FuzzReadFrames feeds arbitrary bytes, as the byte stream of a client, to a
// server Conn over net.Pipe, written in chunks of chunk bytes (0 = all at
// once). ReadMessage must never panic and must end with an error when the
// stream ends.
func FuzzReadFrames(f *testing.F) {
	seeds := [][]byte{
		cf(OpText, []byte("hello")),
		cf(OpBinary, nil),
		cf(OpBinary, make([]byte, 126)),
		cf(OpBinary, make([]byte, 70000)),
		append(rawFrame(byte(OpText), []byte("hé"), true), rawFrame(0x80, []byte("llo"), true)...),
		append(cf(OpPing, []byte("p")), cf(OpText, []byte("after ping"))...),
		cf(OpPong, []byte("x")),
		cf(OpClose, closeBody(CloseNormal, "bye")),
		cf(OpClose, nil),
		cf(OpClose, []byte{1}),
		cf(OpClose, closeBody(1005, "")),
		cf(OpClose, append(closeBody(1000, ""), 0xff)),
		rawFrame(0x81, []byte("unmasked"), false),
		rawFrame(0xC1, []byte("rsv"), true),
		rawFrame(0x83, nil, true),
		rawFrame(byte(OpPing), nil, true),
		cf(OpPing, make([]byte, 126)),
		cf(OpContinuation, []byte("x")),
		append(rawFrame(byte(OpText), []byte("a"), true), cf(OpText, []byte("b"))...),
		cf(OpText, []byte{0xff, 0xfe}),
		{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4},
		{0x82, 0xff, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5},
		{0x82, 0xfe, 0xff},
		{0x81},
		{},
	}
	for i, s := range seeds {
		f.Add(uint8(i%4), s)
	}
	f.Fuzz(func(t *testing.T, chunk uint8, data []byte) { fuzzRead(t, chunk, data, nil) })
}

// FuzzReadDeflateFrames is FuzzReadFrames with permessage-deflate
// negotiated, with or without the client's context takeover (mode bit 0)
// and a small window (bit 1): compressed messages, inflated within the
// read limit.
func FuzzReadDeflateFrames(f *testing.F) {
	z := func(p []byte) []byte { return testDeflate(f, p) }
	seeds := [][]byte{
		rawFrame(0xC1, z([]byte("hello")), true),
		rawFrame(0xC2, z(make([]byte, 70000)), true),
		rawFrame(0xC2, z(make([]byte, 1000)), true),
		append(rawFrame(0x41, z([]byte("héllo wörld")), true), cf(OpContinuation, nil)...),
		append(append(rawFrame(0x41, []byte{0xca}, true), cf(OpPing, nil)...), cf(OpContinuation, z([]byte("x"))[1:])...),
		append(rawFrame(0xC1, z([]byte("abcabc")), true), rawFrame(0xC1, z([]byte("abcabc")), true)...),
		rawFrame(0xC9, nil, true),
		rawFrame(0xA1, []byte("x"), true),
		rawFrame(0xC1, []byte{0xff, 0xff, 0xff}, true),
		rawFrame(0xC1, []byte{0x00}, true),
		cf(OpText, []byte("plain")),
	}
	for i, s := range seeds {
		f.Add(uint8(i%4), uint8(i%3), s)
	}
	f.Fuzz(func(t *testing.T, chunk, mode uint8, data []byte) {
		d := &deflateState{z: Compressor{level: 1, windowBits: 15}, readBits: 15, readTakeover: mode&1 != 0}
		if mode&2 != 0 {
			d.readBits = 9
		}
		fuzzRead(t, chunk, data, d)
		if len(d.dict) > 1<<d.readBits {
			t.Fatalf("window of %d bytes kept", len(d.dict))
		}
	})
}

// fuzzRead feeds data, as the byte stream of a client, to a server Conn
// over net.Pipe, written in chunks of chunk bytes (0 = all at once).
// ReadMessage must never panic, never return a message over the read
// limit, and must end with an error when the stream ends.
func fuzzRead(t *testing.T, chunk uint8, data []byte, dfl *deflateState) {
	client, server := net.Pipe()
	defer client.Close()
	deadline := time.Now().Add(5 * time.Second)
	server.SetDeadline(deadline)
	client.SetDeadline(deadline)

	c := newConn(server, false, nil)
	c.dfl = dfl
	c.SetReadLimit(64 << 10)

	// Drain what the server writes (pongs, close frames).
	go io.Copy(io.Discard, client)
	go func() {
		defer client.Close()
		rest := data
		for len(rest) > 0 {
			n := len(rest)
			if chunk > 0 && int(chunk) < n {
				n = int(chunk)
			}
			if _, err := client.Write(rest[:n]); err != nil {
				return
			}
			rest = rest[n:]
		}
	}()
	for range 1 << 16 {
		op, msg, err := c.ReadMessage()
		if err != nil {
			if _, _, err2 := c.ReadMessage(); err2 != err {
				t.Fatalf("error not sticky: %v then %v", err, err2)
			}
			c.Close(CloseNormal, "")
			return
		}
		if op != OpText && op != OpBinary {
			t.Fatalf("ReadMessage returned opcode %v", op)
		}
		if msg == nil {
			t.Fatal("nil message")
		}
		if len(msg) > 64<<10 {
			t.Fatalf("message of %d bytes over the limit", len(msg))
		}
	}
	t.Fatal("too many messages")
}
