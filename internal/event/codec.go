package event

import (
	"bytes"
	"encoding"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"unicode/utf8"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/socketio-go/socketio/sioparser"
)

// Arguments are encoded with the semantics of encoding/json (field names,
// tags, omitempty, case-insensitive decoding), except that HTML characters
// are not escaped, as JSON.stringify does not escape them. The encoding/json/v2
// implementation is used because it lets []byte values anywhere in an
// argument become binary attachments.
var (
	plainOpts = json.JoinOptions(jsonv1.DefaultOptionsV1(), jsontext.EscapeForHTML(false))
	// numberOpts are for the types that hold a json.Number, found by
	// infoOf: marshalers cost every value a lookup, so the others go
	// without.
	numberOpts = json.JoinOptions(plainOpts, json.WithMarshalers(numberMarshaler), json.WithUnmarshalers(numberUnmarshaler))
)

// encoding/json's Number is a string type to encoding/json/v2, which would
// write it as a JSON string and refuse to decode a number into it: these
// give it its encoding/json meaning. (JoinOptions keeps only the last
// WithMarshalers, so the other marshalers are joined with these.)
var (
	numberMarshaler = json.MarshalToFunc(func(enc *jsontext.Encoder, n stdjson.Number) error {
		if n == "" {
			return enc.WriteValue(jsontext.Value("0")) // as encoding/json writes it
		}
		if _, err := strconv.ParseFloat(string(n), 64); err != nil || !jsontext.Value(n).IsValid() || jsontext.Value(n).Kind() != '0' {
			return fmt.Errorf("invalid json.Number %q", string(n))
		}
		return enc.WriteValue(jsontext.Value(n))
	})
	numberUnmarshaler = json.UnmarshalFromFunc(func(dec *jsontext.Decoder, n *stdjson.Number) error {
		v, err := dec.ReadValue()
		if err != nil {
			return err
		}
		switch v.Kind() {
		case '0':
			*n = stdjson.Number(v)
			return nil
		case 'n':
			return nil // null leaves the value alone, as encoding/json does
		case '"':
			// encoding/json takes a string that holds a number, too.
			var str string
			if err := json.Unmarshal(v, &str); err == nil && jsontext.Value(str).Kind() == '0' && jsontext.Value(str).IsValid() {
				*n = stdjson.Number(str)
				return nil
			}
		}
		return fmt.Errorf("cannot decode %s into json.Number", v.Kind())
	})
)

// encoder appends the JSON array of a packet's arguments.
type encoder struct {
	buf         bytes.Buffer
	attachments [][]byte
	binaryOpts  json.Options // plainOpts plus the []byte marshaler bound to this encoder
}

var encoderPool = sync.Pool{New: func() any {
	e := new(encoder)
	e.binaryOpts = json.JoinOptions(plainOpts, json.WithMarshalers(json.JoinMarshalers(numberMarshaler, json.MarshalToFunc(e.marshalBytes))))
	return e
}}

func getEncoder() *encoder {
	e := encoderPool.Get().(*encoder)
	e.buf.Reset()
	e.attachments = nil
	return e
}

func (e *encoder) release() {
	if e.buf.Cap() <= 64<<10 {
		e.attachments = nil
		encoderPool.Put(e)
	}
}

// marshalBytes writes a placeholder for a []byte and keeps the bytes as an
// attachment.
func (e *encoder) marshalBytes(enc *jsontext.Encoder, b []byte) error {
	if b == nil {
		return enc.WriteToken(jsontext.Null) // a nil slice is no data, as JavaScript's null
	}
	return enc.WriteValue(e.placeholder(b))
}

func (e *encoder) placeholder(b []byte) jsontext.Value {
	v := strconv.AppendInt([]byte(`{"_placeholder":true,"num":`), int64(len(e.attachments)), 10)
	e.attachments = append(e.attachments, b)
	return append(v, '}')
}

// encodeArray writes [head?, args...]. head, when not empty, is the event
// name.
func (e *encoder) encodeArray(event string, withEvent bool, args []any) error {
	e.buf.WriteByte('[')
	first := true
	if withEvent {
		b, err := jsontext.AppendQuote(e.buf.AvailableBuffer(), event)
		if err != nil {
			return fmt.Errorf("socketio: invalid event name: %w", err)
		}
		e.buf.Write(b)
		first = false
	}
	for _, a := range args {
		if !first {
			e.buf.WriteByte(',')
		}
		first = false
		if err := e.encodeValue(a); err != nil {
			return err
		}
	}
	e.buf.WriteByte(']')
	return nil
}

func (e *encoder) encodeValue(a any) error {
	switch v := a.(type) {
	case nil:
		e.buf.WriteString("null")
		return nil
	case string:
		b, err := jsontext.AppendQuote(e.buf.AvailableBuffer(), v)
		if err != nil {
			// Invalid UTF-8 is replaced, as encoding/json does.
			b, _ = jsontext.AppendQuote(e.buf.AvailableBuffer(), string([]rune(v)))
		}
		e.buf.Write(b)
		return nil
	case []byte:
		if v == nil {
			e.buf.WriteString("null")
		} else {
			e.buf.Write(e.placeholder(v))
		}
		return nil
	case bool:
		e.buf.Write(strconv.AppendBool(e.buf.AvailableBuffer(), v))
		return nil
	case int:
		e.buf.Write(strconv.AppendInt(e.buf.AvailableBuffer(), int64(v), 10))
		return nil
	case int64:
		e.buf.Write(strconv.AppendInt(e.buf.AvailableBuffer(), v, 10))
		return nil
	case stdjson.RawMessage:
		if !validRaw(v) {
			return errors.New("socketio: invalid json.RawMessage argument")
		}
		e.buf.Write(v)
		return nil
	}
	opts := plainOpts
	switch info := infoOf(reflect.TypeOf(a)); {
	case info.bytes:
		opts = e.binaryOpts // numbers included
	case info.number:
		opts = numberOpts
	}
	if err := json.MarshalWrite(&e.buf, a, opts); err != nil {
		return fmt.Errorf("socketio: cannot encode argument: %w", err)
	}
	return nil
}

// rawOpts validate raw JSON as JSON.parse reads it: duplicate names and
// escaped lone surrogates ("\ud800", which a JavaScript peer may send and
// expects back) are allowed.
var rawOpts = json.JoinOptions(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))

// validRaw reports whether raw is one JSON value a JavaScript peer can
// parse, in valid UTF-8 (a WebSocket text frame must be).
func validRaw(raw []byte) bool {
	return utf8.Valid(raw) && jsontext.Value(raw).IsValid(rawOpts)
}

// EncodeArgs returns the JSON array [event?, args...] and its attachments.
func EncodeArgs(event string, withEvent bool, args []any) ([]byte, [][]byte, error) {
	e := getEncoder()
	defer e.release()
	if err := e.encodeArray(event, withEvent, args); err != nil {
		return nil, nil, err
	}
	data := bytes.Clone(e.buf.Bytes())
	return data, e.attachments, nil
}

// typeCache remembers, per type, what its values may hold that needs more
// than the plain options.
var typeCache sync.Map // reflect.Type -> typeInfo

type typeInfo struct {
	bytes  bool // a []byte, which becomes a binary attachment (any interface may hold one)
	number bool // an encoding/json Number
}

var (
	bytesType     = reflect.TypeFor[[]byte]()
	numberType    = reflect.TypeFor[stdjson.Number]()
	marshalerType = reflect.TypeFor[stdjson.Marshaler]()
	textType      = reflect.TypeFor[encoding.TextMarshaler]()
)

// infoOf describes the values of type t.
func infoOf(t reflect.Type) typeInfo {
	if t == nil {
		return typeInfo{}
	}
	if v, ok := typeCache.Load(t); ok {
		return v.(typeInfo)
	}
	var info typeInfo
	walkType(t, make(map[reflect.Type]bool), &info)
	typeCache.Store(t, info)
	return info
}

// mayContainBytes reports whether values of type t can contain a []byte
// that would become a binary attachment.
func mayContainBytes(t reflect.Type) bool { return infoOf(t).bytes }

func walkType(t reflect.Type, visiting map[reflect.Type]bool, info *typeInfo) {
	switch t {
	case bytesType:
		info.bytes = true
		return
	case numberType:
		info.number = true
		return
	}
	if visiting[t] {
		return
	}
	visiting[t] = true
	if t.Kind() != reflect.Interface && (t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType) || t.Implements(textType)) {
		return
	}
	switch t.Kind() {
	case reflect.Interface:
		info.bytes = true // what it holds is only known when encoding
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		walkType(t.Elem(), visiting, info)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); f.IsExported() || f.Anonymous {
				walkType(f.Type, visiting, info)
			}
		}
	}
}

// decoder turns raw arguments into Go values, resolving placeholders.
type decoder struct {
	attachments [][]byte
}

func (d *decoder) options(target reflect.Type) json.Options {
	if len(d.attachments) == 0 {
		if infoOf(target).number {
			return numberOpts
		}
		return plainOpts
	}
	return json.JoinOptions(plainOpts, json.WithUnmarshalers(json.JoinUnmarshalers(
		numberUnmarshaler,
		json.UnmarshalFromFunc(d.unmarshalBytes),
		json.UnmarshalFromFunc(d.unmarshalAny),
	)))
}

func (d *decoder) attachment(raw []byte) ([]byte, bool) {
	n, ok := sioparser.PlaceholderIndex(raw)
	if !ok || n >= len(d.attachments) {
		return nil, false
	}
	return d.attachments[n], true
}

func (d *decoder) unmarshalBytes(dec *jsontext.Decoder, b *[]byte) error {
	if dec.PeekKind() != '{' {
		return errors.ErrUnsupported // a base64 string or null: default handling
	}
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	att, ok := d.attachment(v)
	if !ok {
		return errors.New("object is not a binary placeholder")
	}
	*b = att
	return nil
}

func (d *decoder) unmarshalAny(dec *jsontext.Decoder, a *any) error {
	if dec.PeekKind() != '{' {
		return errors.ErrUnsupported
	}
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	if att, ok := d.attachment(v); ok {
		*a = att
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(v, &m, dec.Options()); err != nil {
		return err
	}
	*a = m
	return nil
}

// decode decodes one raw argument into ptr.
func (d *decoder) decode(raw []byte, ptr any) error {
	if rm, ok := ptr.(*stdjson.RawMessage); ok {
		*rm = append((*rm)[:0], raw...)
		return nil
	}
	if bp, ok := ptr.(*[]byte); ok && len(d.attachments) > 0 {
		if att, ok := d.attachment(raw); ok {
			*bp = att
			return nil
		}
	}
	return json.Unmarshal(raw, ptr, d.options(reflect.TypeOf(ptr)))
}

// EncodePacket encodes args (after the event name when withEvent) as the
// payload of p and returns the whole Engine.IO message text in one buffer:
// headroom free bytes (for a WebSocket frame header), the Engine.IO message
// type '4', then p's text encoding. p.Data is set to the payload inside the
// buffer and p.Attachments to the binary attachments. The arguments are
// copied once.
func EncodePacket(p *sioparser.Packet, event string, withEvent bool, args []any, headroom int) ([]byte, error) {
	return EncodePacketTo(nil, p, event, withEvent, args, headroom)
}

// EncodePacketTo is EncodePacket building the message in dst's array
// when it is large enough (a pooled buffer, say).
func EncodePacketTo(dst []byte, p *sioparser.Packet, event string, withEvent bool, args []any, headroom int) ([]byte, error) {
	e := getEncoder()
	defer e.release()
	if err := e.encodeArray(event, withEvent, args); err != nil {
		return nil, err
	}
	p.Data, p.Attachments = e.buf.Bytes(), e.attachments
	need := headroom + 1 + p.TextLen()
	var buf []byte
	if cap(dst) >= need {
		buf = dst[:headroom]
	} else {
		buf = make([]byte, headroom, need)
	}
	buf = append(buf, '4')
	buf = p.AppendText(buf)
	p.Data = buf[len(buf)-e.buf.Len():]
	return buf, nil
}
