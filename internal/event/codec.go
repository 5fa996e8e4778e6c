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
)

// encoder appends the JSON array of a packet's arguments.
type encoder struct {
	buf         bytes.Buffer
	attachments [][]byte
	binaryOpts  json.Options // plainOpts plus the []byte marshaler bound to this encoder
}

var encoderPool = sync.Pool{New: func() any {
	e := new(encoder)
	e.binaryOpts = json.JoinOptions(plainOpts, json.WithMarshalers(json.MarshalToFunc(e.marshalBytes)))
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
		if !jsontext.Value(v).IsValid() {
			return errors.New("socketio: invalid json.RawMessage argument")
		}
		e.buf.Write(v)
		return nil
	}
	opts := plainOpts
	if mayContainBytes(reflect.TypeOf(a)) {
		opts = e.binaryOpts
	}
	if err := json.MarshalWrite(&e.buf, a, opts); err != nil {
		return fmt.Errorf("socketio: cannot encode argument: %w", err)
	}
	return nil
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

// bytesCache remembers, per type, whether a value can hold a []byte.
var bytesCache sync.Map // reflect.Type -> bool

var (
	bytesType     = reflect.TypeFor[[]byte]()
	marshalerType = reflect.TypeFor[stdjson.Marshaler]()
	textType      = reflect.TypeFor[encoding.TextMarshaler]()
)

// mayContainBytes reports whether values of type t can contain a []byte
// that would become a binary attachment.
func mayContainBytes(t reflect.Type) bool {
	if t == nil {
		return false
	}
	if v, ok := bytesCache.Load(t); ok {
		return v.(bool)
	}
	r := typeMayContainBytes(t, make(map[reflect.Type]bool))
	bytesCache.Store(t, r)
	return r
}

func typeMayContainBytes(t reflect.Type, visiting map[reflect.Type]bool) bool {
	if t == bytesType {
		return true
	}
	if visiting[t] {
		return false
	}
	visiting[t] = true
	if t.Kind() != reflect.Interface && (t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType) || t.Implements(textType)) {
		return false
	}
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return typeMayContainBytes(t.Elem(), visiting)
	case reflect.Map:
		return typeMayContainBytes(t.Elem(), visiting)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if (f.IsExported() || f.Anonymous) && typeMayContainBytes(f.Type, visiting) {
				return true
			}
		}
	}
	return false
}

// decoder turns raw arguments into Go values, resolving placeholders.
type decoder struct {
	attachments [][]byte
}

func (d *decoder) options() json.Options {
	if len(d.attachments) == 0 {
		return plainOpts
	}
	return json.JoinOptions(plainOpts, json.WithUnmarshalers(json.JoinUnmarshalers(
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
	return json.Unmarshal(raw, ptr, d.options())
}

// EncodePacket encodes args (after the event name when withEvent) as the
// payload of p and returns the whole Engine.IO message text in one buffer:
// headroom free bytes (for a WebSocket frame header), the Engine.IO message
// type '4', then p's text encoding. p.Data is set to the payload inside the
// buffer and p.Attachments to the binary attachments. The arguments are
// copied once.
func EncodePacket(p *sioparser.Packet, event string, withEvent bool, args []any, headroom int) ([]byte, error) {
	e := getEncoder()
	defer e.release()
	if err := e.encodeArray(event, withEvent, args); err != nil {
		return nil, err
	}
	p.Data, p.Attachments = e.buf.Bytes(), e.attachments
	buf := make([]byte, headroom, headroom+1+p.TextLen())
	buf = append(buf, '4')
	buf = p.AppendText(buf)
	p.Data = buf[len(buf)-e.buf.Len():]
	return buf, nil
}
