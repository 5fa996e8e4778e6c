package websocket

import (
	"compress/flate"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// permessage-deflate (RFC 7692).
//
// Memory is the design's first concern: a Conn keeps no compressor and no
// decompressor between messages. Go's flate.Writer weighs about 1 MB and
// its reader about 40 KB, so both come from pools for the time one message
// is compressed or decompressed.
//
// What this side sends is always compressed without context takeover
// (the server answers server_no_context_takeover to every offer, which RFC
// 7692 allows even when the client did not ask; the client offers
// client_no_context_takeover). Each message is then compressed on its own,
// which keeps no window per connection and lets a broadcast be compressed
// once for every recipient that negotiated the same parameters (see
// Compressor). Context takeover would compress small similar messages
// better, but would need a compressor per connection kept between
// messages, and one compression per recipient of a broadcast; Node's ws
// pays that (one zlib stream per connection); we do not.
//
// What the peer sends may use context takeover only when DeflateOptions.
// ContextTakeover allows it: the Conn then keeps the last 2^MaxWindowBits
// bytes it received (the only state kept between messages); otherwise the
// peer is asked for no context takeover too.

// DeflateOptions configure permessage-deflate (RFC 7692) for Accept (the
// server side) or Dial (the client side).
type DeflateOptions struct {
	// Level is the compress/flate level of the messages this side sends:
	// flate.BestSpeed (1) to flate.BestCompression (9), flate.DefaultCompression
	// (-1) or flate.HuffmanOnly (-2). 0 means flate.BestSpeed. Levels above
	// 1 compress better but cost much more CPU: Go's flate clears 640 KB of
	// tables for each message at those levels.
	Level int
	// Threshold: WriteMessage sends data messages shorter than this many
	// bytes uncompressed. 0 compresses every message. (A message is also
	// sent uncompressed whenever compressing it would not make it shorter.)
	Threshold int
	// ContextTakeover lets the peer compress each message with the context
	// of the previous ones (the better ratio for many similar small
	// messages); the Conn then keeps up to 2^MaxWindowBits bytes of what it
	// received between messages. Off: the peer is asked to compress each
	// message on its own (client_no_context_takeover from a server,
	// server_no_context_takeover from a client) and nothing is kept.
	ContextTakeover bool
	// MaxWindowBits bounds, with ContextTakeover, the peer's LZ77 window
	// to 2^MaxWindowBits bytes (8 to 15; 0 means 15). A server asks it of
	// clients that offered client_max_window_bits and refuses context
	// takeover to those that did not; a client offers it as
	// server_max_window_bits.
	MaxWindowBits int
}

func (o *DeflateOptions) level() int {
	switch {
	case o.Level == 0:
		return flate.BestSpeed
	case o.Level < flate.HuffmanOnly || o.Level > flate.BestCompression:
		return flate.BestSpeed
	}
	return o.Level
}

func (o *DeflateOptions) maxWindowBits() uint8 {
	if o.MaxWindowBits >= 8 && o.MaxWindowBits < 15 {
		return uint8(o.MaxWindowBits)
	}
	return 15
}

// Compressor compresses the messages of connections that negotiated the
// same parameters. It is a comparable value: a message written to many
// connections (a broadcast) can be compressed once per distinct Compressor,
// the frame being the same for all of them, since no connection state
// takes part in it.
type Compressor struct {
	level      int8
	windowBits uint8 // 15: the whole 32 KB window; less: what the peer asked
}

// deflateState is what a Conn negotiated.
type deflateState struct {
	z         Compressor // what this side sends (immutable)
	threshold int        // immutable

	// Read side, owned by the reader.
	readTakeover bool   // the peer may refer to earlier messages
	readBits     uint8  // the peer's window, with readTakeover
	dict         []byte // with readTakeover: the last bytes received
}

// Compressor returns the Compressor of the messages c sends, and false
// when permessage-deflate was not negotiated.
func (c *Conn) Compressor() (Compressor, bool) {
	if c.dfl == nil {
		return Compressor{}, false
	}
	return c.dfl.z, true
}

// rsv1Bit marks a compressed message in its first frame.
const rsv1Bit = 0x40

// errNotSmaller stops a compression whose output would not be shorter
// than its input.
var errNotSmaller = errors.New("websocket: compressed message would not be smaller")

// limitSink collects compressed output up to max bytes.
type limitSink struct {
	b   []byte
	max int
}

func (s *limitSink) Write(p []byte) (int, error) {
	if len(s.b)+len(p) > s.max {
		return 0, errNotSmaller
	}
	s.b = append(s.b, p...)
	return len(p), nil
}

// deflater is a pooled flate writer with its output.
type deflater struct {
	fw   *flate.Writer
	sink limitSink
}

// deflaters pools deflaters by level (flate.HuffmanOnly = -2 to 9).
var deflaters [flate.BestCompression - flate.HuffmanOnly + 1]sync.Pool

// syncMarker ends the output of a flush; RFC 7692 (7.2.1) removes it from
// the message and the receiver adds it back.
var syncMarker = []byte{0x00, 0x00, 0xff, 0xff}

// appendBody appends to dst the permessage-deflate body of payload: the
// DEFLATE data without its final sync marker. It reports false, dst
// unchanged, when that would not be shorter than payload.
//
// With a window under 15 bits, the payload is compressed in pieces of
// 2^windowBits bytes, each by a reset compressor and ended by a flush:
// no back-reference then reaches farther than the window the peer can
// hold. (Go's flate has no smaller window of its own.)
func (z Compressor) appendBody(dst, payload []byte) ([]byte, bool) {
	if len(payload) == 0 {
		return dst, false // the empty message compresses to one byte
	}
	pool := &deflaters[int(z.level)-flate.HuffmanOnly]
	d, _ := pool.Get().(*deflater)
	if d == nil {
		d = &deflater{}
		d.fw, _ = flate.NewWriter(&d.sink, int(z.level))
	} else {
		d.fw.Reset(&d.sink)
	}
	// The output may hold the marker that is removed afterwards.
	d.sink = limitSink{b: dst, max: len(dst) + len(payload) - 1 + len(syncMarker)}
	piece := len(payload)
	if z.windowBits < 15 {
		piece = 1 << z.windowBits
	}
	ok := true
	for rest := payload; len(rest) > 0 && ok; {
		n := min(piece, len(rest))
		if len(rest) < len(payload) {
			d.fw.Reset(&d.sink)
		}
		_, err := d.fw.Write(rest[:n])
		if err == nil {
			err = d.fw.Flush()
		}
		ok = err == nil
		rest = rest[n:]
	}
	out := d.sink.b
	d.sink = limitSink{} // the pool keeps no output
	pool.Put(d)
	if !ok || len(out) < len(dst)+len(syncMarker) || string(out[len(out)-len(syncMarker):]) != string(syncMarker) {
		return dst, false
	}
	out = out[:len(out)-len(syncMarker)]
	if len(out)-len(dst) >= len(payload) {
		return dst, false
	}
	return out, true
}

// AppendFrame appends to dst a complete server frame (unmasked, FIN set)
// carrying payload compressed as a message of opcode op (OpText or
// OpBinary), and reports true; it reports false, dst unchanged, when
// compression would not make the message shorter, in which case the
// uncompressed frame should be sent.
func (z Compressor) AppendFrame(dst []byte, op Opcode, payload []byte) ([]byte, bool) {
	sp := getScratch()
	body, ok := z.appendBody((*sp)[:0], payload)
	if ok {
		dst = slices.Grow(dst, headerLen(len(body))+len(body))
		dst = appendHeader(dst, finBit|rsv1Bit|byte(op&opBits), len(body), false, [4]byte{})
		dst = append(dst, body...)
	}
	*sp = body
	putScratch(sp)
	return dst, ok
}

// scratch buffers receive compressed bodies.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, bufSize); return &b }}

func getScratch() *[]byte { return scratchPool.Get().(*[]byte) }

func putScratch(b *[]byte) {
	if cap(*b) <= 64<<10 {
		*b = (*b)[:0]
		scratchPool.Put(b)
	}
}

// ---------------------------------------------------------------------------
// Decompression

// inflateTail follows every compressed message: the sync marker RFC 7692
// removes from its end, then an empty final stored block, so that a
// well-formed message ends the DEFLATE stream cleanly (io.EOF) and a
// truncated one does not.
var inflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// inflateSrc is the input of a decompression: the message, then the tail.
// It is a flate.Reader (io.ByteReader), so that flate adds no buffer.
type inflateSrc struct {
	p, tail []byte
}

func (s *inflateSrc) Read(b []byte) (int, error) {
	if len(s.p) == 0 {
		s.p, s.tail = s.tail, nil
		if len(s.p) == 0 {
			return 0, io.EOF
		}
	}
	n := copy(b, s.p)
	s.p = s.p[n:]
	return n, nil
}

func (s *inflateSrc) ReadByte() (byte, error) {
	if len(s.p) == 0 {
		s.p, s.tail = s.tail, nil
		if len(s.p) == 0 {
			return 0, io.EOF
		}
	}
	b := s.p[0]
	s.p = s.p[1:]
	return b, nil
}

// inflater is a pooled flate reader with its input.
type inflater struct {
	fr  io.ReadCloser
	src inflateSrc
}

var inflaterPool sync.Pool

// errTooBig reports a message that inflates past the read limit.
var errTooBig = errors.New("websocket: inflated message over the read limit")

// inflate decompresses a complete message. With limit > 0 it never
// produces more than limit+1 bytes (plus what flate holds in its 32 KB
// window): a message that inflates past limit gives errTooBig. With
// takeover, dict holds the end of the previous messages; it is updated
// (to at most 2^bits bytes) when the message is good.
func inflate(in []byte, limit int64, d *deflateState) ([]byte, error) {
	inf, _ := inflaterPool.Get().(*inflater)
	if inf == nil {
		inf = &inflater{}
	}
	inf.src = inflateSrc{p: in, tail: inflateTail}
	var dict []byte
	if d.readTakeover {
		dict = d.dict
	}
	if inf.fr == nil {
		inf.fr = flate.NewReaderDict(&inf.src, dict)
	} else if err := inf.fr.(flate.Resetter).Reset(&inf.src, dict); err != nil {
		return nil, err
	}
	out, err := readInflated(inf.fr, len(in), limit)
	inf.src = inflateSrc{}
	inflaterPool.Put(inf)
	if err != nil {
		return nil, err
	}
	if d.readTakeover {
		d.remember(out)
	}
	return out, nil
}

// readInflated reads r to its end into a buffer that grows with the
// output, never past limit+1 bytes when limit > 0.
func readInflated(r io.Reader, inLen int, limit int64) ([]byte, error) {
	size := int64(max(2*inLen, 512))
	if limit > 0 {
		size = min(size, limit+1)
	}
	out := make([]byte, 0, size)
	for {
		if len(out) == cap(out) {
			if limit > 0 && int64(len(out)) > limit {
				return nil, errTooBig
			}
			next := int64(2 * cap(out))
			if limit > 0 {
				next = min(next, limit+1)
			}
			if next > int64(maxInt) {
				return nil, errTooBig
			}
			nb := make([]byte, len(out), next)
			copy(nb, out)
			out = nb
		}
		n, err := r.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if err == io.EOF {
			if limit > 0 && int64(len(out)) > limit {
				return nil, errTooBig
			}
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// remember keeps the last 2^readBits bytes of what was received, for the
// next message to refer to.
func (d *deflateState) remember(out []byte) {
	w := 1 << d.readBits
	if len(out) >= w {
		d.dict = append(d.dict[:0], out[len(out)-w:]...)
		return
	}
	if keep := w - len(out); len(d.dict) > keep {
		d.dict = d.dict[:copy(d.dict, d.dict[len(d.dict)-keep:])]
	}
	d.dict = append(d.dict, out...)
}

// compressedLimit bounds the compressed size of a message whose inflated
// size is bounded by limit: DEFLATE can expand data a little (fixed
// Huffman codes spend 9 bits on half the byte values).
func compressedLimit(limit int64) int64 {
	if limit <= 0 {
		return 0
	}
	if l := limit + limit/8 + 1024; l > limit {
		return l
	}
	return limit
}

// ---------------------------------------------------------------------------
// Negotiation

const deflateName = "permessage-deflate"

// extension is one element of a Sec-WebSocket-Extensions header.
type extension struct {
	name   string
	params []extParam
}

type extParam struct {
	name, value string
	hasValue    bool
}

// errExtSyntax reports a Sec-WebSocket-Extensions value that does not
// follow RFC 6455 (9.1).
var errExtSyntax = errors.New("malformed Sec-WebSocket-Extensions header")

// parseExtensions parses the values of Sec-WebSocket-Extensions header
// fields: a comma-separated list of `name *(";" param ["=" value])`, the
// value a token or a quoted string.
func parseExtensions(values []string) ([]extension, error) {
	var exts []extension
	for _, v := range values {
		p := extParser{s: v}
		for {
			p.space()
			if p.end() {
				break
			}
			if p.s[p.i] == ',' { // empty list elements are allowed
				p.i++
				continue
			}
			name, ok := p.token()
			if !ok {
				return nil, errExtSyntax
			}
			ext := extension{name: name}
			for {
				p.space()
				if p.end() || p.s[p.i] == ',' {
					break
				}
				if p.s[p.i] != ';' {
					return nil, errExtSyntax
				}
				p.i++
				p.space()
				pn, ok := p.token()
				if !ok {
					return nil, errExtSyntax
				}
				param := extParam{name: pn}
				p.space()
				if !p.end() && p.s[p.i] == '=' {
					p.i++
					p.space()
					if !p.end() && p.s[p.i] == '"' {
						param.value, ok = p.quoted()
					} else {
						param.value, ok = p.token()
					}
					if !ok {
						return nil, errExtSyntax
					}
					param.hasValue = true
				}
				ext.params = append(ext.params, param)
			}
			exts = append(exts, ext)
		}
	}
	return exts, nil
}

type extParser struct {
	s string
	i int
}

func (p *extParser) end() bool { return p.i >= len(p.s) }

func (p *extParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *extParser) token() (string, bool) {
	start := p.i
	for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i], p.i > start
}

// quoted reads a quoted-string and returns it unescaped.
func (p *extParser) quoted() (string, bool) {
	p.i++ // the opening quote
	var b strings.Builder
	for p.i < len(p.s) {
		ch := p.s[p.i]
		p.i++
		switch {
		case ch == '"':
			return b.String(), true
		case ch == '\\':
			if p.i >= len(p.s) {
				return "", false
			}
			b.WriteByte(p.s[p.i])
			p.i++
		case ch < ' ' && ch != '\t', ch == 0x7f:
			return "", false
		default:
			b.WriteByte(ch)
		}
	}
	return "", false
}

func isTokenChar(ch byte) bool {
	return ch > ' ' && ch < 0x7f && strings.IndexByte("\"(),/:;<=>?@[\\]{}", ch) < 0
}

// parseWindowBits parses a window size parameter value: a decimal number
// from 8 to 15 without leading zeros.
func parseWindowBits(s string) (uint8, bool) {
	if len(s) == 0 || len(s) > 2 || s[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 8 || n > 15 {
		return 0, false
	}
	return uint8(n), true
}

// deflateParams are the parameters of one offer or response.
type deflateParams struct {
	serverNoContext, clientNoContext bool
	serverBits                       uint8 // 0: absent
	clientBits                       uint8 // 0: absent or without value
	clientBitsPresent                bool
}

// parseDeflateParams validates the parameters of a permessage-deflate
// offer (response false) or response (true): known names, each at most
// once, with valid values (RFC 7692, section 7).
func parseDeflateParams(params []extParam, response bool) (deflateParams, bool) {
	var dp deflateParams
	var seen [4]bool
	for _, p := range params {
		var k int
		switch strings.ToLower(p.name) {
		case "server_no_context_takeover":
			k = 0
			dp.serverNoContext = true
		case "client_no_context_takeover":
			k = 1
			dp.clientNoContext = true
		case "server_max_window_bits":
			k = 2
			bits, ok := parseWindowBits(p.value)
			if !p.hasValue || !ok {
				return dp, false
			}
			dp.serverBits = bits
		case "client_max_window_bits":
			k = 3
			dp.clientBitsPresent = true
			if p.hasValue || response {
				bits, ok := parseWindowBits(p.value)
				if !p.hasValue || !ok {
					return dp, false
				}
				dp.clientBits = bits
			}
		default:
			return dp, false
		}
		if seen[k] || (k < 2 && p.hasValue) {
			return dp, false
		}
		seen[k] = true
	}
	return dp, true
}

// negotiateDeflate picks the first acceptable permessage-deflate offer of
// the request header values and returns the response's extension and the
// Conn's state, or "" and nil when every offer is declined (or the header
// is malformed: the extension is then not used, the connection goes on).
func negotiateDeflate(values []string, o *DeflateOptions) (string, *deflateState) {
	if len(values) == 0 {
		return "", nil
	}
	exts, err := parseExtensions(values)
	if err != nil {
		return "", nil
	}
	for _, ext := range exts {
		if !strings.EqualFold(ext.name, deflateName) {
			continue
		}
		offer, ok := parseDeflateParams(ext.params, false)
		if !ok {
			continue // RFC 7692 (5): decline the offer; try the next one
		}
		st := &deflateState{
			z:         Compressor{level: int8(o.level()), windowBits: 15},
			threshold: o.Threshold,
			readBits:  15,
		}
		// This side never keeps context (see the top of this file), so
		// server_no_context_takeover is always in the answer.
		resp := deflateName + "; server_no_context_takeover"
		if offer.serverBits != 0 {
			st.z.windowBits = offer.serverBits
			resp += "; server_max_window_bits=" + strconv.Itoa(int(offer.serverBits))
		}
		takeover := o.ContextTakeover && !offer.clientNoContext
		maxBits := o.maxWindowBits()
		if takeover && maxBits < 15 && !offer.clientBitsPresent {
			takeover = false // its window cannot be bounded: no context then
		}
		if takeover {
			bits := uint8(15)
			if offer.clientBits != 0 {
				bits = offer.clientBits // the client said it uses no more
			}
			if maxBits < bits {
				bits = maxBits
				resp += "; client_max_window_bits=" + strconv.Itoa(int(bits))
			}
			st.readTakeover, st.readBits = true, bits
		} else {
			resp += "; client_no_context_takeover"
			st = shared(st)
		}
		return resp, st
	}
	return "", nil
}

// sharedStates holds the states without context takeover, which nothing
// modifies: connections with the same parameters share one.
var sharedStates sync.Map // sharedKey -> *deflateState

type sharedKey struct {
	z         Compressor
	threshold int
	readBits  uint8
}

func shared(st *deflateState) *deflateState {
	if st.readTakeover {
		return st
	}
	v, _ := sharedStates.LoadOrStore(sharedKey{st.z, st.threshold, st.readBits}, st)
	return v.(*deflateState)
}

// deflateOffer is the client's offer for o.
func deflateOffer(o *DeflateOptions) string {
	offer := deflateName + "; client_no_context_takeover; client_max_window_bits"
	if !o.ContextTakeover {
		offer += "; server_no_context_takeover"
	} else if bits := o.maxWindowBits(); bits < 15 {
		offer += "; server_max_window_bits=" + strconv.Itoa(int(bits))
	}
	return offer
}

// acceptDeflateResponse validates the server's Sec-WebSocket-Extensions
// against the offer made with o (RFC 7692, sections 5 and 7) and returns
// the Conn's state (nil when the server declined), or why the response is
// invalid.
func acceptDeflateResponse(values []string, o *DeflateOptions) (*deflateState, string) {
	exts, err := parseExtensions(values)
	if err != nil {
		return nil, err.Error()
	}
	switch {
	case len(exts) == 0:
		return nil, ""
	case o == nil:
		return nil, "server selected an extension that was not offered"
	case len(exts) > 1:
		return nil, "server selected more than one extension"
	case !strings.EqualFold(exts[0].name, deflateName):
		return nil, "server selected an extension that was not offered: " + exts[0].name
	}
	resp, ok := parseDeflateParams(exts[0].params, true)
	if !ok {
		return nil, "invalid permessage-deflate response parameters"
	}
	maxBits := o.maxWindowBits()
	switch {
	case !o.ContextTakeover && !resp.serverNoContext:
		return nil, "permessage-deflate response without the server_no_context_takeover that was offered"
	case o.ContextTakeover && maxBits < 15 && (resp.serverBits == 0 || resp.serverBits > maxBits):
		return nil, "permessage-deflate response without a server_max_window_bits within the offered one"
	}
	st := &deflateState{
		z:            Compressor{level: int8(o.level()), windowBits: 15},
		threshold:    o.Threshold,
		readTakeover: !resp.serverNoContext,
		readBits:     15,
	}
	if resp.clientBits != 0 {
		st.z.windowBits = resp.clientBits
	}
	if resp.serverBits != 0 {
		st.readBits = resp.serverBits
	}
	return shared(st), ""
}
