//go:build linux

package main

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestAcceptKey(t *testing.T) {
	sum := sha1.Sum([]byte(wsKey + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if got := base64.StdEncoding.EncodeToString(sum[:]); got != wsAccept {
		t.Fatalf("accept for the fixed key = %s, constant says %s", got, wsAccept)
	}
}

// serverFrame builds an unmasked server frame.
func serverFrame(fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	n := len(payload)
	var b []byte
	switch {
	case n <= 125:
		b = []byte{b0, byte(n)}
	case n <= 0xFFFF:
		b = []byte{b0, 126, byte(n >> 8), byte(n)}
	default:
		b = []byte{b0, 127, 0, 0, 0, 0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	}
	return append(b, payload...)
}

// unmask decodes one client frame written by the tool.
func unmask(t *testing.T, f []byte) (op byte, payload []byte) {
	t.Helper()
	if f[1]&0x80 == 0 {
		t.Fatal("client frame not masked")
	}
	n, hl := int(f[1]&0x7f), 2
	switch n {
	case 126:
		n, hl = int(f[2])<<8|int(f[3]), 4
	case 127:
		t.Fatal("unexpected 64-bit length")
	}
	key := f[hl : hl+4]
	p := bytes.Clone(f[hl+4 : hl+4+n])
	for i := range p {
		p[i] ^= key[i&3]
	}
	return f[0] & 0x0f, p
}

func TestReadMessage(t *testing.T) {
	big := bytes.Repeat([]byte("y"), 70000)
	var stream []byte
	stream = append(stream, serverFrame(true, opText, []byte("42[\"msg\",\"hello\"]"))...)
	stream = append(stream, serverFrame(true, opPing, []byte("pp"))...)
	stream = append(stream, serverFrame(false, opText, []byte("451-"))...)
	stream = append(stream, serverFrame(true, opCont, []byte(`["msg",{"_placeholder":true,"num":0}]`))...)
	stream = append(stream, serverFrame(true, opBinary, big)...)
	stream = append(stream, serverFrame(true, opText, []byte("2"))...) // Engine.IO ping
	stream = append(stream, serverFrame(true, opText, []byte("43[]"))...)

	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	go server.Write(stream)
	c := &wsConn{nc: client, br: bufio.NewReaderSize(client, 1024)}
	written := make(chan []byte, 4)
	go func() {
		// Collect what the client writes (pong frames).
		buf := make([]byte, 256)
		for {
			n, err := server.Read(buf)
			if err != nil {
				close(written)
				return
			}
			written <- bytes.Clone(buf[:n])
		}
	}()

	next := func() []byte {
		t.Helper()
		select {
		case b := <-written:
			return b
		case <-time.After(10 * time.Second):
			t.Fatal("nothing written by the client")
			return nil
		}
	}
	// A stuck read fails the test instead of hanging it.
	client.SetReadDeadline(time.Now().Add(10 * time.Second))

	bin, data, err := c.nextPacket()
	if err != nil || bin || string(data) != `2["msg","hello"]` {
		t.Fatalf("1st packet = %v %q %v", bin, data, err)
	}
	bin, data, err = c.nextPacket()
	if err != nil || bin || !bytes.HasPrefix(data, []byte("51-[")) {
		t.Fatalf("fragmented packet = %v %q %v", bin, data, err)
	}
	if op, p := unmask(t, next()); op != opPong || string(p) != "pp" {
		t.Fatalf("WebSocket ping answered with op %d %q", op, p)
	}
	if n, ok := parseAttachments(data[1:]); !ok || n != 1 {
		t.Fatalf("attachments = %d %v", n, ok)
	}
	if len(data) != headLen-1 {
		t.Fatalf("head of a long message: %d bytes, want %d", len(data), headLen-1)
	}
	bin, data, err = c.nextPacket()
	if err != nil || !bin || string(data) != string(big[:headLen]) {
		t.Fatalf("binary packet = %v %q %v", bin, data, err)
	}
	bin, data, err = c.nextPacket()
	if err != nil || bin || string(data) != "3[]" {
		t.Fatalf("ack packet = %v %q %v", bin, data, err)
	}
	if op, p := unmask(t, next()); op != opText || string(p) != "3" {
		t.Fatalf("Engine.IO ping answered with op %d %q", op, p)
	}
	if id, ok := parseAckID([]byte("123[]")); !ok || id != 123 {
		t.Fatalf("parseAckID = %d %v", id, ok)
	}
	if _, ok := parseAckID([]byte("[]")); ok {
		t.Fatal("parseAckID without digits: want !ok")
	}
}

func TestFrames(t *testing.T) {
	ev := appendEvent([]byte{'4'}, 17, "echo", `"xx"`)
	if string(ev) != `4217["echo","xx"]` {
		t.Fatalf("appendEvent = %s", ev)
	}
	for _, n := range []int{0, 125, 126, 65535} {
		p := bytes.Repeat([]byte("z"), n)
		op, got := unmask(t, appendFrame(nil, opText, p))
		if op != opText || !bytes.Equal(got, p) {
			t.Fatalf("frame of %d bytes does not round-trip", n)
		}
	}
	if f := appendFrame(nil, opBinary, make([]byte, 65536)); f[1] != 0x80|127 || len(f) != 2+8+4+65536 {
		t.Fatalf("64 KiB frame: header %x, length %d", f[:10], len(f))
	}
}

// TestDeflate: with -deflate, compressed messages (whole or fragmented)
// are classified by their inflated head, and large messages the tool sends
// are compressed.
func TestDeflate(t *testing.T) {
	msg := []byte(`42["msg","` + strings.Repeat("x", 3000) + `"]`)
	body := deflateParts([][]byte{msg})
	var stream []byte
	stream = append(stream, serverFrame(true, opText|0x40, body)...)
	stream = append(stream, serverFrame(false, opText|0x40, body[:3])...)
	stream = append(stream, serverFrame(true, opCont, body[3:])...)
	stream = append(stream, serverFrame(true, opText, []byte("43[]"))...)

	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	go server.Write(stream)
	c := &wsConn{nc: client, br: bufio.NewReaderSize(client, 1024), deflate: true}
	client.SetDeadline(time.Now().Add(10 * time.Second))
	for i, want := range []string{string(msg[1:headLen]), string(msg[1:headLen]), "3[]"} {
		bin, data, err := c.nextPacket()
		if err != nil || bin || string(data) != want {
			t.Fatalf("packet %d = %v %q %v", i, bin, data, err)
		}
	}
	got := make(chan []byte, 1)
	go func() {
		buf := make([]byte, 4096)
		n, _ := io.ReadAtLeast(server, buf, 2)
		got <- bytes.Clone(buf[:n])
	}()
	if err := c.writeText(msg); err != nil {
		t.Fatal(err)
	}
	f := <-got
	if f[0] != 0xC1 {
		t.Fatalf("first byte %x, want a compressed text frame", f[0])
	}
	_, p := unmask(t, f)
	fr := flate.NewReader(io.MultiReader(bytes.NewReader(p), bytes.NewReader(deflateTail)))
	if out, err := io.ReadAll(fr); err != nil || !bytes.Equal(out, msg) {
		t.Fatalf("inflated %d bytes, %v", len(out), err)
	}
}
