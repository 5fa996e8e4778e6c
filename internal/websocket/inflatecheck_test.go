package websocket

import (
	"errors"
	"testing"
)

// inflateCheck is a small RFC 1951 decoder written for the tests, apart
// from compress/flate: it decodes a raw DEFLATE stream (up to its final
// block) and reports the farthest back-reference it met, which tells
// whether a compressor kept to the window the peer asked for
// (server_max_window_bits, client_max_window_bits).
func inflateCheck(data []byte) (out []byte, maxDist int, err error) {
	br := &testBits{b: data}
	for {
		final := br.read(1)
		typ := br.read(2)
		switch typ {
		case 0:
			br.align()
			n := br.read(16)
			nn := br.read(16)
			if br.err != nil {
				return nil, 0, br.err
			}
			if n != ^nn&0xffff {
				return nil, 0, errors.New("stored block length mismatch")
			}
			for range n {
				out = append(out, byte(br.read(8)))
			}
		case 1:
			out, err = inflateBlock(br, out, &maxDist, &fixedLit, &fixedDist)
		case 2:
			var lit, dist testHuffman
			if err = readDynamic(br, &lit, &dist); err == nil {
				out, err = inflateBlock(br, out, &maxDist, &lit, &dist)
			}
		default:
			return nil, 0, errors.New("reserved block type")
		}
		if err == nil {
			err = br.err
		}
		if err != nil {
			return nil, 0, err
		}
		if final == 1 {
			return out, maxDist, nil
		}
	}
}

// testBits reads bits least significant first.
type testBits struct {
	b   []byte
	pos int
	bit uint
	err error
}

func (r *testBits) read(n int) int {
	v := 0
	for i := range n {
		if r.pos >= len(r.b) {
			r.err = errors.New("unexpected end of data")
			return 0
		}
		v |= int(r.b[r.pos]>>r.bit&1) << i
		if r.bit++; r.bit == 8 {
			r.bit, r.pos = 0, r.pos+1
		}
	}
	return v
}

func (r *testBits) align() {
	if r.bit != 0 {
		r.bit, r.pos = 0, r.pos+1
	}
}

// testHuffman is a canonical Huffman code: how many codes of each length,
// and the symbols in code order.
type testHuffman struct {
	count  [16]int
	symbol []int
}

func newTestHuffman(lengths []int) testHuffman {
	var h testHuffman
	for _, l := range lengths {
		h.count[l]++
	}
	h.count[0] = 0
	for l := 1; l < 16; l++ {
		for s, sl := range lengths {
			if sl == l {
				h.symbol = append(h.symbol, s)
			}
		}
	}
	return h
}

// decode reads one symbol bit by bit: codes of each length are
// consecutive numbers following those of the previous length.
func (h *testHuffman) decode(r *testBits) (int, error) {
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		code |= r.read(1)
		if r.err != nil {
			return 0, r.err
		}
		if c := h.count[l]; code-first < c {
			return h.symbol[index+code-first], nil
		} else {
			index += c
			first += c
		}
		first <<= 1
		code <<= 1
	}
	return 0, errors.New("invalid Huffman code")
}

var (
	lengthBase  = [...]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [...]int{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [...]int{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [...]int{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}

	fixedLit, fixedDist = func() (testHuffman, testHuffman) {
		l := make([]int, 288)
		for i := range l {
			switch {
			case i < 144:
				l[i] = 8
			case i < 256:
				l[i] = 9
			case i < 280:
				l[i] = 7
			default:
				l[i] = 8
			}
		}
		d := make([]int, 30)
		for i := range d {
			d[i] = 5
		}
		return newTestHuffman(l), newTestHuffman(d)
	}()
)

func inflateBlock(r *testBits, out []byte, maxDist *int, lit, dist *testHuffman) ([]byte, error) {
	for {
		sym, err := lit.decode(r)
		if err != nil {
			return nil, err
		}
		switch {
		case sym < 256:
			out = append(out, byte(sym))
			continue
		case sym == 256:
			return out, nil
		case sym > 285:
			return nil, errors.New("invalid length symbol")
		}
		sym -= 257
		n := lengthBase[sym] + r.read(lengthExtra[sym])
		ds, err := dist.decode(r)
		if err != nil {
			return nil, err
		}
		if ds >= 30 {
			return nil, errors.New("invalid distance symbol")
		}
		d := distBase[ds] + r.read(distExtra[ds])
		if d > len(out) {
			return nil, errors.New("distance before the start of the data")
		}
		*maxDist = max(*maxDist, d)
		for range n {
			out = append(out, out[len(out)-d])
		}
	}
}

func readDynamic(r *testBits, lit, dist *testHuffman) error {
	nlen := r.read(5) + 257
	ndist := r.read(5) + 1
	ncode := r.read(4) + 4
	order := [...]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
	cl := make([]int, 19)
	for i := range ncode {
		cl[order[i]] = r.read(3)
	}
	clh := newTestHuffman(cl)
	lengths := make([]int, 0, nlen+ndist)
	for len(lengths) < nlen+ndist {
		sym, err := clh.decode(r)
		if err != nil {
			return err
		}
		rep, val := 1, sym
		switch sym {
		case 16:
			if len(lengths) == 0 {
				return errors.New("repeat with no previous length")
			}
			val, rep = lengths[len(lengths)-1], 3+r.read(2)
		case 17:
			val, rep = 0, 3+r.read(3)
		case 18:
			val, rep = 0, 11+r.read(7)
		}
		for range rep {
			lengths = append(lengths, val)
		}
	}
	if len(lengths) > nlen+ndist {
		return errors.New("too many code lengths")
	}
	*lit = newTestHuffman(lengths[:nlen])
	*dist = newTestHuffman(lengths[nlen:])
	return r.err
}

// TestInflateCheck checks the test decoder itself against compress/flate.
func TestInflateCheck(t *testing.T) {
	for _, p := range [][]byte{nil, []byte("a"), repetitive(5000), randomBytes(3000, 1), jsonish(40000)} {
		body, ok := Compressor{level: 1, windowBits: 15}.appendBody(nil, p)
		if !ok {
			continue
		}
		got, _, err := inflateCheck(append(body, inflateTail...))
		if err != nil || string(got) != string(p) {
			t.Fatalf("len %d: %v (got %d bytes)", len(p), err, len(got))
		}
	}
}
