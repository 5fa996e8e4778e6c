package webtransport

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/engineio"
)

// A session opened over WebTransport first: the handshake, text and binary
// both ways in the three frame sizes, the empty binary message, base64
// binary from the client, invalid UTF-8 read as a browser's TextDecoder.
func TestDirectSession(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial(nil)
	h := c.open()
	s := e.nextConn()
	if h.SID == "" || h.SID != s.c.ID() || len(h.Upgrades) != 0 || h.MaxPayload != 1e6 || h.PingInterval != 25000 || h.PingTimeout != 20000 {
		t.Fatalf("handshake %+v (session %s)", h, s.c.ID())
	}
	if got := s.c.Transport(); got != engineio.WebTransport {
		t.Fatalf("transport %q", got)
	}
	if n := e.engine.ClientsByTransport(); n[engineio.WebTransport] != 1 || n[engineio.Polling]+n[engineio.WebSocket] != 0 {
		t.Fatalf("ClientsByTransport %v", n)
	}

	c.send("4hello")
	c.write(frame([]byte{1, 2, 3}, true))
	c.send("bAQID")
	c.write(frame([]byte("4a\xffb"), false))
	long := strings.Repeat("x", 70000) // a 64-bit length
	mid := strings.Repeat("y", 300)    // a 16-bit length
	c.send("4" + long)
	c.send("4" + mid)
	for _, want := range []msg{{"hello", false}, {"\x01\x02\x03", true}, {"\x01\x02\x03", true}, {"a\uFFFDb", false}, {long, false}, {mid, false}} {
		if got := s.message(t); got != want {
			t.Fatalf("server got %q (binary %v), want %q", trim(got.data), got.binary, trim(want.data))
		}
	}

	_ = s.c.SendText([]byte("hé"))
	_ = s.c.SendBinary([]byte{9, 8})
	_ = s.c.SendBinary([]byte{})
	_ = s.c.SendText([]byte(long))
	_ = s.c.SendBinary(bytes.Repeat([]byte{7}, 300))
	c.expect("4hé")
	for _, want := range []msg{{"\x09\x08", true}, {"b", false}, {"4" + long, false}, {strings.Repeat("\x07", 300), true}} {
		got, err := c.read()
		if err != nil || got != want {
			t.Fatalf("client got %q (binary %v), %v; want %q", trim(got.data), got.binary, err, trim(want.data))
		}
	}

	// The client closes its session, as a browser's WebTransport.close()
	// does; its QUIC connection goes at the test's end. (Closing the
	// connection at once may overtake the session's close: webtransport-go
	// then reports the CONNECT stream's end as an HTTP/3 error, which ends
	// the session with "transport error".)
	_ = c.sess.CloseWithError(0, "")
	if got := s.closedWith(t); got.reason != engineio.ReasonTransportClose {
		t.Fatalf("closed with %q (%v)", got.reason, got.err)
	}
}

func trim(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

// The heartbeat over WebTransport: pings every PingInterval while pongs
// come, "ping timeout" when one does not.
func TestHeartbeat(t *testing.T) {
	e := newEnv(t, &engineio.Options{PingInterval: 200 * time.Millisecond, PingTimeout: 300 * time.Millisecond})
	c := e.dial(nil)
	c.open()
	s := e.nextConn()
	for range 3 {
		c.expect("2")
		c.send("3")
	}
	c.expect("2") // not answered
	if got := s.closedWith(t); got.reason != engineio.ReasonPingTimeout {
		t.Fatalf("closed with %+v", got)
	}
	if _, err := c.readUntilEnd(); err == nil {
		t.Fatal("the stream is still open")
	}
}

// A long-polling session upgraded to WebTransport as the JavaScript client
// does it: the open packet names the session, then the probe, then the
// upgrade packet; a GET waiting meanwhile ends with a noop, and what was
// queued during the upgrade leaves on the new transport.
func TestUpgradeFromPolling(t *testing.T) {
	e := newEnv(t, nil)
	body := e.get("/?EIO=4&transport=polling")
	var h handshake
	if err := jsonAfter(body, "0", &h); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if !slices.Equal(h.Upgrades, []string{engineio.WebSocket, engineio.WebTransport}) {
		t.Fatalf("upgrades %v", h.Upgrades)
	}
	s := e.nextConn()
	poll := make(chan string, 1)
	go func() { poll <- e.get("/?EIO=4&transport=polling&sid=" + h.SID) }()

	c := e.dial(nil)
	c.send(`0{"sid":"` + h.SID + `"}`)
	c.send("2probe")
	c.expect("3probe")
	select {
	case got := <-poll:
		if got != "6" {
			t.Fatalf("waiting GET answered %q", got)
		}
	case <-time.After(waitTime):
		t.Fatal("the waiting GET was not answered")
	}
	_ = s.c.SendText([]byte("queued"))
	c.send("5")
	select {
	case tr := <-s.upgrades:
		if tr != engineio.WebTransport {
			t.Fatalf("upgraded to %q", tr)
		}
	case <-time.After(waitTime):
		t.Fatal("no upgrade")
	}
	if got := s.c.Transport(); got != engineio.WebTransport {
		t.Fatalf("transport %q", got)
	}
	c.expect("4queued")
	c.send("4over webtransport")
	if got := s.message(t); got.data != "over webtransport" {
		t.Fatalf("got %q", got.data)
	}
	if got := e.get("/?EIO=4&transport=polling&sid=" + h.SID); !strings.Contains(got, `"code":3`) {
		t.Fatalf("a GET after the upgrade: %s", got)
	}

	// A second upgrade of the same session is refused.
	c2 := e.dial(nil)
	c2.send(`0{"sid":"` + h.SID + `"}`)
	if _, err := c2.readUntilEnd(); err == nil {
		t.Fatal("second upgrade accepted")
	}
	c.send("4still here")
	if got := s.message(t); got.data != "still here" {
		t.Fatalf("got %q", got.data)
	}
}

// An upgrade that is not completed is dropped after UpgradeTimeout, and the
// session goes on over long-polling.
func TestUpgradeTimeout(t *testing.T) {
	// A second: the probe must be answered within it on a loaded machine.
	e := newEnv(t, &engineio.Options{UpgradeTimeout: time.Second})
	var h handshake
	if err := jsonAfter(e.get("/?EIO=4&transport=polling"), "0", &h); err != nil {
		t.Fatal(err)
	}
	s := e.nextConn()
	c := e.dial(nil)
	c.send(`0{"sid":"` + h.SID + `"}`)
	c.send("2probe")
	c.expect("3probe")
	if _, err := c.readUntilEnd(); err == nil {
		t.Fatal("no end")
	}
	_ = s.c.SendText([]byte("still polling"))
	if got := e.get("/?EIO=4&transport=polling&sid=" + h.SID); got != "4still polling" {
		t.Fatalf("GET: %q", got)
	}
	if got := s.c.Transport(); got != engineio.Polling {
		t.Fatalf("transport %q", got)
	}
}

// What a client may not do ends its session, with Node's reasons, without
// the server reading (or allocating) more than the limits.
func TestProtocolErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		send   []byte
		reason string
	}{
		{"zero-length frame", []byte{0}, engineio.ReasonParseError},
		{"zero-length binary frame", []byte{0x80}, engineio.ReasonParseError},
		{"frame over MaxHTTPBufferSize", []byte{126, 0x04, 0x00}, engineio.ReasonParseError}, // 1024 bytes announced, none sent
		{"frame over 2^53", []byte{127, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, engineio.ReasonParseError},
		{"unknown packet type", frame([]byte("9"), false), engineio.ReasonParseError},
		{"ping from the client", frame([]byte("2"), false), engineio.ReasonTransportError},
		{"close packet", frame([]byte("1"), false), engineio.ReasonTransportClose},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, &engineio.Options{MaxHTTPBufferSize: 1000})
			c := e.dial(nil)
			c.open()
			s := e.nextConn()
			c.write(tc.send)
			if got := s.closedWith(t); got.reason != tc.reason {
				t.Fatalf("closed with %+v, want %q", got, tc.reason)
			}
			if _, err := c.readUntilEnd(); err == nil {
				t.Fatal("no end")
			}
		})
	}
}

// Sessions refused before they exist: a first packet that is not an open
// packet, an unknown session id, no stream, a forbidden origin,
// AllowRequest; and the transport name over plain HTTP.
func TestRefused(t *testing.T) {
	t.Run("first packet", func(t *testing.T) {
		e := newEnv(t, nil)
		c := e.dial(nil)
		c.send("4hello")
		if _, err := c.readUntilEnd(); err == nil {
			t.Fatal("no end")
		}
		e.expectRefused("WEBTRANSPORT_HANDSHAKE_ERROR")
	})
	t.Run("unknown sid", func(t *testing.T) {
		e := newEnv(t, nil)
		c := e.dial(nil)
		c.send(`0{"sid":"nope"}`)
		if _, err := c.readUntilEnd(); err == nil {
			t.Fatal("no end")
		}
		if re := e.expectRefused(""); re.Code != engineio.UnknownSID {
			t.Fatalf("refused with %+v", re)
		}
	})
	t.Run("no stream", func(t *testing.T) {
		e := newEnv(t, &engineio.Options{UpgradeTimeout: 100 * time.Millisecond})
		c := e.dialNoStream()
		select {
		case <-c.sess.Context().Done():
		case <-time.After(waitTime):
			t.Fatal("the session is still open")
		}
		e.expectRefused("WEBTRANSPORT_NO_STREAM")
	})
	t.Run("origin", func(t *testing.T) {
		e := newEnv(t, &engineio.Options{CORS: &engineio.CORSOptions{Origins: []string{"https://good.example"}}})
		_, rsp, err := e.tryDial(http.Header{"Origin": {"https://evil.example"}})
		if err == nil || rsp == nil || rsp.StatusCode != http.StatusForbidden {
			t.Fatalf("dial: %v, %v", err, rsp)
		}
		c := e.dial(http.Header{"Origin": {"https://good.example"}})
		c.open()
	})
	t.Run("AllowRequest", func(t *testing.T) {
		e := newEnv(t, &engineio.Options{AllowRequest: func(r *http.Request) error {
			if r.Header.Get("X-Token") != "ok" {
				return errors.New("no token")
			}
			return nil
		}})
		c := e.dial(nil)
		c.send("0")
		if _, err := c.readUntilEnd(); err == nil {
			t.Fatal("no end")
		}
		if re := e.expectRefused(""); re.Code != engineio.Forbidden || re.Message != "no token" {
			t.Fatalf("refused with %+v", re)
		}
		e.dial(http.Header{"X-Token": {"ok"}}).open()
	})
	t.Run("not over HTTP", func(t *testing.T) {
		e := newEnv(t, nil)
		if got := e.get("/?EIO=4&transport=webtransport"); !strings.Contains(got, `"code":0`) {
			t.Fatalf("GET: %s", got)
		}
	})
	t.Run("not enabled", func(t *testing.T) {
		if _, err := New(engineio.NewServer(nil), &Options{}); !errors.Is(err, ErrNotEnabled) {
			t.Fatalf("New: %v", err)
		}
	})
}

// Conn.Close writes what is queued, then ends the stream: the client reads
// everything, then the end.
func TestGracefulClose(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial(nil)
	c.open()
	s := e.nextConn()
	for i := range 50 {
		_ = s.c.SendText([]byte(strings.Repeat("z", 1000+i)))
	}
	s.c.Close()
	got, err := c.readUntilEnd()
	if len(got) != 50 || got[49].data != "4"+strings.Repeat("z", 1049) {
		t.Fatalf("read %d packets before %v", len(got), err)
	}
	if !errors.Is(err, io.EOF) {
		t.Fatalf("ended with %v, want the end of the stream", err)
	}
	if got := s.closedWith(t); got.reason != engineio.ReasonForcedClose {
		t.Fatalf("closed with %+v", got)
	}
}

// Closing the engine closes its WebTransport sessions.
func TestServerClose(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial(nil)
	c.open()
	s := e.nextConn()
	e.engine.Close()
	if got := s.closedWith(t); got.reason != engineio.ReasonForcedClose {
		t.Fatalf("closed with %+v", got)
	}
	if _, err := c.readUntilEnd(); err == nil {
		t.Fatal("no end")
	}
}

// A client that does not read is disconnected once its queue is over
// MaxBufferedBytes; the server holds no more than that and the QUIC
// windows.
func TestSlowConsumer(t *testing.T) {
	e := newEnv(t, &engineio.Options{MaxBufferedBytes: 64 << 10})
	c := e.dial(nil)
	c.open()
	s := e.nextConn()
	chunk := bytes.Repeat([]byte{1}, 16<<10)
	var err error
	for i := 0; i < 10000 && err == nil; i++ {
		err = s.c.SendBinary(chunk)
		if i%16 == 0 {
			time.Sleep(time.Millisecond) // lets the flusher fill the windows
		}
	}
	if !errors.Is(err, engineio.ErrSlowConsumer) {
		t.Fatalf("Send: %v", err)
	}
	if got := s.closedWith(t); got.reason != engineio.ReasonTransportError || !errors.Is(got.err, engineio.ErrSlowConsumer) {
		t.Fatalf("closed with %+v", got)
	}
}
