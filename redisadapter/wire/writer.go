package wire

import (
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// Writer builds one message as JSON text with placeholders and the
// attachments they index. Keys are written in call order, which is the
// order Node builds its objects in (notepack keeps it).
//
//	var w wire.Writer
//	w.BeginObject()
//	w.Key("uid"); w.String(uid)
//	w.Key("data"); w.Raw(args, attachments)
//	w.EndObject()
//	payload, err := w.Encode(w.HasBinary())
type Writer struct {
	buf       []byte
	atts      [][]byte
	needComma bool
	err       error
}

// Reset empties the writer for a new message.
func (w *Writer) Reset() {
	w.buf, w.atts, w.needComma, w.err = w.buf[:0], nil, false, nil
}

func (w *Writer) value() {
	if w.needComma {
		w.buf = append(w.buf, ',')
	}
	w.needComma = true
}

// BeginObject opens an object.
func (w *Writer) BeginObject() {
	w.value()
	w.buf = append(w.buf, '{')
	w.needComma = false
}

// EndObject closes an object.
func (w *Writer) EndObject() {
	w.buf = append(w.buf, '}')
	w.needComma = true
}

// BeginArray opens an array.
func (w *Writer) BeginArray() {
	w.value()
	w.buf = append(w.buf, '[')
	w.needComma = false
}

// EndArray closes an array.
func (w *Writer) EndArray() {
	w.buf = append(w.buf, ']')
	w.needComma = true
}

// Key writes an object key; the next call writes its value.
func (w *Writer) Key(k string) {
	w.value()
	w.buf, _ = jsontext.AppendQuote(w.buf, k)
	w.buf = append(w.buf, ':')
	w.needComma = false
}

// String writes a string.
func (w *Writer) String(s string) {
	w.value()
	w.buf, _ = jsontext.AppendQuote(w.buf, s)
}

// Int writes an integer.
func (w *Writer) Int(v int64) {
	w.value()
	w.buf = strconv.AppendInt(w.buf, v, 10)
}

// Bool writes a boolean.
func (w *Writer) Bool(v bool) {
	w.value()
	w.buf = strconv.AppendBool(w.buf, v)
}

// Null writes null.
func (w *Writer) Null() {
	w.value()
	w.buf = append(w.buf, "null"...)
}

// Strings writes an array of strings (an empty array for nil).
func (w *Writer) Strings(ss []string) {
	w.BeginArray()
	for _, s := range ss {
		w.String(s)
	}
	w.EndArray()
}

// Raw writes a JSON value whose placeholders index attachments; they are
// renumbered to follow the attachments already in the message.
func (w *Writer) Raw(js []byte, attachments [][]byte) {
	w.value()
	if len(js) == 0 {
		w.buf = append(w.buf, "null"...)
		return
	}
	if len(attachments) == 0 || len(w.atts) == 0 {
		w.buf = append(w.buf, js...)
		w.atts = append(w.atts, attachments...)
		return
	}
	mp, err := JSONToMsgpack(nil, js, attachments)
	if err != nil {
		w.fail(err)
		return
	}
	d := mpDecoder{src: mp, atts: w.atts}
	out, err := d.value(w.buf, 0)
	if err != nil {
		w.fail(err)
		return
	}
	w.buf, w.atts = out, d.atts
}

func (w *Writer) fail(err error) {
	if w.err == nil {
		w.err = err
	}
	w.buf = append(w.buf, "null"...)
}

// HasBinary reports whether the message holds binary values.
func (w *Writer) HasBinary() bool { return len(w.atts) > 0 }

// JSON returns the message as JSON text and its attachments.
func (w *Writer) JSON() ([]byte, [][]byte, error) { return w.buf, w.atts, w.err }

// Encode returns the message as MessagePack (placeholders become bin
// values) or, when msgpack is false, as JSON text (which must then have no
// binary value).
func (w *Writer) Encode(msgpack bool) ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	if !msgpack {
		return w.buf, nil
	}
	return JSONToMsgpack(make([]byte, 0, len(w.buf)), w.buf, w.atts)
}
