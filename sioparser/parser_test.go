package sioparser

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestEncode(t *testing.T) {
	tests := []struct {
		name string
		p    Packet
		want string
	}{
		{"connect main", Packet{Type: Connect, Namespace: "/"}, `0`},
		{"connect custom with sid", Packet{Type: Connect, Namespace: "/admin", Data: []byte(`{"sid":"oSO0OpakMV_3jnilAAAA"}`)}, `0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}`},
		{"connect error", Packet{Type: ConnectError, Namespace: "/", Data: []byte(`{"message":"Not authorized"}`)}, `4{"message":"Not authorized"}`},
		{"event main", Packet{Type: Event, Data: []byte(`["foo"]`)}, `2["foo"]`},
		{"event custom", Packet{Type: Event, Namespace: "/admin", Data: []byte(`["bar"]`)}, `2/admin,["bar"]`},
		{"binary event", Packet{Type: Event, Data: []byte(`["baz",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2, 3, 4}}}, `51-["baz",{"_placeholder":true,"num":0}]`},
		{"binary event two", Packet{Type: Event, Namespace: "/admin", Data: []byte(`["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`), Attachments: [][]byte{{1, 2}, {3, 4}}}, `52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`},
		{"event with ack", Packet{Type: Event, ID: 12, HasID: true, Data: []byte(`["foo"]`)}, `212["foo"]`},
		{"ack custom", Packet{Type: Ack, Namespace: "/admin", ID: 13, HasID: true, Data: []byte(`["bar"]`)}, `3/admin,13["bar"]`},
		{"binary ack", Packet{Type: Ack, ID: 15, HasID: true, Data: []byte(`["bar",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1}}}, `61-15["bar",{"_placeholder":true,"num":0}]`},
		{"ack id zero", Packet{Type: Ack, ID: 0, HasID: true, Data: []byte(`[]`)}, `30[]`},
		{"disconnect main", Packet{Type: Disconnect, Namespace: "/"}, `1`},
		{"disconnect custom", Packet{Type: Disconnect, Namespace: "/admin"}, `1/admin,`},
		{"empty namespace is main", Packet{Type: Event, Data: []byte(`["x"]`)}, `2["x"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(tt.p.AppendText(nil))
			if got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
			if n := tt.p.TextLen(); n != len(got) {
				t.Fatalf("TextLen = %d, want %d", n, len(got))
			}
		})
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		typ         Type
		nsp         string
		id          int64 // -1: none
		data        string
		attachments int
	}{
		{"connect", `0`, Connect, "/", -1, "", 0},
		{"connect auth", `0{"token":"123"}`, Connect, "/", -1, `{"token":"123"}`, 0},
		{"connect custom", `0/custom,`, Connect, "/custom", -1, "", 0},
		{"connect custom no comma", `0/random`, Connect, "/random", -1, "", 0},
		{"connect custom auth", `0/custom,{"token":"abc"}`, Connect, "/custom", -1, `{"token":"abc"}`, 0},
		{"disconnect", `1`, Disconnect, "/", -1, "", 0},
		{"disconnect custom", `1/custom`, Disconnect, "/custom", -1, "", 0},
		{"event", `2["message",1,"2",{"3":[true]}]`, Event, "/", -1, `["message",1,"2",{"3":[true]}]`, 0},
		{"event ack", `2456["message-with-ack",1,"2",{"3":[false]}]`, Event, "/", 456, `["message-with-ack",1,"2",{"3":[false]}]`, 0},
		{"event numeric name", `2[1,2]`, Event, "/", -1, `[1,2]`, 0},
		{"event custom ack", `2/admin,1["tellme"]`, Event, "/admin", 1, `["tellme"]`, 0},
		{"ack empty", `30[]`, Ack, "/", 0, `[]`, 0},
		{"connect error string", `4"nope"`, ConnectError, "/", -1, `"nope"`, 0},
		{"connect error object", `4/x,{"message":"Invalid namespace"}`, ConnectError, "/x", -1, `{"message":"Invalid namespace"}`, 0},
		{"binary event no attachments", `50-["x"]`, Event, "/", -1, `["x"]`, 0},
		{"json whitespace", "2 [ \"a\" , 1 ] ", Event, "/", -1, " [ \"a\" , 1 ] ", 0},
		{"largest safe ack id", `29007199254740991["a"]`, Event, "/", 9007199254740991, `["a"]`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Decode([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if p.Type != tt.typ || p.Namespace != tt.nsp || string(p.Data) != tt.data || len(p.Attachments) != tt.attachments {
				t.Fatalf("got %+v", p)
			}
			if tt.id < 0 && p.HasID || tt.id >= 0 && (!p.HasID || p.ID != uint64(tt.id)) {
				t.Fatalf("id: got %v %d, want %d", p.HasID, p.ID, tt.id)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		err  error
	}{
		{"empty", ``, ErrUnknownType},
		{"unknown type", `abc`, ErrUnknownType},
		{"type 7", `7`, ErrUnknownType},
		{"invalid json", `2["a"`, ErrInvalidPayload},
		{"payload not array", `2{}`, ErrInvalidPayload},
		{"invalid ack id", `2abc["message-with-ack",1]`, ErrInvalidPayload},
		{"empty event", `2[]`, ErrInvalidPayload},
		{"event without payload", `2`, ErrInvalidPayload},
		{"reserved event", `2["disconnect"]`, ErrInvalidPayload},
		{"reserved event escaped", `2["\u0063onnect"]`, ErrInvalidPayload},
		{"event name object", `2[{}]`, ErrInvalidPayload},
		{"ack not array", `31{}`, ErrInvalidPayload},
		{"connect array", `0[]`, ErrInvalidPayload},
		{"connect string", `0"x"`, ErrInvalidPayload},
		{"disconnect payload", `1{}`, ErrInvalidPayload},
		{"connect error array", `4[]`, ErrInvalidPayload},
		{"attachments no dash", `51["a"]`, ErrIllegalAttachments},
		{"attachments not a number", `5x-["a"]`, ErrIllegalAttachments},
		{"too many attachments", `511-["a"]`, ErrTooManyAttachments},
		{"huge attachments", `59999999-["a"]`, ErrTooManyAttachments},
		{"placeholder out of range", `51-["a",{"_placeholder":true,"num":1}]`, ErrIllegalAttachments},
		{"placeholder negative", `51-["a",{"_placeholder":true,"num":-1}]`, ErrIllegalAttachments},
		{"placeholder no num", `51-["a",{"_placeholder":true}]`, ErrIllegalAttachments},
		{"placeholder fraction", `52-["a",{"_placeholder":true,"num":0.5}]`, ErrIllegalAttachments},
		{"ack id overflow", `299999999999999999999["a"]`, ErrInvalidPayload},
		{"ack id 2^53", `29007199254740992["a"]`, ErrInvalidPayload},
		{"ack id 2^53 on ack", `39007199254740992[]`, ErrInvalidPayload},
		{"control char", "2[\"a\x01\"]", ErrInvalidPayload},
		{"trailing garbage", `2["a"]x`, ErrInvalidPayload},
		{"bad escape", `2["\x"]`, ErrInvalidPayload},
		{"bad number", `2["a",01]`, ErrInvalidPayload},
		{"bad literal", `2["a",tru]`, ErrInvalidPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			_, err := d.Add([]byte(tt.in), false)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
		})
	}
}

func TestDecoderBinary(t *testing.T) {
	var d Decoder
	p, err := d.Add([]byte(`452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`[1:]), false)
	if err != nil || p != nil {
		t.Fatalf("header: %v %v", p, err)
	}
	if !d.Pending() {
		t.Fatal("expected pending")
	}
	if _, err := d.Add([]byte("42[\"x\"]"), false); !errors.Is(err, ErrUnexpectedText) {
		t.Fatalf("text while pending: %v", err)
	}
	p, err = d.Add([]byte{1, 2, 3}, true)
	if err != nil || p != nil {
		t.Fatalf("first attachment: %v %v", p, err)
	}
	p, err = d.Add([]byte{4, 5, 6}, true)
	if err != nil || p == nil {
		t.Fatalf("second attachment: %v %v", p, err)
	}
	if p.Type != Event || !p.HasID || p.ID != 789 || len(p.Attachments) != 2 || !bytes.Equal(p.Attachments[1], []byte{4, 5, 6}) {
		t.Fatalf("got %+v", p)
	}
	if d.Pending() {
		t.Fatal("still pending")
	}
	if _, err := d.Add([]byte{1}, true); !errors.Is(err, ErrUnexpectedBinary) {
		t.Fatalf("binary without header: %v", err)
	}
	// Binary ack.
	if _, err := d.Add([]byte(`61-15["bar",{"_placeholder":true,"num":0}]`), false); err != nil {
		t.Fatal(err)
	}
	p, err = d.Add([]byte{9}, true)
	if err != nil || p.Type != Ack || p.ID != 15 {
		t.Fatalf("binary ack: %+v %v", p, err)
	}
	// Reset drops pending state.
	if _, err := d.Add([]byte(`51-["a",{"_placeholder":true,"num":0}]`), false); err != nil {
		t.Fatal(err)
	}
	d.Reset()
	if d.Pending() {
		t.Fatal("pending after reset")
	}
}

// TestMaxBytes: a binary packet may not grow past the decoder's bound
// while its attachments arrive; the partial packet is then dropped.
func TestMaxBytes(t *testing.T) {
	header := []byte(`53-["a",{"_placeholder":true,"num":0}]`)
	payload := int64(len(header) - len("53-"))
	d := Decoder{MaxBytes: payload + 10}
	if _, err := d.Add(header, false); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Add(make([]byte, 6), true); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Add(make([]byte, 5), true); !errors.Is(err, ErrPacketTooLarge) {
		t.Fatalf("over the bound: %v", err)
	}
	if d.Pending() {
		t.Fatal("partial packet kept after the error")
	}
	// Exactly at the bound is fine.
	if _, err := d.Add(header, false); err != nil {
		t.Fatal(err)
	}
	for i, n := range []int{4, 4, 2} {
		p, err := d.Add(make([]byte, n), true)
		if err != nil || (p != nil) != (i == 2) {
			t.Fatalf("attachment %d: %v %v", i, p, err)
		}
	}
	// The text alone may be over it.
	small := Decoder{MaxBytes: 10}
	if _, err := small.Add(header, false); !errors.Is(err, ErrPacketTooLarge) {
		t.Fatalf("header over the bound: %v", err)
	}
	// Packets without attachments are not its business (the transport
	// bounds each message).
	if p, err := small.Add([]byte(`2["a long event name"]`), false); err != nil || p == nil {
		t.Fatalf("plain event: %v %v", p, err)
	}
}

func TestMaxAttachments(t *testing.T) {
	d := Decoder{MaxAttachments: 2}
	if _, err := d.Add([]byte(`53-["a"]`), false); !errors.Is(err, ErrTooManyAttachments) {
		t.Fatalf("err = %v", err)
	}
}

func TestSplitArray(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`[]`, nil},
		{` [ ] `, nil},
		{`["a"]`, []string{`"a"`}},
		{`["a", 1 ,{"b":[1,2]},[],null,true,false,-1.5e3,"x\"y"]`, []string{`"a"`, `1`, `{"b":[1,2]}`, `[]`, `null`, `true`, `false`, `-1.5e3`, `"x\"y"`}},
	}
	for _, tt := range tests {
		got, err := SplitArray([]byte(tt.in))
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if len(got) != len(tt.want) {
			t.Fatalf("%s: got %q", tt.in, got)
		}
		for i := range got {
			if string(got[i]) != tt.want[i] {
				t.Fatalf("%s: element %d = %s, want %s", tt.in, i, got[i], tt.want[i])
			}
		}
	}
	if _, err := SplitArray([]byte(`{}`)); err == nil {
		t.Fatal("object accepted as array")
	}
	if _, err := SplitArray([]byte(`[1,]`)); err == nil {
		t.Fatal("trailing comma accepted")
	}
}

func TestEventName(t *testing.T) {
	for in, want := range map[string]string{`"chat"`: "chat", `"a\u00e9"`: "aé", `"é"`: "é", `12`: "12"} {
		got, err := EventName([]byte(in))
		if err != nil || got != want {
			t.Fatalf("EventName(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := EventName([]byte(`{}`)); err == nil {
		t.Fatal("object accepted as event name")
	}
}

func TestPlaceholderIndex(t *testing.T) {
	// The number as JSON.parse reads it: 0.0 and 1e0 are integers, and
	// validation accepts them, so they must be found as well.
	for in, want := range map[string]int{
		`{"_placeholder":true,"num":3}`: 3, `{"_placeholder":true,"num":0.0}`: 0, `{"num":1e0,"_placeholder":true}`: 1,
		` {"_placeholder" : true , "num" : 2.00}`: 2,
	} {
		if n, ok := PlaceholderIndex([]byte(in)); !ok || n != want {
			t.Fatalf("%s: got %d %v", in, n, ok)
		}
		var d Decoder
		if _, err := d.Add([]byte(fmt.Sprintf(`54-["a",%s]`, in)), false); err != nil {
			t.Fatalf("%s: validation: %v", in, err)
		}
	}
	for _, in := range []string{`{"_placeholder":false,"num":3}`, `[1]`, `"x"`, `{"num":1}`, `{"_placeholder":true,"num":-1}`, `{"_placeholder":true,"num":0.5}`, `{"_placeholder":true,"num":"0"}`, `{"_placeholder":true,"num":1e300}`} {
		if _, ok := PlaceholderIndex([]byte(in)); ok {
			t.Fatalf("%s accepted", in)
		}
	}
}

func TestDeepNesting(t *testing.T) {
	in := append([]byte(`2["a",`), bytes.Repeat([]byte("["), maxDepth+1)...)
	in = append(in, bytes.Repeat([]byte("]"), maxDepth+2)...)
	if _, err := Decode(in); err == nil {
		t.Fatal("nesting beyond the limit accepted")
	}
}

func FuzzDecoder(f *testing.F) {
	seeds := []string{
		`0`, `0{"token":"123"}`, `0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}`, `4{"message":"Not authorized"}`,
		`2["foo"]`, `2/admin,["bar"]`, `51-["baz",{"_placeholder":true,"num":0}]`,
		`52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
		`212["foo"]`, `3/admin,13["bar"]`, `61-15["bar",{"_placeholder":true,"num":0}]`, `1`, `1/admin,`,
		`2abc["x"]`, `42{}`, `5-["x"]`, `2["a",{"b":[1,2,{"c":null}]},-0.5e-3,"\u00e9"]`,
	}
	for _, s := range seeds {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(2))
	}
	f.Fuzz(func(t *testing.T, data []byte, extra uint8) {
		var d Decoder
		p, err := d.Add(data, false)
		for i := 0; err == nil && p == nil && i < int(extra); i++ {
			p, err = d.Add([]byte{byte(i)}, true)
		}
		if err != nil || p == nil {
			return
		}
		// A decoded packet must encode to text that decodes to the same packet.
		again := p.AppendText(nil)
		var d2 Decoder
		q, err := d2.Add(again, false)
		for i := 0; err == nil && q == nil && i < len(p.Attachments); i++ {
			q, err = d2.Add(p.Attachments[i], true)
		}
		if err != nil || q == nil {
			t.Fatalf("re-decode of %q (from %q): %v", again, data, err)
		}
		if q.Type != p.Type || q.Namespace != p.Namespace || q.HasID != p.HasID || q.ID != p.ID || !bytes.Equal(q.Data, p.Data) || len(q.Attachments) != len(p.Attachments) {
			t.Fatalf("round trip differs: %+v vs %+v", q, p)
		}
		if p.Type == Event || p.Type == Ack {
			if _, err := SplitArray(p.Data); err != nil {
				t.Fatalf("valid payload does not split: %v", err)
			}
		}
	})
}

func ExamplePacket_AppendText() {
	p := Packet{Type: Event, Namespace: "/admin", ID: 1, HasID: true, Data: []byte(`["hello","world"]`)}
	fmt.Println(string(p.AppendText(nil)))
	// Output: 2/admin,1["hello","world"]
}

func BenchmarkDecodeEvent(b *testing.B) {
	msg := []byte(`2/chat,42["message",{"room":"lobby","text":"hello there, how are you?"}]`)
	b.ReportAllocs()
	for b.Loop() {
		var d Decoder
		if _, err := d.Add(msg, false); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeEvent(b *testing.B) {
	p := Packet{Type: Event, Namespace: "/chat", Data: []byte(`["message",{"room":"lobby","text":"hello there, how are you?"}]`)}
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		buf = p.AppendText(buf[:0])
	}
}
