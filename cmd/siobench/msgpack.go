//go:build linux

package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"os/exec"
	"strconv"

	"github.com/socketio-go/socketio/msgpackparser"
	"github.com/socketio-go/socketio/sioparser"
)

// With -parser msgpack the clients speak the MessagePack parser (npm
// socket.io-msgpack-parser): every Socket.IO packet is one binary message
// holding a map. The readers stay those of the JSON scenarios: nextPacket
// turns the head of a MessagePack packet into the text head a JSON packet
// would have ("2" for an event, "3<id>" for an ack, "0", "4"), which is all
// they look at.

const (
	parserJSON    = "json"
	parserMsgpack = "msgpack"
)

// The servers go and node with the MessagePack parser, for run: the
// same-run comparison with JSON is -servers go,go-msgpack,node,node-msgpack.
func init() {
	for _, base := range serverDefs {
		if base.name != "go" && base.name != "node" {
			continue
		}
		v := *base
		v.name, v.about, v.parser = base.name+"-msgpack", base.about+" with the MessagePack parser (-parser msgpack)", parserMsgpack
		command := base.command
		v.command = func(root, dir, addr string) *exec.Cmd {
			cmd := command(root, dir, addr)
			cmd.Args = append(cmd.Args, "-parser", parserMsgpack)
			return cmd
		}
		serverDefs = append(serverDefs, &v)
	}
}

// msgpackConnect is the CONNECT to "/".
var msgpackConnect = func() []byte {
	b, _, err := msgpackparser.New().Encode(nil, &sioparser.Packet{Type: sioparser.Connect, Namespace: "/"})
	if err != nil {
		panic(err)
	}
	return b
}()

// frameConnectMsgpack is the frame of msgpackConnect.
var frameConnectMsgpack = appendFrame(nil, opBinary, msgpackConnect)

// nspTail is how a packet of "/" ends: the key nsp and its value.
var nspTail = []byte{0xa3, 'n', 's', 'p', 0xa1, '/'}

// eventTemplate is an event without its id: the message with an id is
// prefix, the key id and its value, then nspTail (the parser writes type,
// data, id, nsp).
type eventTemplate struct {
	name, arg string
	prefix    []byte
}

func newEventTemplate(name, jsonArg string) (*eventTemplate, error) {
	b, _, err := msgpackparser.New().Encode(nil, &sioparser.Packet{Type: sioparser.Event, Namespace: "/", Data: []byte(`["` + name + `",` + jsonArg + `]`)})
	if err != nil {
		return nil, err
	}
	if len(b) < len(nspTail)+1 || b[0] != 0x83 || string(b[len(b)-len(nspTail):]) != string(nspTail) {
		return nil, fmt.Errorf("unexpected encoding %x", b)
	}
	prefix := append([]byte{0x84}, b[1:len(b)-len(nspTail)]...)
	return &eventTemplate{name: name, arg: jsonArg, prefix: prefix}, nil
}

// append appends the event with ack id id.
func (t *eventTemplate) append(dst []byte, id uint64) []byte {
	dst = append(dst, t.prefix...)
	dst = append(dst, 0xa2, 'i', 'd')
	switch {
	case id < 0x80:
		dst = append(dst, byte(id))
	case id <= math.MaxUint8:
		dst = append(dst, 0xcc, byte(id))
	case id <= math.MaxUint16:
		dst = binary.BigEndian.AppendUint16(append(dst, 0xcd), uint16(id))
	case id <= math.MaxUint32:
		dst = binary.BigEndian.AppendUint32(append(dst, 0xce), uint32(id))
	default:
		dst = binary.BigEndian.AppendUint64(append(dst, 0xcf), id)
	}
	return append(dst, nspTail...)
}

// msgpackHead reads the type and the ack id of a MessagePack packet from
// the start of its message: the keys before "data" (both servers write
// "type" first in events, "id" and "type" first in acks). It writes the
// text head a JSON packet would have into dst.
func msgpackHead(dst, b []byte) ([]byte, bool) {
	if len(b) == 0 || b[0]&0xf0 != 0x80 {
		return nil, false
	}
	typ, id, hasID := -1, uint64(0), false
	i := 1
	for range int(b[0] & 0x0f) {
		if i >= len(b) || b[i]&0xe0 != 0xa0 {
			break
		}
		kl := int(b[i] & 0x1f)
		i++
		if i+kl >= len(b) {
			break
		}
		key := b[i : i+kl]
		i += kl
		switch string(key) {
		case "type":
			typ = int(b[i])
			i++
			continue
		case "id":
			v, w, ok := msgpackUint(b[i:])
			if !ok {
				return nil, false
			}
			id, hasID = v, true
			i += w
			continue
		}
		break // data or nsp: what follows is not needed
	}
	if typ < 0 || typ > 9 {
		return nil, false
	}
	dst = append(dst[:0], byte('0'+typ))
	if hasID {
		dst = strconv.AppendUint(dst, id, 10)
	}
	return dst, true
}

// msgpackUint reads a non-negative integer and its width.
func msgpackUint(b []byte) (uint64, int, bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	c := b[0]
	if c < 0x80 {
		return uint64(c), 1, true
	}
	if c < 0xcc || c > 0xcf {
		return 0, 0, false
	}
	w := 1 << (c - 0xcc)
	if len(b) < 1+w {
		return 0, 0, false
	}
	var v uint64
	for _, x := range b[1 : 1+w] {
		v = v<<8 | uint64(x)
	}
	return v, 1 + w, true
}
