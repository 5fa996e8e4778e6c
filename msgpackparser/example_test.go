package msgpackparser_test

import (
	"fmt"

	"github.com/socketio-go/socketio/msgpackparser"
	"github.com/socketio-go/socketio/sioparser"
)

// The message of an event with a binary argument: one MessagePack map,
// the bytes inside as bin, as npm socket.io-msgpack-parser writes it.
func ExampleParser_Encode() {
	p := &sioparser.Packet{
		Type:        sioparser.Event,
		Namespace:   "/",
		Data:        []byte(`["file",{"_placeholder":true,"num":0}]`),
		Attachments: [][]byte{{0xca, 0xfe}},
	}
	msg, binary, err := msgpackparser.New().Encode(nil, p)
	fmt.Printf("%x %v %v\n", msg, binary, err)
	// Output: 83a47479706502a46461746192a466696c65c402cafea36e7370a12f true <nil>
}

// Decoding gives the packet the rest of the stack works with: JSON, binary
// values as attachments.
func ExampleParser_Decode() {
	msg := []byte("\x84\xa4type\x02\xa4data\x92\xa4file\xc4\x02\xca\xfe\xa2id\x07\xa3nsp\xa5/chat")
	p, err := msgpackparser.New().Decode(msg, true, sioparser.Limits{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%v %s id %d %s %x\n", p.Type, p.Namespace, p.ID, p.Data, p.Attachments)
	// Output: EVENT /chat id 7 ["file",{"_placeholder":true,"num":0}] [cafe]
}
