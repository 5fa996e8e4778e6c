package engineio

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/socketio-go/socketio/internal/websocket"
)

// Every goroutine of the package must be gone once the tests are done:
// sessions end with their server, flushers exit with their queue, timers
// are stopped. The HTTP clients of the tests close their idle connections,
// so nothing needs to be ignored.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitTime bounds every wait of the tests.
const waitTime = 5 * time.Second

// received is a message delivered to Conn.OnMessage.
type received struct {
	data   string
	binary bool
}

// closed is a call of the close callback.
type closed struct {
	reason string
	err    error
}

// session records what the server reports about one Conn.
type session struct {
	c        *Conn
	msgs     chan received // buffered
	closes   chan closed   // buffered; exactly one value is ever sent
	upgrades chan string   // buffered
}

// env is an Engine.IO server on an httptest server at 127.0.0.1, with an
// HTTP client of its own.
type env struct {
	t       testing.TB
	srv     *Server
	ts      *httptest.Server
	base    string // http://127.0.0.1:port/engine.io/
	hc      *http.Client
	conns   chan *session      // every new session, in order
	errs    chan *RequestError // every rejected request
	onConn  func(s *session)   // optional, run inside OnConnection
	echo    bool               // echo every message back
	discard bool               // do not record messages
}

type envConfig struct {
	echo     bool
	discard  bool
	onConn   func(s *session)
	listener func(net.Listener) net.Listener
	wrap     func(http.Handler) http.Handler // wraps the server's handler
}

func newEnv(t testing.TB, opts *Options) *env { return newEnvWith(t, opts, envConfig{}) }

func newEnvWith(t testing.TB, opts *Options, cfg envConfig) *env {
	t.Helper()
	e := &env{
		t:       t,
		srv:     NewServer(opts),
		conns:   make(chan *session, 64),
		errs:    make(chan *RequestError, 64),
		onConn:  cfg.onConn,
		echo:    cfg.echo,
		discard: cfg.discard,
	}
	e.srv.OnConnection(func(c *Conn) {
		s := &session{
			c:        c,
			msgs:     make(chan received, 1024),
			closes:   make(chan closed, 1),
			upgrades: make(chan string, 1),
		}
		c.OnMessage(func(data []byte, binary bool) {
			if e.echo {
				var err error
				if binary {
					err = c.SendBinary(append([]byte(nil), data...))
				} else {
					err = c.SendText(data)
				}
				if err != nil && err != ErrClosed {
					t.Errorf("echo: %v", err)
				}
			}
			if e.discard {
				return
			}
			select {
			case s.msgs <- received{string(data), binary}:
			default:
				t.Errorf("session %s: message buffer full", c.ID())
			}
		})
		c.OnClose(func(reason string, err error) { s.closes <- closed{reason, err} })
		c.OnUpgrade(func(transport string) { s.upgrades <- transport })
		if e.onConn != nil {
			e.onConn(s)
		}
		e.conns <- s
	})
	e.srv.OnConnectionError(func(re *RequestError) {
		select {
		case e.errs <- re:
		default:
		}
	})
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 8}
	e.hc = &http.Client{Transport: tr, Timeout: waitTime}
	var h http.Handler = e.srv
	if cfg.wrap != nil {
		h = cfg.wrap(h)
	}
	e.ts = httptest.NewUnstartedServer(h)
	if cfg.listener != nil {
		e.ts.Listener = cfg.listener(e.ts.Listener)
	}
	e.ts.Start()
	e.base = e.ts.URL + "/engine.io/"
	// Cleanups run last-registered first: sessions end (which answers any
	// waiting GET), then the HTTP server waits for its handlers, then the
	// client drops its idle connections.
	t.Cleanup(tr.CloseIdleConnections)
	t.Cleanup(e.ts.Close)
	t.Cleanup(e.srv.Close)
	return e
}

// url returns the Engine.IO URL with the given query.
func (e *env) url(query string) string { return e.base + "?" + query }

// wsURL returns the WebSocket URL with the given query.
func (e *env) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(e.base, "http") + "?" + query
}

// do sends a request and reads the whole response.
func (e *env) do(ctx context.Context, method, query string, body io.Reader, hdr http.Header) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, e.url(query), body)
	if err != nil {
		return nil, "", err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

// mustDo is do that fails the test on a transport error.
func (e *env) mustDo(method, query string, body io.Reader, hdr http.Header) (*http.Response, string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	resp, b, err := e.do(ctx, method, query, body, hdr)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, query, err)
	}
	return resp, b
}

// get is a GET of the given query.
func (e *env) get(query string) (*http.Response, string) {
	e.t.Helper()
	return e.mustDo(http.MethodGet, query, nil, nil)
}

// openPacket is the handshake data.
type openPacket struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int64    `json:"pingInterval"`
	PingTimeout  int64    `json:"pingTimeout"`
	MaxPayload   int64    `json:"maxPayload"`
}

// parseOpen decodes an open packet ("0{...}").
func parseOpen(t testing.TB, p string) openPacket {
	t.Helper()
	if !strings.HasPrefix(p, "0") {
		t.Fatalf("not an open packet: %q", p)
	}
	var o openPacket
	if err := json.Unmarshal([]byte(p[1:]), &o); err != nil {
		t.Fatalf("open packet %q: %v", p, err)
	}
	return o
}

// handshake opens a long-polling session and returns its id, the packets
// of the handshake response and the server side of the session.
func (e *env) handshake() (string, []string, *session) {
	e.t.Helper()
	resp, body := e.get("EIO=4&transport=polling")
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("handshake: %d %s", resp.StatusCode, body)
	}
	packets := strings.Split(body, "\x1e")
	o := parseOpen(e.t, packets[0])
	s := e.nextSession()
	if s.c.ID() != o.SID {
		e.t.Fatalf("session %q, open packet sid %q", s.c.ID(), o.SID)
	}
	return o.SID, packets, s
}

// nextSession returns the next session the server opened.
func (e *env) nextSession() *session {
	e.t.Helper()
	return recv(e.t, e.conns, "new session")
}

// poll does a long-polling GET and returns its packets.
func (e *env) poll(sid string) []string {
	e.t.Helper()
	resp, body := e.get("EIO=4&transport=polling&sid=" + sid)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("poll: %d %s", resp.StatusCode, body)
	}
	return strings.Split(body, "\x1e")
}

// pollAsync starts a GET and returns a channel with its result.
func (e *env) pollAsync(ctx context.Context, sid string) <-chan pollResult {
	ch := make(chan pollResult, 1)
	go func() {
		resp, body, err := e.do(ctx, http.MethodGet, "EIO=4&transport=polling&sid="+sid, nil, nil)
		r := pollResult{body: body, err: err}
		if resp != nil {
			r.status = resp.StatusCode
		}
		ch <- r
	}()
	return ch
}

type pollResult struct {
	status int
	body   string
	err    error
}

// post sends a long-polling POST.
func (e *env) post(sid, body string) (*http.Response, string) {
	e.t.Helper()
	hdr := http.Header{"Content-Type": {"text/plain;charset=UTF-8"}}
	return e.mustDo(http.MethodPost, "EIO=4&transport=polling&sid="+sid, strings.NewReader(body), hdr)
}

// dial opens a WebSocket to the server; the connection is closed at the
// end of the test.
func (e *env) dial(query string, opts *websocket.DialOptions) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, e.wsURL(query), opts)
	if ws != nil {
		e.t.Cleanup(func() { ws.Close(websocket.CloseNormal, "") })
	}
	return ws, resp, err
}

// dialSession opens a WebSocket-only session and reads its open packet.
func (e *env) dialSession() (*websocket.Conn, *session, openPacket) {
	e.t.Helper()
	ws, _, err := e.dial("EIO=4&transport=websocket", nil)
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	_, p := wsRead(e.t, ws)
	o := parseOpen(e.t, p)
	s := e.nextSession()
	if s.c.ID() != o.SID {
		e.t.Fatalf("session %q, open packet sid %q", s.c.ID(), o.SID)
	}
	return ws, s, o
}

// wsRead reads one message, failing the test after waitTime.
func wsRead(t testing.TB, ws *websocket.Conn) (websocket.Opcode, string) {
	t.Helper()
	op, p, err := wsReadErr(ws, waitTime)
	if err != nil {
		t.Fatalf("websocket read: %v", err)
	}
	return op, p
}

func wsReadErr(ws *websocket.Conn, d time.Duration) (websocket.Opcode, string, error) {
	_ = ws.SetReadDeadline(time.Now().Add(d))
	op, p, err := ws.ReadMessage()
	return op, string(p), err
}

// wsWrite writes a text message.
func wsWrite(t testing.TB, ws *websocket.Conn, s string) {
	t.Helper()
	if err := ws.WriteMessage(websocket.OpText, []byte(s)); err != nil {
		t.Fatalf("websocket write %q: %v", s, err)
	}
}

// wsExpectClosed reads until the server ends the connection and returns
// the error; data messages other than pings are reported as failures.
func wsExpectClosed(t testing.TB, ws *websocket.Conn) error {
	t.Helper()
	deadline := time.Now().Add(waitTime)
	for {
		_, p, err := wsReadErr(ws, time.Until(deadline))
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("websocket not closed by the server within %v", waitTime)
			}
			return err
		}
		if p != "2" {
			t.Errorf("unexpected message %q before close", p)
		}
	}
}

// recv waits for a value on ch.
func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTime):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// expectNone checks that nothing arrives on ch for d.
func expectNone[T any](t testing.TB, ch <-chan T, d time.Duration, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %s: %v", what, v)
	case <-time.After(d):
	}
}

// expectClose waits for the close callback and checks its reason and error.
func expectClose(t testing.TB, s *session, reason string, err error) closed {
	t.Helper()
	c := recv(t, s.closes, "close of "+s.c.ID())
	if c.reason != reason {
		t.Errorf("close reason %q (err %v), want %q", c.reason, c.err, reason)
	}
	if err != nil && !errors.Is(c.err, err) {
		t.Errorf("close error %v, want %v", c.err, err)
	}
	if err == nil && c.err != nil && (reason == ReasonForcedClose || reason == ReasonPingTimeout) {
		t.Errorf("close error %v, want nil", c.err)
	}
	return c
}

// waitFor polls cond until it holds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTime)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitPolling waits until a long-polling GET of c is waiting.
func waitPolling(t testing.TB, c *Conn) {
	t.Helper()
	waitFor(t, "pending GET", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.pollWake != nil
	})
}

// jsonError is the body of a rejected request.
func jsonError(code ErrorCode, message string) string {
	b, _ := json.Marshal(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{int(code), message})
	return string(b)
}
