//go:build linux

package main

import (
	"bytes"
	"compress/flate"
	"io"
	"sync"
)

// permessage-deflate for the load tool (-deflate): messages are compressed
// without context takeover, each on its own, with pooled compressors.

var (
	inflaters sync.Pool // io.ReadCloser from flate.NewReader
	deflaters sync.Pool // *flate.Writer
)

// deflateTail ends a compressed message for the decompressor: the sync
// marker removed by the sender, then an empty final block.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// inflateHead inflates the start of a compressed message body into head
// and returns how many bytes it holds (fewer on invalid data: the tool
// only classifies messages by their first bytes).
func inflateHead(head, body []byte) int {
	src := io.MultiReader(bytes.NewReader(body), bytes.NewReader(deflateTail))
	fr, _ := inflaters.Get().(io.ReadCloser)
	if fr == nil {
		fr = flate.NewReader(src)
	} else {
		fr.(flate.Resetter).Reset(src, nil)
	}
	n, _ := io.ReadFull(fr, head)
	inflaters.Put(fr)
	return n
}

// deflateParts compresses the concatenation of parts into a message body.
func deflateParts(parts [][]byte) []byte {
	var b bytes.Buffer
	fw, _ := deflaters.Get().(*flate.Writer)
	if fw == nil {
		fw, _ = flate.NewWriter(&b, flate.BestSpeed)
	} else {
		fw.Reset(&b)
	}
	for _, p := range parts {
		fw.Write(p)
	}
	fw.Flush()
	deflaters.Put(fw)
	return bytes.TrimSuffix(b.Bytes(), deflateTail[:4])
}
