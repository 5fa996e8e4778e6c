package wire

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestJSONToMsgpack(t *testing.T) {
	tests := []struct {
		name string
		js   string
		atts [][]byte
		hex  string
	}{
		// Expected bytes as notepack.io 3.0.1 writes them (WIRE.md §0).
		{"positive fixint", `5`, nil, "05"},
		{"uint16", `2500`, nil, "cd09c4"},
		{"uint8", `200`, nil, "ccc8"},
		{"uint32", `70000`, nil, "ce00011170"},
		{"uint64", `1099511627776`, nil, "cf0000010000000000"},
		{"negative fixint", `-7`, nil, "f9"},
		{"int8", `-100`, nil, "d09c"},
		{"int16", `-1000`, nil, "d1fc18"},
		{"int32", `-70000`, nil, "d2fffeee90"},
		{"float", `1.5`, nil, "cb3ff8000000000000"},
		{"integral float", `2.0`, nil, "02"},
		{"exponent", `1e3`, nil, "cd03e8"},
		{"null", `null`, nil, "c0"},
		{"bools", `[true,false]`, nil, "92c3c2"},
		{"fixstr", `"x"`, nil, "a178"},
		{"escapes", `"a\"\u00e9\n"`, nil, "a561" + "22c3a90a"},
		{"str8", `"` + strings.Repeat("a", 40) + `"`, nil, "d928" + strings.Repeat("61", 40)},
		{"empty containers", `[{},[]]`, nil, "928090"},
		{"object order", `{"b":1,"a":{"c":[1,2]}}`, nil, "82a16201a16181a1639201" + "02"},
		{"placeholder", `["bin",{"_placeholder":true,"num":0}]`, [][]byte{{1, 2, 3}}, "92a362696ec403010203"},
		{"placeholder without attachment stays an object", `{"_placeholder":true,"num":1}`, [][]byte{{1}}, "82ac5f706c616365686f6c646572c3a36e756d01"},
		{"white space", " [ 1 , { \"a\" : 2 } ] ", nil, "920181a16102"},
		{"array16", `[` + strings.Repeat("0,", 15) + `0]`, nil, "dc0010" + strings.Repeat("00", 16)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := JSONToMsgpack(nil, []byte(tt.js), tt.atts)
			if err != nil {
				t.Fatal(err)
			}
			if h := hex.EncodeToString(got); h != tt.hex {
				t.Fatalf("got %s, want %s", h, tt.hex)
			}
		})
	}
}

func TestJSONToMsgpackInvalid(t *testing.T) {
	for _, js := range []string{`[1,2`, `]`, `"abc`, `{"a":tru}`, `[nul]`, `@`, `{"a":1}}`} {
		if _, err := JSONToMsgpack(nil, []byte(js), nil); err == nil {
			t.Errorf("%q: no error", js)
		}
	}
}

func TestMsgpackToJSON(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		js   string
		atts int
	}{
		{"ints", "9705cd09c4f9d09cd1fc18d2fffeee90d3ffffffffffffffff", "[5,2500,-7,-100,-1000,-70000,-1]", 0},
		{"uint64", "cf0000010000000000", "1099511627776", 0},
		{"float64", "cb3ff8000000000000", "1.5", 0},
		{"float32", "ca3fc00000", "1.5", 0},
		{"big float", "cb444b1ae4d6e2ef50", "1e+21", 0},
		{"small float", "cb3e7ad7f29abcaf48", "1e-7", 0},
		{"nan", "cb7ff8000000000000", "null", 0},
		{"negative zero", "cb8000000000000000", "0", 0},
		{"nil and bools", "93c0c3c2", "[null,true,false]", 0},
		{"str8", "d903616263", `"abc"`, 0},
		{"quotes", "a3612262", `"a\"b"`, 0},
		{"bin", "92a362696ec403010203", `["bin",{"_placeholder":true,"num":0}]`, 1},
		{"timestamp32", "d6ff00000001", `"1970-01-01T00:00:01.000Z"`, 0},
		{"timestamp64", "d7ff7735940000000001", `"1970-01-01T00:00:01.500Z"`, 0},
		{"timestamp96", "c70cff00000000ffffffffffffffff", `"1969-12-31T23:59:59.000Z"`, 0},
		{"undefined ext", "d40000", "null", 0},
		{"numeric key", "8101a178", `{"1":"x"}`, 0},
		{"map16", "de0001a16101", `{"a":1}`, 0},
		{"array32", "dd0000000101", `[1]`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, _ := hex.DecodeString(tt.hex)
			js, atts, err := MsgpackToJSON(raw)
			if err != nil {
				t.Fatal(err)
			}
			if tt.js != "" && string(js) != tt.js {
				t.Fatalf("got %s, want %s", js, tt.js)
			}
			if len(atts) != tt.atts {
				t.Fatalf("%d attachments, want %d", len(atts), tt.atts)
			}
		})
	}
	if _, _, err := MsgpackToJSON(mustHex("9305cd09c4f9d09cd1fc18")); err == nil {
		t.Error("trailing data: no error")
	}
}

func TestMsgpackToJSONInvalid(t *testing.T) {
	for _, h := range []string{"", "c1", "92", "a3616263ff", "dd7fffffff", "df7fffffff", "c4ff00", "81", "81c0c0c0", "d6ff0000", "c70aff00000000000000000000", "8192c0c0", "81c40101c0"} {
		if _, _, err := MsgpackToJSON(mustHex(h)); err == nil {
			t.Errorf("%s: no error", h)
		}
	}
	deep := bytes.Repeat([]byte{0x91}, maxDepth+2)
	if _, _, err := MsgpackToJSON(append(deep, 0xc0)); err == nil {
		t.Error("deep nesting: no error")
	}
}

// TestOrderAndNumbers checks, byte for byte, that key order and number
// forms survive both conversions: socket data and acknowledgements reach
// Go callers as the JSON text these conversions write.
func TestOrderAndNumbers(t *testing.T) {
	tests := []struct {
		name, js, hex string // hex: notepack.io 3.0.1's bytes, when checked
	}{
		{"socket data", `{"user":"alice","level":7,"big":9007199254740991,"f":1.5,"nested":{"z":1,"a":2}}`,
			"85a475736572a5616c696365a56c6576656c07a3626967cf001fffffffffffffa166cb3ff8000000000000a66e657374656482a17a01a16102"},
		{"integers beyond 2^53", `{"z":18446744073709551615,"y":-9223372036854775808,"x":9007199254740993,"w":-9007199254740993}`, ""},
		{"floats", `[0.1,-1.5e-7,1e+21,1.7976931348623157e+308,123456.789]`, ""},
		{"keys in reverse", `{"c":{"y":[{"b":null,"a":true}],"x":""},"b":[],"a":{}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mp, err := JSONToMsgpack(nil, []byte(tt.js), nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.hex != "" && hex.EncodeToString(mp) != tt.hex {
				t.Errorf("msgpack %x, want %s", mp, tt.hex)
			}
			js, _, err := MsgpackToJSON(mp)
			if err != nil || string(js) != tt.js {
				t.Errorf("got %s (%v), want %s", js, err, tt.js)
			}
		})
	}
}

func TestInlineBinary(t *testing.T) {
	atts := [][]byte{{1, 2, 3}, {4, 5}, {}}
	tests := []struct{ name, js, want string }{
		{"placeholders", `{"b":{"_placeholder":true,"num":1},"a":[{"_placeholder":true,"num":0}],"n":9007199254740993}`,
			`{"b":"BAU=","a":["AQID"],"n":9007199254740993}`},
		{"empty", `{"_placeholder":true,"num":2}`, `""`},
		{"none", `{"z":1.5,"a":"x"}`, `{"z":1.5,"a":"x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := InlineBinary([]byte(tt.js), atts)
			if err != nil || string(got) != tt.want {
				t.Errorf("got %s (%v), want %s", got, err, tt.want)
			}
		})
	}
	js := []byte(`{"_placeholder":true,"num":0, "b" : 1.0}`) // no attachments: kept as it is
	if got, err := InlineBinary(js, nil); err != nil || &got[0] != &js[0] || len(got) != len(js) {
		t.Errorf("without attachments: %s %v", got, err)
	}
}

func TestRoundTrip(t *testing.T) {
	values := []string{
		`["ev",1,-1,0,1.25,-0.5,1e+300,"é\u2028","",[],{},{"a":[1,{"b":null}]},true,false,null]`,
		`{"n":9007199254740993,"m":-9223372036854775808,"u":18446744073709551615}`,
		`["bin",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}}]`,
	}
	atts := [][]byte{{0, 1, 2}, bytes.Repeat([]byte{7}, 300)}
	for _, v := range values {
		mp, err := JSONToMsgpack(nil, []byte(v), atts)
		if err != nil {
			t.Fatal(err)
		}
		js, got, err := MsgpackToJSON(mp)
		if err != nil {
			t.Fatal(err)
		}
		if !sameJSON(t, js, []byte(v)) {
			t.Errorf("got %s, want %s", js, v)
		}
		if strings.Contains(v, "_placeholder") && (len(got) != 2 || !bytes.Equal(got[1], atts[1])) {
			t.Errorf("attachments %v", got)
		}
	}
	if v := math.Float64frombits(0x7fefffffffffffff); true {
		mp := AppendNumber(nil, v)
		js, _, _ := MsgpackToJSON(mp)
		if string(js) != "1.7976931348623157e+308" {
			t.Errorf("max float: %s", js)
		}
	}
}

func TestWriterRenumbers(t *testing.T) {
	var w Writer
	w.BeginArray()
	w.Raw([]byte(`[{"_placeholder":true,"num":0}]`), [][]byte{{1}})
	w.Raw([]byte(`{"a":{"_placeholder":true,"num":1},"b":{"_placeholder":true,"num":0}}`), [][]byte{{2}, {3}})
	w.EndArray()
	js, atts, err := w.JSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `[[{"_placeholder":true,"num":0}],{"a":{"_placeholder":true,"num":1},"b":{"_placeholder":true,"num":2}}]`
	if string(js) != want {
		t.Fatalf("got %s", js)
	}
	if len(atts) != 3 || atts[1][0] != 3 || atts[2][0] != 2 {
		t.Fatalf("attachments %v", atts)
	}
	sub, subAtts, err := Extract([]byte(`{"b":{"_placeholder":true,"num":2}}`), atts)
	if err != nil || string(sub) != `{"b":{"_placeholder":true,"num":0}}` || len(subAtts) != 1 || subAtts[0][0] != 2 {
		t.Fatalf("Extract: %s %v %v", sub, subAtts, err)
	}
}

// TestCaptures decodes every MessagePack payload captured from Node servers
// (WIRE.md's captures folder) and checks it against the decoded form in the
// log; payloads written by notepack.io must also come out byte for byte when
// this package encodes the decoded value again.
func TestCaptures(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(CapturesDir(t), "*.log"))
	checked := 0
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			i := strings.Index(line, " MSGPACK ")
			j := strings.LastIndex(line, " hex=")
			if i < 0 || j < 0 {
				continue
			}
			decoded, raw := line[i+len(" MSGPACK "):j], mustHex(line[j+len(" hex="):])
			js, atts, err := MsgpackToJSON(raw)
			if err != nil {
				t.Errorf("%s: %v\n%s", filepath.Base(file), err, line)
				continue
			}
			if !sameJSON(t, withBinMarkers(t, js, atts), []byte(decoded)) {
				t.Errorf("%s: decoded\n%s\nwant\n%s", filepath.Base(file), js, decoded)
			}
			hasDate := strings.Contains(decoded, "T00:00:00.000Z")
			notepack := !strings.HasPrefix(filepath.Base(file), "streams")
			if notepack && !hasDate {
				again, err := JSONToMsgpack(nil, js, atts)
				if err != nil || !bytes.Equal(again, raw) {
					t.Errorf("%s: re-encoded\n%x\nwant\n%x", filepath.Base(file), again, raw)
				}
			}
			checked++
		}
		f.Close()
	}
	if checked < 14 {
		t.Fatalf("only %d captured payloads checked", checked)
	}
}

// CapturesDir returns the folder of the captured Node traffic.
func CapturesDir(t testing.TB) string {
	for _, dir := range []string{os.Getenv("SOCKETIO_REDIS_CAPTURES"), "../../../shared/redis-adapter/captures", "/work/shared/redis-adapter/captures"} {
		if dir == "" {
			continue
		}
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			return dir
		}
	}
	t.Fatal("the captures of shared/redis-adapter/captures are missing (set SOCKETIO_REDIS_CAPTURES)")
	return ""
}

// withBinMarkers replaces placeholders by the log's {"<bin>": hex} form.
func withBinMarkers(t *testing.T, js []byte, atts [][]byte) []byte {
	var v any
	if err := json.Unmarshal(js, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			if x["_placeholder"] == true {
				return map[string]any{"<bin>": hex.EncodeToString(atts[int(x["num"].(float64))])}
			}
			for k, e := range x {
				x[k] = walk(e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		}
		return v
	}
	out, _ := json.Marshal(walk(v))
	return out
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	da := json.NewDecoder(bytes.NewReader(a))
	da.UseNumber()
	db := json.NewDecoder(bytes.NewReader(b))
	db.UseNumber()
	if err := da.Decode(&va); err != nil {
		t.Fatalf("%v: %s", err, a)
	}
	if err := db.Decode(&vb); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return reflect.DeepEqual(normNumbers(va), normNumbers(vb))
}

func normNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		if i, err := x.Int64(); err == nil {
			return float64(i)
		}
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normNumbers(e)
		}
	}
	return v
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
