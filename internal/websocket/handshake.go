package websocket

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"
)

// acceptGUID is the fixed GUID of RFC 6455, section 1.3.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// computeAcceptKey returns the Sec-WebSocket-Accept value for the
// Sec-WebSocket-Key key.
func computeAcceptKey(key string) string {
	sum := sha1.Sum([]byte(key + acceptGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// HandshakeError describes a failed opening handshake.
//
// On the server side (Accept), Status is the HTTP status the caller should
// answer with (400, 405, 426 or 500) and Message explains why; nothing has
// been written to the client. With Status 426 the caller should add the
// header "Sec-WebSocket-Version: 13".
//
// On the client side (Dial), Status is the status of the server's response
// and, for a non-101 response, Message is (up to 1 KiB of) its body. For a
// 101 response that fails validation, Message explains why.
type HandshakeError struct {
	Status  int
	Message string
}

// Error implements the error interface.
func (e *HandshakeError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("websocket: handshake failed with status %d", e.Status)
	}
	return fmt.Sprintf("websocket: handshake failed with status %d: %s", e.Status, e.Message)
}

// headerHasToken reports whether one of the comma-separated values of the
// header field name in h is token, compared case-insensitively.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h[name] {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.Trim(t, " \t"), token) {
				return true
			}
		}
	}
	return false
}

// IsUpgradeRequest reports whether r asks for a WebSocket upgrade: a GET
// request whose Connection header contains the token "upgrade" and whose
// Upgrade header contains the token "websocket" (both case-insensitive).
func IsUpgradeRequest(r *http.Request) bool {
	return r.Method == http.MethodGet &&
		headerHasToken(r.Header, "Connection", "upgrade") &&
		headerHasToken(r.Header, "Upgrade", "websocket")
}

// Accept completes the server side of the opening handshake.
//
// It validates the request (GET, HTTP/1.1 or later, Upgrade: websocket,
// Connection: upgrade, Sec-WebSocket-Version 13, a Sec-WebSocket-Key that
// decodes to 16 bytes). If validation fails it returns a *HandshakeError
// and writes nothing, so the caller decides how to answer (see
// HandshakeError). Otherwise it hijacks the connection and writes the
// "101 Switching Protocols" response with the headers in respHeader (may be
// nil) added. Extensions and subprotocols offered by the client are
// declined. Bytes the client already sent after its request are kept for
// the Conn. The hijacked buffers are not retained.
func Accept(w http.ResponseWriter, r *http.Request, respHeader http.Header) (*Conn, error) {
	return AcceptWith(w, r, &AcceptOptions{Header: respHeader})
}

// AcceptWithFrames is Accept that also sends frames (built with
// AppendFrameHeader or FrameInPlace) right after the handshake response,
// in the same write.
func AcceptWithFrames(w http.ResponseWriter, r *http.Request, respHeader http.Header, frames [][]byte) (*Conn, error) {
	return AcceptWith(w, r, &AcceptOptions{Header: respHeader, Frames: frames})
}

// AcceptOptions are the settings of AcceptWith.
type AcceptOptions struct {
	// Header holds header fields added to the response (may be nil).
	Header http.Header
	// Frames are written right after the handshake response, in the same
	// write (built with AppendFrameHeader or FrameInPlace).
	Frames [][]byte
	// Deflate, when set, accepts the first acceptable permessage-deflate
	// offer of the client (RFC 7692), which then applies to every message
	// after Frames. Nil declines every extension.
	Deflate *DeflateOptions
}

// AcceptWith is Accept with options.
func AcceptWith(w http.ResponseWriter, r *http.Request, opts *AcceptOptions) (*Conn, error) {
	respHeader, frames := opts.Header, opts.Frames
	if r.Method != http.MethodGet {
		return nil, &HandshakeError{Status: http.StatusMethodNotAllowed, Message: "websocket: request method must be GET"}
	}
	if !r.ProtoAtLeast(1, 1) {
		return nil, &HandshakeError{Status: http.StatusBadRequest, Message: "websocket: HTTP/1.1 or later required"}
	}
	if !headerHasToken(r.Header, "Connection", "upgrade") {
		return nil, &HandshakeError{Status: http.StatusBadRequest, Message: "websocket: Connection header must contain \"upgrade\""}
	}
	if !headerHasToken(r.Header, "Upgrade", "websocket") {
		return nil, &HandshakeError{Status: http.StatusBadRequest, Message: "websocket: Upgrade header must contain \"websocket\""}
	}
	if strings.TrimSpace(r.Header.Get("Sec-WebSocket-Version")) != "13" {
		return nil, &HandshakeError{Status: http.StatusUpgradeRequired, Message: "websocket: unsupported Sec-WebSocket-Version (want 13)"}
	}
	key := strings.TrimSpace(r.Header.Get("Sec-WebSocket-Key"))
	if key == "" {
		return nil, &HandshakeError{Status: http.StatusBadRequest, Message: "websocket: missing Sec-WebSocket-Key"}
	}
	if k, err := base64.StdEncoding.DecodeString(key); err != nil || len(k) != 16 {
		return nil, &HandshakeError{Status: http.StatusBadRequest, Message: "websocket: invalid Sec-WebSocket-Key"}
	}

	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, &HandshakeError{Status: http.StatusInternalServerError, Message: "websocket: cannot hijack connection: " + err.Error()}
	}
	// The http.Server's ReadTimeout and WriteTimeout deadlines stay on a
	// hijacked connection: they are for requests, not for a WebSocket
	// that lives for hours.
	if err := nc.SetDeadline(time.Time{}); err != nil {
		nc.Close()
		return nil, fmt.Errorf("websocket: clearing deadlines: %w", err)
	}
	var leftover []byte
	if brw != nil && brw.Reader != nil { // a wrapping Hijacker may give none
		if n := brw.Reader.Buffered(); n > 0 {
			leftover, _ = brw.Reader.Peek(n)
		}
	}
	var ext string
	var dfl *deflateState
	if opts.Deflate != nil {
		ext, dfl = negotiateDeflate(r.Header["Sec-Websocket-Extensions"], opts.Deflate)
	}

	n := 256
	for _, f := range frames {
		n += len(f)
	}
	// The response is built in net/http's write buffer, which a hijacked
	// connection hands over empty and nothing else uses: one allocation
	// fewer per upgrade.
	var resp []byte
	if brw != nil && brw.Writer != nil {
		resp = brw.Writer.AvailableBuffer()
	}
	if cap(resp) < n {
		resp = make([]byte, 0, n)
	}
	resp = append(resp, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	resp = append(resp, computeAcceptKey(key)...)
	resp = append(resp, "\r\n"...)
	if ext != "" {
		resp = append(resp, "Sec-WebSocket-Extensions: "...)
		resp = append(resp, ext...)
		resp = append(resp, "\r\n"...)
	}
	resp = appendHeaderFields(resp, respHeader, serverReserved)
	resp = append(resp, "\r\n"...)
	for _, f := range frames {
		resp = append(resp, f...)
	}
	if _, err := nc.Write(resp); err != nil {
		nc.Close()
		return nil, fmt.Errorf("websocket: writing handshake response: %w", err)
	}
	c := newConn(nc, false, leftover)
	c.dfl = dfl
	return c, nil
}

// Header fields the handshake code writes itself; caller-supplied values
// for them are dropped.
var (
	serverReserved = map[string]bool{
		"Upgrade": true, "Connection": true, "Sec-Websocket-Accept": true,
		"Sec-Websocket-Extensions": true, "Content-Length": true, "Transfer-Encoding": true,
	}
	clientReserved = map[string]bool{
		"Host": true, "Upgrade": true, "Connection": true, "Sec-Websocket-Key": true,
		"Sec-Websocket-Version": true, "Sec-Websocket-Extensions": true,
		"Content-Length": true, "Transfer-Encoding": true,
	}
)

// appendHeaderFields appends the fields of h as "Key: value\r\n" lines,
// skipping reserved and malformed names and replacing CR and LF in values.
func appendHeaderFields(dst []byte, h http.Header, reserved map[string]bool) []byte {
	for k, vs := range h {
		if !validFieldName(k) || reserved[textproto.CanonicalMIMEHeaderKey(k)] {
			continue
		}
		for _, v := range vs {
			dst = append(dst, k...)
			dst = append(dst, ": "...)
			for i := 0; i < len(v); i++ {
				ch := v[i]
				if ch == '\r' || ch == '\n' {
					ch = ' '
				}
				dst = append(dst, ch)
			}
			dst = append(dst, "\r\n"...)
		}
	}
	return dst
}

// validFieldName reports whether k is a usable header field name (an HTTP
// token).
func validFieldName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		ch := k[i]
		if ch <= ' ' || ch >= 0x7F || strings.IndexByte("\"(),/:;<=>?@[\\]{}", ch) >= 0 {
			return false
		}
	}
	return true
}

// DialOptions holds the optional settings of Dial.
type DialOptions struct {
	// Header holds extra header fields for the handshake request (e.g.
	// Cookie, Origin, Authorization). A "Host" entry overrides the host
	// sent. Fields the handshake sets itself are ignored.
	Header http.Header

	// TLSConfig is used for wss:// URLs; nil means the default
	// configuration. ServerName defaults to the URL's host name; NextProtos
	// is replaced by "http/1.1".
	TLSConfig *tls.Config

	// NetDial opens the TCP connection; nil means a net.Dialer.
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)

	// Deflate, when set, offers permessage-deflate (RFC 7692); the
	// server may decline it. Dial fails when the server's answer is not a
	// valid answer to the offer.
	Deflate *DeflateOptions
}

// Dial opens a client WebSocket connection to rawURL (ws:// or wss://;
// http:// and https:// are accepted as synonyms). It sends the handshake
// request with a random 16-byte key and opts.Header, and verifies the
// "101 Switching Protocols" response and its Sec-WebSocket-Accept. ctx
// bounds the connection setup (TCP, TLS and handshake) through its deadline
// and cancellation; it does not affect the returned Conn.
//
// The *http.Response is returned whenever one was received. On a non-101
// response the error is a *HandshakeError with the response status and up to
// 1 KiB of its body (which is also readable from the returned response's
// Body); the connection is closed.
func Dial(ctx context.Context, rawURL string, opts *DialOptions) (*Conn, *http.Response, error) {
	if opts == nil {
		opts = &DialOptions{}
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("websocket: invalid URL: %w", err)
	}
	var secure bool
	var defaultPort string
	switch strings.ToLower(u.Scheme) {
	case "ws", "http":
		defaultPort = "80"
	case "wss", "https":
		secure, defaultPort = true, "443"
	default:
		return nil, nil, fmt.Errorf("websocket: unsupported URL scheme %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, nil, errors.New("websocket: URL has no host")
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), defaultPort)
	}

	dial := opts.NetDial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	raw, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, err
	}

	// Apply ctx to the handshake: its deadline directly, its cancellation
	// by moving the deadline into the past.
	if dl, ok := ctx.Deadline(); ok {
		raw.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error) error {
		stop()
		raw.Close()
		ctxErr := ctx.Err()
		if dl, ok := ctx.Deadline(); ok && ctxErr == nil && !time.Now().Before(dl) {
			// The socket deadline fired just before the context's timer.
			ctxErr = context.DeadlineExceeded
		}
		if ctxErr != nil {
			return fmt.Errorf("websocket: dial: %w (%v)", ctxErr, err)
		}
		return err
	}

	nc := raw
	if secure {
		cfg := opts.TLSConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		// The upgrade needs HTTP/1.1; never let ALPN pick h2.
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, nil, fail(err)
		}
		nc = tc
	}

	var keyBytes [16]byte
	rand.Read(keyBytes[:])
	key := base64.StdEncoding.EncodeToString(keyBytes[:])

	host := u.Host
	if h := opts.Header.Get("Host"); h != "" {
		host = h
	}
	req := make([]byte, 0, 512)
	req = append(req, "GET "...)
	req = append(req, u.RequestURI()...)
	req = append(req, " HTTP/1.1\r\nHost: "...)
	req = append(req, host...)
	req = append(req, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "...)
	req = append(req, key...)
	req = append(req, "\r\nSec-WebSocket-Version: 13\r\n"...)
	if opts.Deflate != nil {
		req = append(req, "Sec-WebSocket-Extensions: "...)
		req = append(req, deflateOffer(opts.Deflate)...)
		req = append(req, "\r\n"...)
	}
	req = appendHeaderFields(req, opts.Header, clientReserved)
	req = append(req, "\r\n"...)
	if _, err := nc.Write(req); err != nil {
		return nil, nil, fail(err)
	}

	hreq := &http.Request{Method: http.MethodGet, URL: u, Host: host, Header: opts.Header}
	br := bufio.NewReaderSize(nc, 2048)
	resp, err := http.ReadResponse(br, hreq)
	if err != nil {
		return nil, nil, fail(fmt.Errorf("websocket: reading handshake response: %w", err))
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		// Give the body a bounded time: it may have no length.
		if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > 2*time.Second {
			raw.SetReadDeadline(time.Now().Add(2 * time.Second))
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return nil, resp, fail(&HandshakeError{Status: resp.StatusCode, Message: string(body)})
	}
	var msg string
	var dfl *deflateState
	switch {
	case !headerHasToken(resp.Header, "Upgrade", "websocket"):
		msg = "response Upgrade header does not contain \"websocket\""
	case !headerHasToken(resp.Header, "Connection", "upgrade"):
		msg = "response Connection header does not contain \"upgrade\""
	case strings.TrimSpace(resp.Header.Get("Sec-WebSocket-Accept")) != computeAcceptKey(key):
		msg = "invalid Sec-WebSocket-Accept"
	default:
		// RFC 7692 (5): a response that is not a valid answer to the
		// offer fails the connection.
		dfl, msg = acceptDeflateResponse(resp.Header["Sec-Websocket-Extensions"], opts.Deflate)
	}
	if msg != "" {
		return nil, resp, fail(&HandshakeError{Status: resp.StatusCode, Message: "websocket: " + msg})
	}

	if !stop() {
		// ctx was cancelled while the handshake completed.
		raw.Close()
		return nil, resp, fmt.Errorf("websocket: dial: %w", ctx.Err())
	}
	if err := raw.SetDeadline(time.Time{}); err != nil {
		raw.Close()
		return nil, resp, err
	}
	var leftover []byte
	if n := br.Buffered(); n > 0 {
		leftover, _ = br.Peek(n)
	}
	c := newConn(nc, true, leftover)
	c.dfl = dfl
	return c, resp, nil
}
