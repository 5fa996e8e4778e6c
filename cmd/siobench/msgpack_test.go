//go:build linux

package main

import (
	"encoding/hex"
	"testing"

	"github.com/socketio-go/socketio/msgpackparser"
	"github.com/socketio-go/socketio/sioparser"
)

// TestEventTemplate: the events the tool writes are the parser's.
func TestEventTemplate(t *testing.T) {
	tmpl, err := newEventTemplate("echo", `"xx"`)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []uint64{0, 127, 128, 255, 256, 65536, 1 << 32, 1<<53 - 1} {
		msg := tmpl.append(nil, id)
		p, err := msgpackparser.New().Decode(msg, true, sioparser.Limits{})
		if err != nil {
			t.Fatalf("id %d: %v", id, err)
		}
		if p.Type != sioparser.Event || p.Namespace != "/" || !p.HasID || p.ID != id || string(p.Data) != `["echo","xx"]` {
			t.Fatalf("id %d: %v %q %v %d %s", id, p.Type, p.Namespace, p.HasID, p.ID, p.Data)
		}
	}
}

// TestMsgpackHead: the heads of the packets the servers send, as the
// readers want them.
func TestMsgpackHead(t *testing.T) {
	for _, tc := range []struct{ name, hex, want string }{
		{"node ack", "84a2696401a47479706503a46461746190a36e7370a12f", "31"},
		{"node event", "83a47479706502a46461746192a36d7367a178a36e7370a12f", "2"},
		{"go ack, wide id", "84a26964cd0100a47479706503a46461746190a36e7370a12f", "3256"},
		{"connect", "83a47479706500a46461746181a3736964a161a36e7370a12f", "0"},
		{"connect error", "83a47479706504a46461746181a76d657373616765a178a36e7370a12f", "4"},
	} {
		b, _ := hex.DecodeString(tc.hex)
		got, ok := msgpackHead(nil, b)
		if !ok || string(got) != tc.want {
			t.Errorf("%s: %q %v, want %q", tc.name, got, ok, tc.want)
		}
	}
	if _, ok := msgpackHead(nil, []byte{0x93}); ok {
		t.Error("an array read as a packet")
	}
}
