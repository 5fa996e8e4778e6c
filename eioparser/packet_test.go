package eioparser

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestDecodePacket(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		binary bool
		want   Packet
		err    bool
	}{
		{name: "open", in: `0{"sid":"x"}`, want: Packet{Type: Open, Data: []byte(`{"sid":"x"}`)}},
		{name: "close", in: "1", want: Packet{Type: Close}},
		{name: "ping", in: "2", want: Packet{Type: Ping}},
		{name: "probe", in: "2probe", want: Packet{Type: Ping, Data: []byte("probe")}},
		{name: "pong", in: "3", want: Packet{Type: Pong}},
		{name: "message", in: "4hello", want: Packet{Type: Message, Data: []byte("hello")}},
		{name: "utf8 message", in: "4€", want: Packet{Type: Message, Data: []byte("€")}},
		{name: "upgrade", in: "5", want: Packet{Type: Upgrade}},
		{name: "noop", in: "6", want: Packet{Type: Noop}},
		{name: "base64", in: "bAQIDBA==", want: Packet{Type: Message, Data: []byte{1, 2, 3, 4}, Binary: true}},
		{name: "base64 unpadded", in: "bAQIDBA", want: Packet{Type: Message, Data: []byte{1, 2, 3, 4}, Binary: true}},
		{name: "base64 empty", in: "b", want: Packet{Type: Message, Data: []byte{}, Binary: true}},
		{name: "binary frame", in: "\x01\x02", binary: true, want: Packet{Type: Message, Data: []byte{1, 2}, Binary: true}},
		{name: "empty", in: "", err: true},
		{name: "unknown type", in: "7", err: true},
		{name: "letters", in: "abc", err: true},
		{name: "bad base64", in: "b!!!", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodePacket([]byte(tt.in), tt.binary)
			if tt.err {
				if !errors.Is(err, ErrInvalidPacket) {
					t.Fatalf("err = %v, want ErrInvalidPacket", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Type != tt.want.Type || got.Binary != tt.want.Binary || !bytes.Equal(got.Data, tt.want.Data) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodePayload(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		types []Type
		data  []string
		err   bool
	}{
		{name: "one", in: "4hello", types: []Type{Message}, data: []string{"hello"}},
		{name: "several", in: "4test1\x1e4test2\x1e4test3", types: []Type{Message, Message, Message}, data: []string{"test1", "test2", "test3"}},
		{name: "text and binary", in: "4hello\x1ebAQIDBA==", types: []Type{Message, Message}, data: []string{"hello", "\x01\x02\x03\x04"}},
		{name: "ping pong", in: "3\x1e2", types: []Type{Pong, Ping}, data: []string{"", ""}},
		{name: "error after valid", in: "4a\x1exyz\x1e4b", types: []Type{Message}, data: []string{"a"}, err: true},
		{name: "empty body", in: "", err: true},
		{name: "trailing separator", in: "4a\x1e", types: []Type{Message}, data: []string{"a"}, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodePayload([]byte(tt.in))
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if len(got) != len(tt.types) {
				t.Fatalf("got %d packets, want %d", len(got), len(tt.types))
			}
			for i, p := range got {
				if p.Type != tt.types[i] || string(p.Data) != tt.data[i] {
					t.Errorf("packet %d = %v %q, want %v %q", i, p.Type, p.Data, tt.types[i], tt.data[i])
				}
			}
		})
	}
}

func TestAppendPayload(t *testing.T) {
	packets := []Packet{
		{Type: Message, Data: []byte("hello")},
		{Type: Message, Data: []byte{1, 2, 3, 4}, Binary: true},
		{Type: Ping},
		{Type: Open, Data: []byte(`{"sid":"a"}`)},
	}
	got := string(AppendPayload(nil, packets))
	want := "4hello\x1ebAQIDBA==\x1e2\x1e0{\"sid\":\"a\"}"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	n := len(packets) - 1
	for _, p := range packets {
		n += EncodedLen(p)
	}
	if n != len(got) {
		t.Fatalf("EncodedLen sum = %d, want %d", n, len(got))
	}
	back, err := DecodePayload([]byte(got))
	if err != nil {
		t.Fatal(err)
	}
	for i := range packets {
		if back[i].Type != packets[i].Type || !bytes.Equal(back[i].Data, packets[i].Data) || back[i].Binary != packets[i].Binary {
			t.Fatalf("round trip %d: got %+v, want %+v", i, back[i], packets[i])
		}
	}
}

func TestTypeString(t *testing.T) {
	if Noop.String() != "noop" || Type(9).String() != "type(9)" || Message.Char() != '4' {
		t.Fatal("bad type names")
	}
}

func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{"4hello", "4test1\x1e4test2\x1e4test3", "4hello\x1ebAQIDBA==", "2probe", "3", "1", "6", "abc", "b", "bAQ", "\x1e\x1e", "0{\"sid\":\"x\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		packets, err := DecodePayload(body)
		if err == nil {
			// Whatever decodes must encode back to something that decodes the same.
			again, err := DecodePayload(AppendPayload(nil, packets))
			if err != nil {
				t.Fatalf("re-decode of %q: %v", body, err)
			}
			if len(again) != len(packets) {
				t.Fatalf("re-decode count %d != %d", len(again), len(packets))
			}
			for i := range again {
				if again[i].Type != packets[i].Type || !bytes.Equal(again[i].Data, packets[i].Data) {
					t.Fatalf("packet %d differs: %+v vs %+v", i, again[i], packets[i])
				}
			}
		}
		_, _ = DecodePacket(body, false)
		_, _ = DecodePacket(body, true)
	})
}

func ExampleAppendPayload() {
	body := AppendPayload(nil, []Packet{
		{Type: Message, Data: []byte("hello")},
		{Type: Message, Data: []byte{1, 2, 3, 4}, Binary: true},
	})
	fmt.Printf("%q\n", body)
	// Output: "4hello\x1ebAQIDBA=="
}

func BenchmarkDecodePayload(b *testing.B) {
	body := []byte("4hello\x1e42[\"chat\",\"some message here\"]\x1e3\x1ebAQIDBA==")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodePayload(body); err != nil {
			b.Fatal(err)
		}
	}
}
