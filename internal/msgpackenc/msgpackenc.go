// Package msgpackenc appends MessagePack values as npm notepack.io writes
// them (the encoder of socket.io-msgpack-parser and of the Redis adapters'
// messages): the smallest form of each integer, non-negative ones as
// unsigned, integral numbers as integers.
package msgpackenc

import (
	"encoding/binary"
	"math"
)

// AppendNumber appends f as notepack encodes a JavaScript number.
func AppendNumber(out []byte, f float64) []byte {
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		return AppendInt(out, int64(f))
	}
	out = append(out, 0xcb)
	return binary.BigEndian.AppendUint64(out, math.Float64bits(f))
}

// AppendInt appends v in its smallest MessagePack form.
func AppendInt(out []byte, v int64) []byte {
	if v >= 0 {
		return AppendUint(out, uint64(v))
	}
	switch {
	case v >= -32:
		return append(out, byte(v))
	case v >= math.MinInt8:
		return append(out, 0xd0, byte(v))
	case v >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(out, 0xd1), uint16(v))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(out, 0xd2), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(out, 0xd3), uint64(v))
}

// AppendUint appends v in its smallest MessagePack form.
func AppendUint(out []byte, v uint64) []byte {
	switch {
	case v < 0x80:
		return append(out, byte(v))
	case v <= math.MaxUint8:
		return append(out, 0xcc, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(out, 0xcd), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(out, 0xce), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(out, 0xcf), v)
}

// AppendString appends s as a MessagePack str.
func AppendString(out []byte, s string) []byte {
	out = AppendStrHeader(out, len(s))
	return append(out, s...)
}

// AppendStringBytes appends s as a MessagePack str.
func AppendStringBytes(out []byte, s []byte) []byte {
	out = AppendStrHeader(out, len(s))
	return append(out, s...)
}

// AppendStrHeader appends the header of a str of n bytes.
func AppendStrHeader(out []byte, n int) []byte {
	switch {
	case n < 32:
		return append(out, 0xa0|byte(n))
	case n <= math.MaxUint8:
		return append(out, 0xd9, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(out, 0xda), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(out, 0xdb), uint32(n))
}

// AppendBin appends b as a MessagePack bin.
func AppendBin(out, b []byte) []byte {
	n := len(b)
	switch {
	case n <= math.MaxUint8:
		out = append(out, 0xc4, byte(n))
	case n <= math.MaxUint16:
		out = binary.BigEndian.AppendUint16(append(out, 0xc5), uint16(n))
	default:
		out = binary.BigEndian.AppendUint32(append(out, 0xc6), uint32(n))
	}
	return append(out, b...)
}

// AppendArrayHeader appends the header of an array of n elements.
func AppendArrayHeader(out []byte, n int) []byte {
	switch {
	case n < 16:
		return append(out, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(out, 0xdc), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(out, 0xdd), uint32(n))
}

// AppendMapHeader appends the header of a map of n entries.
func AppendMapHeader(out []byte, n int) []byte {
	switch {
	case n < 16:
		return append(out, 0x80|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(out, 0xde), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(out, 0xdf), uint32(n))
}
