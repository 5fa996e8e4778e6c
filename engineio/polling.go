package engineio

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
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
			err := c.writePoll(w, r, msgs)
			switch {
			case err != nil:
				// The client does not read (WriteTimeout) or went away:
				// what this answer held is lost.
				c.finalize(ReasonTransportError, err)
			case last:
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
	nosniff       = []string{"nosniff"} // browsers must not take a payload for HTML or script
	two           = []string{"2"}
)

var payloadPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writePoll writes packets as one long-polling payload. An error means the
// packets may not have reached the client.
func (c *Conn) writePoll(w http.ResponseWriter, r *http.Request, msgs []*Message) error {
	n := len(msgs)
	for _, m := range msgs {
		n += eioparser.EncodedLen(m.packet())
	}
	buf := payloadPool.Get().(*bytes.Buffer)
	buf.Reset()
	buf.Grow(n)
	body := buf.AvailableBuffer()
	contentType := textPlainUTF8
	if c.proto3 {
		c.mu.Lock()
		flags := c.v3flags
		c.mu.Unlock()
		body, contentType = c.appendPollV3(body, msgs, flags)
	} else {
		for i, m := range msgs {
			if i > 0 {
				body = append(body, eioparser.Separator)
			}
			body = eioparser.AppendPacket(body, m.packet())
		}
	}

	h := w.Header()
	h["Content-Type"] = contentType
	h["X-Content-Type-Options"] = nosniff
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
	c.setWriteDeadline(http.NewResponseController(w))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(body)
	if buf.Cap() <= 64<<10 {
		payloadPool.Put(buf)
	}
	if o := c.srv.obs.Load(); o != nil && err == nil {
		o.sent(msgs)
	}
	return err
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
	case c.post != nil:
		c.mu.Unlock()
		w.WriteHeader(http.StatusBadRequest)
		c.finalize(ReasonTransportError, ErrDataOverlap)
		return
	case r.Header.Get("Content-Type") == "application/octet-stream" && !c.proto3:
		c.mu.Unlock()
		w.WriteHeader(http.StatusBadRequest)
		c.finalize(ReasonTransportError, ErrInvalidContent)
		return
	}
	rc := http.NewResponseController(w)
	c.post = rc // finalize aborts the read through it
	c.mu.Unlock()
	body, err := c.readPost(r, rc)
	c.mu.Lock()
	c.post = nil
	c.mu.Unlock()

	switch {
	case errors.Is(err, errTooLarge):
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		// The client went away, was too slow, or the session ended.
		c.finalize(ReasonTransportError, fmt.Errorf("%w: %w", ErrPollClosed, err))
		writeJSONError(w, UnknownSID, UnknownSID.Message())
		return
	}
	if c.proto3 {
		c.handleDataV3(body, r.Header.Get("Content-Type") == "application/octet-stream")
	} else {
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
	}
	h := w.Header()
	h["Content-Type"] = textHTML
	h["X-Content-Type-Options"] = nosniff
	h["Content-Length"] = two
	c.commonHeaders(h, r)
	c.setWriteDeadline(rc)
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "ok")
}

var errTooLarge = errors.New("engineio: payload too large")

// readPost reads a POST body of at most MaxHTTPBufferSize bytes.
func (c *Conn) readPost(r *http.Request, rc *http.ResponseController) ([]byte, error) {
	max := c.srv.opts.MaxHTTPBufferSize
	if r.ContentLength > max {
		return nil, errTooLarge
	}
	// No other POST, and so no pong, can arrive while this one is read:
	// PingInterval + PingTimeout after it began, its session has expired
	// anyway, and finalize then cuts the read short. The deadline is the
	// backstop for when that does not happen; one more PingTimeout lets
	// the heartbeat, which reports the right reason, normally end it
	// first. A ResponseWriter without deadlines (http.ErrNotSupported)
	// leaves the read to the client and the http.Server's ReadTimeout.
	o := &c.srv.opts
	_ = rc.SetReadDeadline(time.Now().Add(o.PingInterval + 2*o.PingTimeout))
	if n := r.ContentLength; n > 0 {
		// The size is known (and checked above): one allocation of it,
		// rather than io.ReadAll's growing buffer. The body reader stops
		// at Content-Length.
		body := make([]byte, n)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, err
		}
		return body, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > max {
		return nil, errTooLarge
	}
	return body, nil
}

// setWriteDeadline bounds the writing of a response by WriteTimeout, so
// that a client that does not read cannot hold its handler. net/http
// clears the deadline once the response is out (after the handler's
// final flush); without deadline support there is no bound, as before.
func (c *Conn) setWriteDeadline(rc *http.ResponseController) {
	_ = rc.SetWriteDeadline(time.Now().Add(c.srv.opts.WriteTimeout))
}

// aLongTimeAgo is a deadline in the past: it fails pending I/O at once.
var aLongTimeAgo = time.Unix(1, 0)

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
