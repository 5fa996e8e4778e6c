package webtransport

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	wtgo "github.com/quic-go/webtransport-go"
	"go.uber.org/goleak"

	"github.com/socketio-go/socketio/engineio"
)

// Every goroutine must be gone once the tests are done: sessions end with
// their server, quic-go's with its connections.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const waitTime = 10 * time.Second

type closed struct {
	reason string
	err    error
}

type msg struct {
	data   string
	binary bool
}

// sess records what the engine reports about one session.
type sess struct {
	c        *engineio.Conn
	msgs     chan msg
	closes   chan closed
	upgrades chan string
}

// env is an engine served over HTTP (httptest, for long-polling) and over
// WebTransport (a UDP socket on 127.0.0.1), with a certificate the client
// trusts.
type env struct {
	t      *testing.T
	engine *engineio.Server
	wt     *Server
	ts     *httptest.Server
	addr   string // host:port of the UDP socket
	pool   *x509.CertPool
	conns  chan *sess
	errs   chan *engineio.RequestError
}

func newEnv(t *testing.T, opts *engineio.Options) *env {
	t.Helper()
	var o engineio.Options
	if opts != nil {
		o = *opts
	}
	if o.Transports == nil {
		o.Transports = []string{engineio.Polling, engineio.WebSocket, engineio.WebTransport}
	}
	e := &env{t: t, conns: make(chan *sess, 16), errs: make(chan *engineio.RequestError, 16)}
	e.engine = engineio.NewServer(&o)
	e.engine.OnConnection(func(c *engineio.Conn) {
		s := &sess{c: c, msgs: make(chan msg, 64), closes: make(chan closed, 1), upgrades: make(chan string, 1)}
		c.OnMessage(func(data []byte, bin bool) { s.msgs <- msg{string(data), bin} })
		c.OnClose(func(reason string, err error) { s.closes <- closed{reason, err} })
		c.OnUpgrade(func(transport string) { s.upgrades <- transport })
		e.conns <- s
	})
	e.engine.OnConnectionError(func(re *engineio.RequestError) {
		select {
		case e.errs <- re:
		default:
		}
	})
	cert, err := SelfSigned("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	e.pool = x509.NewCertPool()
	e.pool.AddCert(cert.Leaf)
	e.wt, err = New(e.engine, &Options{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = pc.LocalAddr().String()
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = e.wt.Serve(pc)
	}()
	e.ts = httptest.NewServer(e.engine)
	t.Cleanup(func() {
		e.ts.Close()
		e.engine.Close()
		_ = e.wt.Close()
		_ = pc.Close()
		<-served
	})
	return e
}

// nextConn returns the next session the engine opened.
func (e *env) nextConn() *sess {
	e.t.Helper()
	select {
	case s := <-e.conns:
		return s
	case <-time.After(waitTime):
		e.t.Fatal("no session")
		return nil
	}
}

func (s *sess) closedWith(t *testing.T) closed {
	t.Helper()
	select {
	case c := <-s.closes:
		return c
	case <-time.After(waitTime):
		t.Fatal("the session did not close")
		return closed{}
	}
}

func (s *sess) message(t *testing.T) msg {
	t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case <-time.After(waitTime):
		t.Fatal("no message")
		return msg{}
	}
}

// client is a WebTransport client (webtransport-go) speaking Engine.IO's
// framing on its stream.
type client struct {
	t    *testing.T
	tr   *wtgo.Transport
	sess *wtgo.Session
	st   *wtgo.Stream
	br   *bufio.Reader
}

// dial opens a session and its stream; header may be nil.
func (e *env) dial(header http.Header) *client {
	e.t.Helper()
	c, rsp, err := e.tryDial(header)
	if err != nil {
		e.t.Fatalf("dial: %v (%v)", err, rsp)
	}
	return c
}

func (e *env) tryDial(header http.Header) (*client, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	tr := &wtgo.Transport{
		TLSClientConfig: &tls.Config{RootCAs: e.pool},
		QUICConfig:      &quic.Config{EnableDatagrams: true, EnableStreamResetPartialDelivery: true},
	}
	rsp, s, err := tr.Dial(ctx, "https://"+e.addr+"/socket.io/", header)
	if err != nil {
		_ = tr.Close()
		return nil, rsp, err
	}
	st, err := s.OpenStreamSync(ctx)
	if err != nil {
		_ = s.CloseWithError(0, "")
		_ = tr.Close()
		return nil, rsp, err
	}
	c := &client{t: e.t, tr: tr, sess: s, st: st, br: bufio.NewReader(st)}
	e.t.Cleanup(c.close)
	return c, rsp, nil
}

func (c *client) close() {
	_ = c.sess.CloseWithError(0, "")
	_ = c.tr.Close()
}

// frame encodes a packet as engine.io-parser's createPacketEncoderStream.
func frame(data []byte, bin bool) []byte {
	var flag byte
	if bin {
		flag = 0x80
	}
	var b []byte
	switch n := len(data); {
	case n < 126:
		b = []byte{flag | byte(n)}
	case n < 1<<16:
		b = binary.BigEndian.AppendUint16([]byte{flag | 126}, uint16(n))
	default:
		b = binary.BigEndian.AppendUint64([]byte{flag | 127}, uint64(n))
	}
	return append(b, data...)
}

func (c *client) send(text string) { c.write(frame([]byte(text), false)) }

func (c *client) write(b []byte) {
	c.t.Helper()
	_ = c.st.SetWriteDeadline(time.Now().Add(waitTime))
	if _, err := c.st.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// read reads one packet: its text, or its binary data.
func (c *client) read() (msg, error) {
	_ = c.st.SetReadDeadline(time.Now().Add(waitTime))
	h, err := c.br.ReadByte()
	if err != nil {
		return msg{}, err
	}
	n := uint64(h & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return msg{}, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return msg{}, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(c.br, data); err != nil {
		return msg{}, err
	}
	return msg{string(data), h&0x80 != 0}, nil
}

func (c *client) expect(want string) {
	c.t.Helper()
	m, err := c.read()
	if err != nil {
		c.t.Fatalf("read: %v (want %q)", err, want)
	}
	if m.binary || m.data != want {
		c.t.Fatalf("got %q (binary %v), want %q", m.data, m.binary, want)
	}
}

// handshake is the open packet's data.
type handshake struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

func (c *client) open() handshake {
	c.t.Helper()
	c.send("0")
	m, err := c.read()
	if err != nil || !strings.HasPrefix(m.data, "0") {
		c.t.Fatalf("open packet: %q, %v", m.data, err)
	}
	var h handshake
	if err := json.Unmarshal([]byte(m.data[1:]), &h); err != nil {
		c.t.Fatal(err)
	}
	return h
}

// readUntilEnd reads until the stream or session ends, and returns the
// packets read on the way and the error that ended it.
func (c *client) readUntilEnd() ([]msg, error) {
	c.t.Helper()
	var got []msg
	for {
		m, err := c.read()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				c.t.Fatalf("the stream did not end (read %v)", got)
			}
			return got, err
		}
		got = append(got, m)
	}
}

// get makes a GET to the engine over HTTP and returns the body.
func (e *env) get(pathQuery string) string {
	e.t.Helper()
	rsp, err := e.ts.Client().Get(e.ts.URL + pathQuery)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rsp.Body.Close()
	b, err := io.ReadAll(rsp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

// jsonAfter decodes the JSON that follows prefix in s.
func jsonAfter(s, prefix string, v any) error {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return errors.New("no " + prefix + " prefix")
	}
	return json.Unmarshal([]byte(rest), v)
}

// expectRefused returns the next refusal reported to OnConnectionError,
// checking its context when one is given.
func (e *env) expectRefused(context string) *engineio.RequestError {
	e.t.Helper()
	select {
	case re := <-e.errs:
		if context != "" && re.Context != context {
			e.t.Fatalf("refused with %+v, want context %s", re, context)
		}
		return re
	case <-time.After(waitTime):
		e.t.Fatal("nothing refused")
		return nil
	}
}

// dialNoStream opens a session without opening its stream.
func (e *env) dialNoStream() *client {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	tr := &wtgo.Transport{
		TLSClientConfig: &tls.Config{RootCAs: e.pool},
		QUICConfig:      &quic.Config{EnableDatagrams: true, EnableStreamResetPartialDelivery: true},
	}
	_, s, err := tr.Dial(ctx, "https://"+e.addr+"/socket.io/", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	c := &client{t: e.t, tr: tr, sess: s}
	e.t.Cleanup(c.close)
	return c
}
