package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

type file struct {
	Name string `json:"name"`
	Data []byte `json:"data"`
}

type plain struct {
	A string
	B int `json:"b,omitempty"`
}

type withAny struct {
	X any `json:"x"`
}

func TestEncodeArgs(t *testing.T) {
	tests := []struct {
		name   string
		event  string
		args   []any
		want   string
		nAttch int
	}{
		{"no args", "ev", nil, `["ev"]`, 0},
		{"scalars", "ev", []any{1, int64(-2), 1.5, true, nil, "s"}, `["ev",1,-2,1.5,true,null,"s"]`, 0},
		{"html not escaped", "ev", []any{"<a>&"}, `["ev","<a>&"]`, 0},
		{"struct", "ev", []any{plain{A: "x"}}, `["ev",{"A":"x"}]`, 0},
		{"raw message", "ev", []any{json.RawMessage(`{"k":[1]}`)}, `["ev",{"k":[1]}]`, 0},
		{"top-level binary", "ev", []any{[]byte{1}}, `["ev",{"_placeholder":true,"num":0}]`, 1},
		{"nested binary", "ev", []any{file{Name: "f", Data: []byte{1}}, map[string]any{"b": []byte{2}}},
			`["ev",{"name":"f","data":{"_placeholder":true,"num":0}},{"b":{"_placeholder":true,"num":1}}]`, 2},
		{"binary in slice of any", "ev", []any{[]any{[]byte{1}, "x"}}, `["ev",[{"_placeholder":true,"num":0},"x"]]`, 1},
		{"nil bytes", "ev", []any{file{Name: "n"}}, `["ev",{"name":"n","data":null}]`, 0},
		{"unicode event", "évé", []any{"ü"}, `["évé","ü"]`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, atts, err := EncodeArgs(tt.event, true, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != tt.want || len(atts) != tt.nAttch {
				t.Fatalf("got %s with %d attachments, want %s with %d", data, len(atts), tt.want, tt.nAttch)
			}
		})
	}
	data, _, err := EncodeArgs("", false, []any{1, "a"})
	if err != nil || string(data) != `[1,"a"]` {
		t.Fatalf("without event: %s %v", data, err)
	}
	if _, _, err := EncodeArgs("ev", true, []any{json.RawMessage(`{bad`)}); err == nil {
		t.Fatal("invalid RawMessage accepted")
	}
	if _, _, err := EncodeArgs("ev", true, []any{make(chan int)}); err == nil {
		t.Fatal("channel accepted")
	}
}

func TestMayContainBytes(t *testing.T) {
	type rec struct {
		Next *rec
		Name string
	}
	for _, tt := range []struct {
		v    any
		want bool
	}{
		{"", false}, {plain{}, false}, {file{}, true}, {withAny{}, true}, {rec{}, false},
		{[]string{}, false}, {map[string]any{}, true}, {[]byte{}, true}, {json.RawMessage{}, false},
		{[2]file{}, true}, {&plain{}, false}, {map[string][]byte{}, true},
	} {
		if got := mayContainBytes(reflect.TypeOf(tt.v)); got != tt.want {
			t.Errorf("mayContainBytes(%T) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

func TestDecode(t *testing.T) {
	atts := [][]byte{[]byte("zero"), []byte("one")}
	args := NewArgs([]byte(`[{"name":"f","data":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1},{"k":[{"_placeholder":true,"num":0}]},"x",3]`), atts)
	if args.Len() != 5 {
		t.Fatalf("len %d", args.Len())
	}
	var f file
	var b []byte
	var a any
	var s string
	var n int
	if err := args.Decode(&f, &b, &a, &s, &n); err != nil {
		t.Fatal(err)
	}
	if f.Name != "f" || string(f.Data) != "zero" || string(b) != "one" || s != "x" || n != 3 {
		t.Fatalf("decoded %+v %q %q %d", f, b, s, n)
	}
	inner := a.(map[string]any)["k"].([]any)[0]
	if bb, ok := inner.([]byte); !ok || string(bb) != "zero" {
		t.Fatalf("nested any = %#v", inner)
	}
	vals, err := args.Values()
	if err != nil || len(vals) != 5 || string(vals[1].([]byte)) != "one" {
		t.Fatalf("values %#v %v", vals, err)
	}
	var raw json.RawMessage
	if err := args.DecodeAt(3, &raw); err != nil || string(raw) != `"x"` {
		t.Fatalf("raw %s %v", raw, err)
	}
	if err := args.DecodeAt(9, &raw); err == nil {
		t.Fatal("out of range accepted")
	}
	if err := args.DecodeAt(3, &n); err == nil || !strings.Contains(err.Error(), "argument 3") {
		t.Fatalf("type mismatch error: %v", err)
	}
	// Case-insensitive field names, as encoding/json.
	var p plain
	if err := NewArgs([]byte(`[{"a":"x","B":2}]`), nil).Decode(&p); err != nil || p.A != "x" || p.B != 2 {
		t.Fatalf("plain %+v %v", p, err)
	}
	// Without attachments, a base64 string decodes into []byte and a
	// placeholder object stays an object.
	if err := NewArgs([]byte(`["AQI="]`), nil).Decode(&b); err != nil || !bytes.Equal(b, []byte{1, 2}) {
		t.Fatalf("base64 %v %v", b, err)
	}
	if err := NewArgs([]byte(`[{"_placeholder":true,"num":0}]`), nil).Decode(&a); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.(map[string]any); !ok {
		t.Fatalf("placeholder without attachments = %#v", a)
	}
	if got := args.String(); !strings.HasPrefix(got, `[{"name":"f"`) {
		t.Fatalf("String %s", got)
	}
}

func TestSplitEvent(t *testing.T) {
	name, args, err := SplitEvent([]byte(`["chat",{"t":1},2]`), nil)
	if err != nil || name != "chat" || args.Len() != 2 || string(args.Raw(1)) != "2" {
		t.Fatalf("%q %v %v", name, args, err)
	}
	if _, _, err := SplitEvent([]byte(`[]`), nil); err == nil {
		t.Fatal("empty event accepted")
	}
}

func TestHandlers(t *testing.T) {
	var got []string
	call := func(fn any, data string, ack AckSender) error {
		h, err := NewHandler(fn, false)
		if err != nil {
			t.Fatal(err)
		}
		return h.Call(NewArgs([]byte(data), nil), ack)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(call(func(a string, b int, c plain) { got = append(got, a, string(rune('0'+b)), c.A) }, `["x",5,{"A":"p"}]`, nil))
	must(call(func(a string, more ...string) { got = append(got, a+strings.Join(more, "")) }, `["a","b","c"]`, nil))
	var acked []any
	ack := func(v ...any) { acked = v }
	must(call(func(n int, reply func(int, string)) { reply(n*2, "ok"); reply(0, "twice") }, `[21]`, ack))
	if !reflect.DeepEqual(acked, []any{42, "ok"}) {
		t.Fatalf("ack %v", acked)
	}
	must(call(func(reply func(...any)) { reply(1, 2) }, `[]`, ack))
	if !reflect.DeepEqual(acked, []any{1, 2}) {
		t.Fatalf("variadic ack %v", acked)
	}
	if err := call(func() error { return errors.New("handler error") }, `[]`, nil); err == nil {
		t.Fatal("error result lost")
	}
	if err := call(func(n int) {}, `["x"]`, nil); !errors.Is(err, ErrInvalidArguments) {
		t.Fatalf("type mismatch: %v", err)
	}
	if !reflect.DeepEqual(got, []string{"x", "5", "p", "abc"}) {
		t.Fatalf("got %v", got)
	}

	// Acknowledgement callbacks with an error first.
	h, err := NewHandler(func(err error, s string) { got = append(got, "ack:"+s+":"+errString(err)) }, true)
	must(err)
	if !h.ErrFirst() {
		t.Fatal("ErrFirst")
	}
	must(h.CallAck(NewArgs([]byte(`["fine"]`), nil), nil))
	must(h.CallAck(Args{}, errors.New("late")))
	if got[len(got)-2] != "ack:fine:" || got[len(got)-1] != "ack::late" {
		t.Fatalf("acks %v", got)
	}
	args, cb := SplitCallback([]any{1, func() {}})
	if len(args) != 1 || cb == nil {
		t.Fatal("SplitCallback")
	}
}

// myArgs stands for socketio.Args and client.Args: types defined from Args.
type myArgs Args

// TestAckRequested: a handler can tell whether the sender asked for an
// acknowledgement, whatever its shape.
func TestAckRequested(t *testing.T) {
	var sent []any
	send := AckSender(func(v ...any) { sent = v })
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, asked *bool) any
	}{
		{"typed", func(t *testing.T, asked *bool) any {
			return func(s string, ack func(string)) {
				*asked = ack != nil
				if ack != nil {
					ack(s)
				}
			}
		}},
		{"any", func(t *testing.T, asked *bool) any {
			return func(s string, ack func(...any)) {
				*asked = ack != nil
				if ack != nil {
					ack(s)
				}
			}
		}},
		{"args fast path", func(t *testing.T, asked *bool) any {
			return func(a Args, ack func(...any)) {
				if a.AckRequested() != (ack != nil) {
					t.Errorf("flag %v, ack %v", a.AckRequested(), ack != nil)
				}
				*asked = ack != nil
				if ack != nil {
					ack(a.Raw(0))
				}
			}
		}},
		{"defined args", func(t *testing.T, asked *bool) any {
			return func(a myArgs, ack func(...any)) {
				if Args(a).AckRequested() != (ack != nil) {
					t.Errorf("flag %v, ack %v", Args(a).AckRequested(), ack != nil)
				}
				*asked = ack != nil
				if ack != nil {
					ack(Args(a).Raw(0))
				}
			}
		}},
		{"variadic", func(t *testing.T, asked *bool) any {
			// JavaScript's (...args) => typeof args.at(-1) === "function"
			return func(vals ...any) {
				last, ok := vals[len(vals)-1].(func(...any))
				*asked = ok
				if ok {
					last(vals[0])
				}
			}
		}},
		{"variadic with a fixed parameter", func(t *testing.T, asked *bool) any {
			return func(s string, vals ...any) {
				var ack func(...any)
				if n := len(vals); n > 0 {
					ack, _ = vals[n-1].(func(...any))
				}
				*asked = ack != nil
				if ack != nil {
					ack(s)
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked bool
			h, err := NewHandler(tc.fn(t, &asked), false)
			if err != nil {
				t.Fatal(err)
			}
			args := NewArgs([]byte(`["x"]`), nil)
			sent = nil
			if err := h.Call(args, nil); err != nil || asked {
				t.Fatalf("without ack: asked %v, err %v", asked, err)
			}
			if err := h.Call(args.WithAck(true), send); err != nil || !asked {
				t.Fatalf("with ack: asked %v, err %v", asked, err)
			}
			if len(sent) != 1 {
				t.Fatalf("ack sent %v", sent)
			}
		})
	}
}

// TestDecodeErrors: an argument that does not fit is an ErrInvalidArguments
// that names it, without quoting a whole payload.
func TestDecodeErrors(t *testing.T) {
	long := `"` + strings.Repeat("x", 1000) + `"`
	for _, fn := range []any{
		func(n int) {}, func(string, int) {}, func(n ...int) {}, func(p *plain) {},
	} {
		h, err := NewHandler(fn, false)
		if err != nil {
			t.Fatal(err)
		}
		err = h.Call(NewArgs([]byte(`[`+long+`,`+long+`]`), nil), nil)
		if !errors.Is(err, ErrInvalidArguments) || len(err.Error()) > 300 {
			t.Errorf("%T: %v", fn, err)
		}
	}
	for _, fn := range []any{func(ch chan int) {}, func(f func(), x int) {}, func(c complex128) {}, func(v ...func()) {}} {
		if _, err := NewHandler(fn, false); err == nil {
			t.Errorf("%T accepted", fn)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func BenchmarkEncodeArgs(b *testing.B) {
	msg := map[string]any{"room": "lobby", "text": "hello there", "n": 42}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := EncodeArgs("message", true, []any{msg}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeArgsStruct(b *testing.B) {
	msg := plain{A: "hello there", B: 42}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := EncodeArgs("message", true, []any{msg}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHandlerCall(b *testing.B) {
	h, _ := NewHandler(func(p plain, ack func(string)) { ack(p.A) }, false)
	args := NewArgs([]byte(`[{"A":"x","b":1}]`), nil)
	ack := func(...any) {}
	b.ReportAllocs()
	for b.Loop() {
		if err := h.Call(args, ack); err != nil {
			b.Fatal(err)
		}
	}
}

// TestJSONNumber: encoding/json's Number keeps its meaning (a number, as
// written) both ways, with and without binary attachments.
func TestJSONNumber(t *testing.T) {
	type withNum struct {
		N json.Number
		B []byte
	}
	d, atts, err := EncodeArgs("x", true, []any{json.Number("7"), map[string]any{"n": json.Number("12345678901234567890")}, withNum{N: "1.5", B: []byte{1}}, json.Number("")})
	if err != nil {
		t.Fatal(err)
	}
	if want := `["x",7,{"n":12345678901234567890},{"N":1.5,"B":{"_placeholder":true,"num":0}},0]`; string(d) != want || len(atts) != 1 {
		t.Fatalf("got %s", d)
	}
	if _, _, err := EncodeArgs("x", true, []any{json.Number("12abc")}); err == nil {
		t.Fatal("invalid number encoded")
	}
	var n json.Number
	var w withNum
	if err := NewArgs([]byte(`[12345678901234567890,{"N":-1e300,"B":{"_placeholder":true,"num":0}}]`), [][]byte{{9}}).Decode(&n, &w); err != nil {
		t.Fatal(err)
	}
	if n != "12345678901234567890" || w.N != "-1e300" || len(w.B) != 1 {
		t.Fatalf("decoded %q %+v", n, w)
	}
	// As encoding/json: a string holding a number is taken, others not.
	if err := NewArgs([]byte(`["7"]`), nil).Decode(&n); err != nil || n != "7" {
		t.Fatalf("string number: %q %v", n, err)
	}
	if err := NewArgs([]byte(`["seven"]`), nil).Decode(&n); err == nil {
		t.Fatal("a string decoded into json.Number")
	}
}

// Handlers are made per socket: a Handler stays at 24 bytes (the function
// and its type's shared signature), and NewHandler makes nothing else.
func TestHandlerSize(t *testing.T) {
	if n := unsafe.Sizeof(Handler{}); n > 24 {
		t.Errorf("Handler is %d bytes, over 24", n)
	}
	fn := func(Args, func(...any)) {}
	if _, err := NewHandler(fn, false); err != nil { // the signature, cached
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(10, func() { _, _ = NewHandler(fn, false) }); n > 1 {
		t.Errorf("NewHandler allocates %v times, want 1 (the Handler)", n)
	}
}
