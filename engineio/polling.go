package engineio

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/socketio-go/socketio/eioparser"
)

// handlePolling serves a long-polling request of an existing session.
func (c *Conn) handlePolling(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		c.handlePoll(w, r)
	case http.MethodPost:
		c.handleData(w, r)
	default:
		w.WriteHeader(http.StatusInternalServerError)
	}
}

// handlePoll answers a GET with the queued packets, waiting for some if
// there are none.
func (c *Conn) handlePoll(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		writeJSONError(w, UnknownSID, UnknownSID.Message())
		return
	}
	if c.pollWake != nil {
		c.mu.Unlock()
		w.WriteHeader(http.StatusBadRequest)
		c.finalize(ReasonTransportError, ErrPollOverlap)
		return
	}
	wake := make(chan struct{}, 1)
	c.pollWake = wake
	// A GET that arrives while an upgrade is under way is answered after a
	// short grace period, so that the upgrade packets already on their way
	// are seen first, as the reference server's 100 ms noop check does. (A
	// client that upgrades has its GET waiting before it opens the
	// WebSocket, and that GET is answered at once.)
	arrivedUpgrading := c.upgrading
	var grace *time.Timer
	graceOver := false
	for {
		msgs, last, ok := c.takeForPollLocked(arrivedUpgrading, graceOver)
		if ok {
			c.pollWake = nil
			c.mu.Unlock()
			if grace != nil {
				grace.Stop()
			}
			if msgs == nil {
				writeJSONError(w, BadRequest, BadRequest.Message())
				return
			}
			c.writePoll(w, r, msgs)
			if last {
				c.finalize(ReasonForcedClose, nil)
			}
			return
		}
		if arrivedUpgrading && grace == nil {
			grace = time.AfterFunc(upgradeGrace, func() {
				c.mu.Lock()
				if c.pollWake == wake {
					graceOver = true
					c.wakePollLocked()
				}
				c.mu.Unlock()
			})
		}
		c.mu.Unlock()
		select {
		case <-wake:
		case <-r.Context().Done():
			c.mu.Lock()
			mine := c.pollWake == wake
			if mine {
				c.pollWake = nil
			}
			c.mu.Unlock()
			if grace != nil {
				grace.Stop()
			}
			if mine {
				c.finalize(ReasonTransportError, ErrPollClosed)
			}
			return
		}
		c.mu.Lock()
	}
}

// upgradeGrace is how long a GET arriving during an upgrade waits for it.
const upgradeGrace = 50 * time.Millisecond

// takeForPollLocked decides what a waiting GET answers: msgs (nil for an
// HTTP 400), and whether the session ends with this answer (a graceful
// close). ok is false while there is nothing to answer yet.
func (c *Conn) takeForPollLocked(arrivedUpgrading, graceOver bool) (msgs []*Message, last, ok bool) {
	switch {
	case c.state == stateClosed:
		if c.closeNoop {
			return []*Message{noopMessage}, false, true
		}
		return []*Message{closeMessage}, false, true
	case c.transport != kindPolling:
		if arrivedUpgrading {
			// Sent after the upgrade packet: the session is no longer
			// polling.
			return nil, false, true
		}
		// Waiting since before the upgrade: end it cleanly.
		return []*Message{noopMessage}, false, true
	case len(c.queue) > 0:
		// During a graceful close the close packet goes in a later answer,
		// as Node sends it: a client handles a close packet before the
		// packets that came with it (a DISCONNECT would lose its meaning).
		msgs = c.queue
		c.queue, c.queued = nil, 0
		return msgs, false, true
	case c.state == stateClosing:
		return []*Message{closeMessage}, true, true
	case c.probed && (!arrivedUpgrading || graceOver):
		// An upgrade is under way: end the GET so the client can pause
		// long-polling (Node's "fast upgrade" noop).
		return []*Message{noopMessage}, false, true
	}
	return nil, false, false
}

// Header values shared by every response (net/http does not modify them):
// setting them directly skips canonicalising names and allocating slices.
var (
	textPlainUTF8 = []string{"text/plain; charset=UTF-8"}
	textHTML      = []string{"text/html"}
	noStore       = []string{"no-store"}
	two           = []string{"2"}
)

var payloadPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writePoll writes packets as one long-polling payload.
func (c *Conn) writePoll(w http.ResponseWriter, r *http.Request, msgs []*Message) {
	n := len(msgs)
	for _, m := range msgs {
		n += eioparser.EncodedLen(m.packet())
	}
	buf := payloadPool.Get().(*bytes.Buffer)
	buf.Reset()
	buf.Grow(n)
	body := buf.AvailableBuffer()
	for i, m := range msgs {
		if i > 0 {
			body = append(body, eioparser.Separator)
		}
		body = eioparser.AppendPacket(body, m.packet())
	}

	h := w.Header()
	h["Content-Type"] = textPlainUTF8
	c.commonHeaders(h, r)
	comp := c.srv.opts.HTTPCompression
	if enc := acceptedEncoding(r); enc != "" && !comp.Disable && len(body) >= comp.Threshold {
		var out bytes.Buffer
		if compress(&out, enc, body) == nil {
			h.Set("Content-Encoding", enc)
			body = out.Bytes()
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	if buf.Cap() <= 64<<10 {
		payloadPool.Put(buf)
	}
}

// commonHeaders adds what Node's polling transport adds to every response.
func (c *Conn) commonHeaders(h http.Header, r *http.Request) {
	if ua := r.Header.Get("User-Agent"); strings.Contains(ua, ";MSIE") || strings.Contains(ua, "Trident/") {
		h.Set("X-XSS-Protection", "0")
	}
	h["Cache-Control"] = noStore
	if c.srv.opts.Headers != nil {
		c.srv.opts.Headers(h, r)
	}
}

// handleData reads a POST and delivers its packets.
func (c *Conn) handleData(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	switch {
	case c.state == stateClosed:
		c.mu.Unlock()
		writeJSONError(w, UnknownSID, UnknownSID.Message())
		return
	case c.posting:
		c.mu.Unlock()
		w.WriteHeader(http.StatusBadRequest)
		c.finalize(ReasonTransportError, ErrDataOverlap)
		return
	case r.Header.Get("Content-Type") == "application/octet-stream":
		c.mu.Unlock()
		w.WriteHeader(http.StatusBadRequest)
		c.finalize(ReasonTransportError, ErrInvalidContent)
		return
	}
	c.posting = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.posting = false
		c.mu.Unlock()
	}()

	max := c.srv.opts.MaxHTTPBufferSize
	if r.ContentLength > max {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		c.finalize(ReasonTransportError, ErrPollClosed)
		return
	}
	if int64(len(body)) > max {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	packets, perr := eioparser.DecodePayload(body)
	for _, p := range packets {
		if !c.handlePacket(p) {
			break
		}
	}
	if perr != nil {
		c.finalize(ReasonParseError, perr)
		writeJSONError(w, BadRequest, BadRequest.Message())
		return
	}
	h := w.Header()
	h["Content-Type"] = textHTML
	h["Content-Length"] = two
	c.commonHeaders(h, r)
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "ok")
}

// acceptedEncoding picks gzip or deflate from Accept-Encoding, preferring
// gzip as Node does, honouring q=0.
func acceptedEncoding(r *http.Request) string {
	ae := r.Header.Get("Accept-Encoding")
	if ae == "" {
		return ""
	}
	gz, df := false, false
	for _, part := range strings.Split(ae, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if q := strings.TrimSpace(params); strings.HasPrefix(q, "q=") {
			if v, err := strconv.ParseFloat(q[2:], 64); err == nil && v == 0 {
				continue
			}
		}
		switch name {
		case "gzip", "*":
			gz = true
		case "deflate":
			df = true
		}
	}
	switch {
	case gz:
		return "gzip"
	case df:
		return "deflate"
	}
	return ""
}

var (
	gzipPool = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}
	zlibPool = sync.Pool{New: func() any { return zlib.NewWriter(nil) }}
)

func compress(dst *bytes.Buffer, enc string, data []byte) error {
	switch enc {
	case "gzip":
		zw := gzipPool.Get().(*gzip.Writer)
		defer gzipPool.Put(zw)
		zw.Reset(dst)
		if _, err := zw.Write(data); err != nil {
			return err
		}
		return zw.Close()
	default:
		zw := zlibPool.Get().(*zlib.Writer)
		defer zlibPool.Put(zw)
		zw.Reset(dst)
		if _, err := zw.Write(data); err != nil {
			return err
		}
		return zw.Close()
	}
}
