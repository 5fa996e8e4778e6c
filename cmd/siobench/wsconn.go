//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"
)

// wsConn is a deliberately small WebSocket client for load generation. It
// differs from internal/websocket on purpose: reading never allocates (a
// message is classified from its first bytes, which are copied into a fixed
// array, and the rest is discarded inside the bufio.Reader), and frames to
// send are built once and masked with one fixed key. A fixed key is
// allowed by the servers under test; RFC 6455 asks for unpredictable keys
// only to protect intermediaries, and there are none on loopback.
//
// Concurrency: readMessage and nextPacket are called by one reader
// goroutine; write* may be called from any goroutine (guarded by wmu).
type wsConn struct {
	nc net.Conn
	br *bufio.Reader // owned by the reader

	head [headLen]byte // owned by the reader: the start of the last message

	// With permessage-deflate (-deflate): the body of a compressed message
	// being received, owned by the reader. Only the head of a message is
	// inflated, which is all the tool looks at.
	deflate bool
	zbody   []byte

	// With -parser msgpack: packets are binary messages (msgpack.go).
	msgpack bool
	synth   [24]byte // owned by the reader: the text head of the last MessagePack packet

	wmu  sync.Mutex
	wbuf []byte         // guarded by wmu
	ebuf []byte         // guarded by wmu; an event being built
	tmpl *eventTemplate // guarded by wmu; the last MessagePack event sent
}

// headLen is how much of each message the reader keeps: enough for the
// Engine.IO and Socket.IO types, the attachment count and an ack id.
const headLen = 40

// maskKey masks every client frame.
var maskKey = [4]byte{0x5a, 0x3c, 0x96, 0xe1}

// Frame opcodes.
const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
)

// errClosed is returned when the server closed the WebSocket or the
// Engine.IO session.
var errClosed = errors.New("closed by server")

// wsKey is the fixed Sec-WebSocket-Key and wsAccept its expected answer.
const (
	wsKey    = "c2lvYmVuY2gta2V5LTAwMQ=="
	wsAccept = "4eAJD19x9ha+HcpNMjlrDtG9JJ0="
)

// deflateOffer is the tool's permessage-deflate offer (-deflate): no
// context takeover either way, so that every message is compressed on its
// own by every server, and client_max_window_bits, as browsers send.
const deflateOffer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits"

// dialWS opens a WebSocket to http://addr/socket.io/?EIO=4&transport=websocket
// from the source address of d. ctx bounds the TCP connect and the upgrade.
// bufSize is the size of the read buffer; readDelay, when positive, paces
// the reads (see pacedReader); deflate offers compression.
func dialWS(ctx context.Context, d *net.Dialer, addr string, bufSize int, readDelay time.Duration, deflate bool) (*wsConn, error) {
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	req := "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: " + addr +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + wsKey +
		"\r\nSec-WebSocket-Version: 13\r\n"
	if deflate {
		req += "Sec-WebSocket-Extensions: " + deflateOffer + "\r\n"
	}
	req += "\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		nc.Close()
		return nil, err
	}
	var rd io.Reader = nc
	if readDelay > 0 {
		rd = pacedReader{nc, readDelay}
	}
	c := &wsConn{nc: nc, br: bufio.NewReaderSize(rd, bufSize)}
	status, err := c.br.ReadSlice('\n')
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("reading upgrade response: %w", err)
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 101 ")) {
		nc.Close()
		return nil, fmt.Errorf("upgrade refused: %q", bytes.TrimSpace(status))
	}
	accepted := false
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("reading upgrade response: %w", err)
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok {
			k, v = bytes.TrimSpace(k), bytes.TrimSpace(v)
			switch {
			case bytes.EqualFold(k, []byte("Sec-WebSocket-Accept")) && string(v) == wsAccept:
				accepted = true
			case bytes.EqualFold(k, []byte("Sec-WebSocket-Extensions")):
				if !deflate || !bytes.HasPrefix(v, []byte("permessage-deflate")) {
					nc.Close()
					return nil, fmt.Errorf("unexpected extension %q", v)
				}
				c.deflate = true
			}
		}
	}
	if !accepted {
		nc.Close()
		return nil, errors.New("upgrade response without the right Sec-WebSocket-Accept")
	}
	return c, nil
}

// pacedReader paces the reads of a connection: each read of the socket
// waits delay first, so that frames that arrive in separate TCP segments
// are read with one wake-up and one system call. It lowers the load tool's
// CPU per message in fan-out at the cost of up to delay of added latency.
type pacedReader struct {
	nc    net.Conn
	delay time.Duration
}

func (r pacedReader) Read(p []byte) (int, error) {
	time.Sleep(r.delay)
	return r.nc.Read(p)
}

// close resets the connection: SO_LINGER 0 sends an RST, so thousands of
// closed connections leave no TIME_WAIT entries that would hold source
// ports for the next run.
func (c *wsConn) close() {
	if tc, ok := c.nc.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.nc.Close()
}

// appendFrame appends a masked client frame with opcode op and payload.
func appendFrame(dst []byte, op byte, payload []byte) []byte {
	n := len(payload)
	switch {
	case n <= 125:
		dst = append(dst, 0x80|op, 0x80|byte(n))
	case n <= 0xFFFF:
		dst = append(dst, 0x80|op, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|op, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	dst = append(dst, maskKey[:]...)
	start := len(dst)
	dst = append(dst, payload...)
	for i := range dst[start:] {
		dst[start+i] ^= maskKey[i&3]
	}
	return dst
}

// textFrame returns a complete masked text frame, for frames sent often.
func textFrame(payload string) []byte { return appendFrame(nil, opText, []byte(payload)) }

// Frames sent as they are.
var (
	framePong    = textFrame("3")  // Engine.IO pong
	frameConnect = textFrame("40") // Socket.IO CONNECT to "/"
)

// writeFrame writes a complete frame.
func (c *wsConn) writeFrame(frame []byte) error {
	c.wmu.Lock()
	_, err := c.nc.Write(frame)
	c.wmu.Unlock()
	return err
}

// writeText masks and writes a text message assembled from parts;
// compressed, with permessage-deflate, from 1024 bytes on (as ws does).
func (c *wsConn) writeText(parts ...[]byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(opText, parts...)
}

// writeEvent writes the event [name, jsonArg] asking for ack id, with the
// connection's parser.
func (c *wsConn) writeEvent(id uint64, name, jsonArg string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.msgpack {
		c.ebuf = appendEvent(append(c.ebuf[:0], '4'), id, name, jsonArg)
		return c.writeLocked(opText, c.ebuf)
	}
	if t := c.tmpl; t == nil || t.name != name || t.arg != jsonArg {
		var err error
		if c.tmpl, err = newEventTemplate(name, jsonArg); err != nil {
			return err
		}
	}
	c.ebuf = c.tmpl.append(c.ebuf[:0], id)
	return c.writeLocked(opBinary, c.ebuf)
}

// writeLocked writes a data message; c.wmu is held.
func (c *wsConn) writeLocked(op byte, parts ...[]byte) error {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	var b0 byte = 0x80 | op
	if c.deflate && n >= 1024 {
		z := deflateParts(parts)
		parts, n, b0 = [][]byte{z}, len(z), b0|0x40
	}
	b := c.wbuf[:0]
	switch {
	case n <= 125:
		b = append(b, b0, 0x80|byte(n))
	case n <= 0xFFFF:
		b = append(b, b0, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, b0, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, maskKey[:]...)
	start := len(b)
	for _, p := range parts {
		b = append(b, p...)
	}
	for i := range b[start:] {
		b[start+i] ^= maskKey[i&3]
	}
	c.wbuf = b
	_, err := c.nc.Write(b)
	return err
}

// readMessage reads one complete data message. It keeps at most headLen
// bytes of its start in c.head (returned as head, valid until the next
// call) and discards the rest; size is the full length. WebSocket pings are
// answered.
func (c *wsConn) readMessage() (op byte, head []byte, size int, err error) {
	started, compressed := false, false
	n := 0
	for {
		b, err := c.br.Peek(2)
		if err != nil {
			return 0, nil, 0, err
		}
		fin := b[0]&0x80 != 0
		fop := b[0] & 0x0F
		rsv1 := b[0]&0x40 != 0
		if b[1]&0x80 != 0 {
			return 0, nil, 0, errors.New("masked frame from server")
		}
		length := int(b[1] & 0x7F)
		hl := 2
		switch length {
		case 126:
			hl = 4
		case 127:
			hl = 10
		}
		if hl > 2 {
			if b, err = c.br.Peek(hl); err != nil {
				return 0, nil, 0, err
			}
			if hl == 4 {
				length = int(binary.BigEndian.Uint16(b[2:]))
			} else {
				v := binary.BigEndian.Uint64(b[2:])
				if v > 1<<40 {
					return 0, nil, 0, errors.New("frame too large")
				}
				length = int(v)
			}
		}
		c.br.Discard(hl)

		if fop >= 0x8 { // control frame, at most 125 bytes
			p, err := c.br.Peek(length)
			if err != nil {
				return 0, nil, 0, err
			}
			switch fop {
			case opPing:
				if err := c.writeFrame(appendFrame(nil, opPong, p)); err != nil {
					return 0, nil, 0, err
				}
			case opClose:
				return 0, nil, 0, errClosed
			}
			c.br.Discard(length)
			continue
		}
		if fop == opCont {
			if !started {
				return 0, nil, 0, errors.New("unexpected continuation frame")
			}
		} else {
			if started {
				return 0, nil, 0, errors.New("data frame inside a fragmented message")
			}
			op, started, size = fop, true, 0
			compressed = c.deflate && rsv1
			c.zbody = c.zbody[:0]
		}
		if compressed && length > 0 {
			// The compressed body is kept whole (it is small: that is
			// the point), then its head inflated.
			if length > 1<<24 {
				return 0, nil, 0, errors.New("compressed frame too large")
			}
			start := len(c.zbody)
			c.zbody = slices.Grow(c.zbody, length)[:start+length]
			if _, err := io.ReadFull(c.br, c.zbody[start:]); err != nil {
				return 0, nil, 0, err
			}
			size += length
			if fin {
				n = inflateHead(c.head[:], c.zbody)
				return op, c.head[:n], size, nil
			}
			continue
		}
		if n < headLen && length > 0 {
			k := min(length, headLen-n)
			p, err := c.br.Peek(k)
			if err != nil {
				return 0, nil, 0, err
			}
			n += copy(c.head[n:], p)
		}
		if _, err := c.br.Discard(length); err != nil {
			return 0, nil, 0, err
		}
		size += length
		if fin {
			return op, c.head[:n], size, nil
		}
	}
}

// nextPacket returns the next Engine.IO message: for a text message, data
// is its start without the leading '4' (so data[0] is the Socket.IO packet
// type); for a binary message (an attachment), binary is set. Engine.IO
// pings are answered with pongs here.
func (c *wsConn) nextPacket() (binary bool, data []byte, err error) {
	for {
		op, head, _, err := c.readMessage()
		if err != nil {
			return false, nil, err
		}
		if op == opBinary {
			if c.msgpack {
				if h, ok := msgpackHead(c.synth[:0], head); ok {
					return false, h, nil
				}
				return false, nil, fmt.Errorf("not a MessagePack packet: %x", head)
			}
			return true, head, nil
		}
		if len(head) == 0 {
			return false, nil, errors.New("empty Engine.IO packet")
		}
		switch head[0] {
		case '4':
			return false, head[1:], nil
		case '2':
			if err := c.writeFrame(framePong); err != nil {
				return false, nil, err
			}
		case '1':
			return false, nil, errClosed
		}
		// open, pong, noop: nothing to do
	}
}

// connectSIO dials, completes the Engine.IO open and the Socket.IO CONNECT
// to the main namespace. The deadline of ctx bounds it all.
func connectSIO(ctx context.Context, d *net.Dialer, addr string, bufSize int, readDelay time.Duration, deflate, msgpack bool) (*wsConn, error) {
	c, err := dialWS(ctx, d, addr, bufSize, readDelay, deflate)
	if err != nil {
		return nil, err
	}
	c.msgpack = msgpack
	fail := func(err error) (*wsConn, error) {
		c.close()
		return nil, err
	}
	op, head, _, err := c.readMessage()
	if err != nil {
		return fail(fmt.Errorf("waiting for the open packet: %w", err))
	}
	if op != opText || len(head) == 0 || head[0] != '0' {
		return fail(fmt.Errorf("expected an open packet, got %q", head))
	}
	connect := frameConnect
	if msgpack {
		connect = frameConnectMsgpack
	}
	if err := c.writeFrame(connect); err != nil {
		return fail(err)
	}
	for {
		bin, data, err := c.nextPacket()
		if err != nil {
			return fail(fmt.Errorf("waiting for CONNECT: %w", err))
		}
		if bin || len(data) == 0 {
			continue
		}
		switch data[0] {
		case '0':
			c.nc.SetDeadline(time.Time{})
			return c, nil
		case '4':
			return fail(fmt.Errorf("connect error: %q", data))
		}
	}
}

// parseAckID parses the ack id at the start of b (the digits after the
// Socket.IO type '3').
func parseAckID(b []byte) (uint64, bool) {
	var id uint64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		id = id*10 + uint64(b[i]-'0')
	}
	return id, i > 0
}

// parseAttachments parses "N-" at the start of b (after the Socket.IO type
// '5' or '6'): the number of binary attachments that follow.
func parseAttachments(b []byte) (int, bool) {
	n := 0
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		n = n*10 + int(b[i]-'0')
	}
	if i == 0 || i >= len(b) || b[i] != '-' {
		return 0, false
	}
	return n, true
}

// appendEvent appends the Socket.IO EVENT `2<id>["name",json]` (without the
// Engine.IO '4').
func appendEvent(dst []byte, id uint64, name, jsonArg string) []byte {
	dst = append(dst, '2')
	dst = strconv.AppendUint(dst, id, 10)
	dst = append(dst, `["`...)
	dst = append(dst, name...)
	dst = append(dst, `",`...)
	dst = append(dst, jsonArg...)
	return append(dst, ']')
}
