package socketio

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/socketio-go/socketio/internal/websocket"
	"github.com/socketio-go/socketio/msgpackparser"
	"github.com/socketio-go/socketio/sioparser"
)

// mpClient is a rawClient that speaks MessagePack.
type mpClient struct {
	*rawClient
	p *msgpackparser.Parser
}

func dialMsgpack(t *testing.T, base string) *mpClient {
	return &mpClient{rawClient: dialRaw(t, base), p: msgpackparser.New()}
}

func (c *mpClient) sendPacket(p sioparser.Packet) {
	c.t.Helper()
	msg, binary, err := c.p.Encode(nil, &p)
	if err != nil || !binary {
		c.t.Fatalf("encode: %v", err)
	}
	c.sendBinary(msg)
}

// nextPacket reads the next message, which must be a MessagePack packet.
func (c *mpClient) nextPacket() *sioparser.Packet {
	c.t.Helper()
	m := c.next()
	if m.binary == nil {
		c.t.Fatalf("got text %q, want a binary message", m.text)
	}
	p, err := c.p.Decode(m.binary, true, sioparser.Limits{})
	if err != nil {
		c.t.Fatalf("decode %x: %v", m.binary, err)
	}
	return p
}

func (c *mpClient) expectPacket(typ sioparser.Type, nsp, data string, atts ...string) *sioparser.Packet {
	c.t.Helper()
	p := c.nextPacket()
	if p.Type != typ || p.Namespace != nsp || (data != "*" && string(p.Data) != data) {
		c.t.Fatalf("got %v %q %s, want %v %q %s", p.Type, p.Namespace, p.Data, typ, nsp, data)
	}
	if len(p.Attachments) != len(atts) {
		c.t.Fatalf("%d attachments, want %d", len(p.Attachments), len(atts))
	}
	for i, a := range atts {
		if hex.EncodeToString(p.Attachments[i]) != a {
			c.t.Fatalf("attachment %d: %x, want %s", i, p.Attachments[i], a)
		}
	}
	return p
}

func (c *mpClient) connectNsp(nsp, auth string) string {
	c.t.Helper()
	p := sioparser.Packet{Type: sioparser.Connect, Namespace: nsp}
	if auth != "" {
		p.Data = []byte(auth)
	}
	c.sendPacket(p)
	got := c.expectPacket(sioparser.Connect, nsp, "*")
	var sid string
	if s, ok := strings.CutPrefix(string(got.Data), `{"sid":"`); ok {
		sid, _, _ = strings.Cut(s, `"`)
	}
	if sid == "" {
		c.t.Fatalf("CONNECT answer %s", got.Data)
	}
	return sid
}

// TestMsgpackServer: a server with the MessagePack parser speaks it on
// every path: the CONNECT answer, events and acknowledgements both ways
// with binary values, broadcasts to rooms, namespaces, connect errors with
// data, disconnection both ways; handlers see what they see with the
// default parser.
func TestMsgpackServer(t *testing.T) {
	opts := testOptions()
	opts.Parser = msgpackparser.New()
	srv := NewServer(opts)
	type blob struct {
		Name string `json:"name"`
		Data []byte `json:"data"`
	}
	gotAuth := make(chan map[string]any, 1)
	acks := make(chan []any, 1)
	disconnects := make(chan DisconnectReason, 4)
	srv.OnConnection(func(s *Socket) {
		if s.Handshake().Auth["token"] != nil {
			gotAuth <- s.Handshake().Auth
		}
		s.OnDisconnect(func(r DisconnectReason, _ error) { disconnects <- r })
		s.On("join", func(room string, ack func()) { s.Join(room); ack() })
		s.On("echo", func(n int, b []byte, x blob, ack func(int, []byte, blob)) {
			ack(n+1, append(b, 0xff), blob{Name: x.Name + "!", Data: append(x.Data, 1)})
		})
		s.On("ask", func() {
			go func() {
				_ = s.Emit("q", []byte{7}, func(answer string, b []byte) { acks <- []any{answer, b} })
			}()
		})
		s.On("shout", func(room, text string) { _ = srv.To(room).Emit("heard", text, []byte{1, 2}) })
		s.On("kick", func() { s.Disconnect(false) })
	})
	admin := srv.Of("/admin")
	admin.Use(func(s *Socket) error {
		return NewConnectError("not authorized", map[string]any{"code": 401})
	})
	base := newTestServer(t, srv)

	a := dialMsgpack(t, base)
	a.connectNsp("/", `{"token":"abc","n":1}`)
	if auth := waitFor(t, gotAuth); auth["token"] != "abc" || auth["n"] != float64(1) {
		t.Fatalf("auth %v", auth)
	}
	b := dialMsgpack(t, base)
	b.connectNsp("/", "")

	// Event with an ack, binary at the top level and nested.
	a.sendPacket(sioparser.Packet{Type: sioparser.Event, Namespace: "/", ID: 4, HasID: true,
		Data:        []byte(`["echo",41,{"_placeholder":true,"num":0},{"name":"x","data":{"_placeholder":true,"num":1}}]`),
		Attachments: [][]byte{{1, 2}, {3}}})
	ack := a.expectPacket(sioparser.Ack, "/", `[42,{"_placeholder":true,"num":0},{"name":"x!","data":{"_placeholder":true,"num":1}}]`, "0102ff", "0301")
	if !ack.HasID || ack.ID != 4 {
		t.Fatalf("ack id %v %d", ack.HasID, ack.ID)
	}

	// The server asks, the client answers.
	a.sendPacket(sioparser.Packet{Type: sioparser.Event, Namespace: "/", Data: []byte(`["ask"]`)})
	q := a.expectPacket(sioparser.Event, "/", `["q",{"_placeholder":true,"num":0}]`, "07")
	if !q.HasID {
		t.Fatal("server emit with a callback has no id")
	}
	a.sendPacket(sioparser.Packet{Type: sioparser.Ack, Namespace: "/", ID: q.ID, HasID: true, Data: []byte(`["yes",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{9, 9}}})
	if got := waitFor(t, acks); got[0] != "yes" || !bytes.Equal(got[1].([]byte), []byte{9, 9}) {
		t.Fatalf("ack %v", got)
	}

	// A broadcast to a room reaches its members only.
	b.sendPacket(sioparser.Packet{Type: sioparser.Event, Namespace: "/", HasID: true, Data: []byte(`["join","r"]`)})
	b.expectPacket(sioparser.Ack, "/", `[]`)
	a.sendPacket(sioparser.Packet{Type: sioparser.Event, Namespace: "/", Data: []byte(`["shout","r","hi"]`)})
	b.expectPacket(sioparser.Event, "/", `["heard","hi",{"_placeholder":true,"num":0}]`, "0102")
	a.expectNothing()

	// A middleware's error, with its data; an unknown namespace.
	a.sendPacket(sioparser.Packet{Type: sioparser.Connect, Namespace: "/admin"})
	a.expectPacket(sioparser.ConnectError, "/admin", `{"data":{"code":401},"message":"not authorized"}`)
	a.sendPacket(sioparser.Packet{Type: sioparser.Connect, Namespace: "/nope"})
	a.expectPacket(sioparser.ConnectError, "/nope", `{"message":"Invalid namespace"}`)

	// The server disconnects a socket; a client leaves.
	a.sendPacket(sioparser.Packet{Type: sioparser.Event, Namespace: "/", Data: []byte(`["kick"]`)})
	a.expectPacket(sioparser.Disconnect, "/", "")
	if r := waitFor(t, disconnects); r != ReasonServerNamespaceDisconnect {
		t.Fatalf("reason %q", r)
	}
	b.sendPacket(sioparser.Packet{Type: sioparser.Disconnect, Namespace: "/"})
	if r := waitFor(t, disconnects); r != ReasonClientNamespaceDisconnect {
		t.Fatalf("reason %q", r)
	}
}

// TestMsgpackParseErrors: a message the parser refuses closes the
// connection with reason "parse error", as bad JSON does with the default
// parser; so do a text message and packets over the limits.
func TestMsgpackParseErrors(t *testing.T) {
	event := func(data string, atts ...[]byte) []byte {
		msg, _, err := msgpackparser.New().Encode(nil, &sioparser.Packet{Type: sioparser.Event, Namespace: "/", Data: []byte(data), Attachments: atts})
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	many := make([][]byte, 3)
	for i := range many {
		many[i] = []byte{byte(i)}
	}
	for _, tc := range []struct {
		name string
		text string
		bin  []byte
	}{
		{"not MessagePack", "", []byte{0xc1}},
		{"trailing bytes", "", append(event(`["e"]`), 0)},
		{"not a packet", "", []byte{0x93, 1, 2, 3}},
		{"reserved event", "", event(`["disconnect"]`)},
		{"text message", `42["e"]`, nil},
		{"too many binary values", "", event(`["e",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]`, many...)},
		{"too large once decoded", "", event(`["e","` + strings.Repeat(`\u0001`, 200) + `"]`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions()
			opts.Parser = msgpackparser.New()
			opts.MaxAttachments = 2
			opts.Engine.MaxHTTPBufferSize = 1000
			srv := NewServer(opts)
			reasons := make(chan DisconnectReason, 1)
			errs := make(chan error, 1)
			srv.OnConnection(func(s *Socket) {
				s.OnDisconnect(func(r DisconnectReason, err error) { reasons <- r; errs <- err })
				s.On("e", func(...any) { t.Error("handler called") })
			})
			base := newTestServer(t, srv)
			c := dialMsgpack(t, base)
			c.connectNsp("/", "")
			if tc.bin != nil {
				c.sendBinary(tc.bin)
			} else {
				c.send("4" + tc.text)
			}
			if r := waitFor(t, reasons); r != ReasonParseError {
				t.Fatalf("reason %q", r)
			}
			if err := waitFor(t, errs); err == nil {
				t.Fatal("no error with the reason")
			}
			c.expectClosed()
		})
	}
}

// countingParser counts the packets a parser encodes.
type countingParser struct {
	sioparser.Parser
	encoded atomic.Int64
}

func (c *countingParser) Encode(dst []byte, p *sioparser.Packet) ([]byte, bool, error) {
	c.encoded.Add(1)
	return c.Parser.Encode(dst, p)
}

// TestMsgpackBroadcastEncodedOnce: a broadcast is encoded once for all its
// recipients, with the server's parser.
func TestMsgpackBroadcastEncodedOnce(t *testing.T) {
	opts := testOptions()
	cp := &countingParser{Parser: msgpackparser.New()}
	opts.Parser = cp
	srv := NewServer(opts)
	base := newTestServer(t, srv)
	var clients []*mpClient
	for range 5 {
		c := dialMsgpack(t, base)
		c.connectNsp("/", "")
		clients = append(clients, c)
	}
	before := cp.encoded.Load()
	if err := srv.Emit("news", "x", []byte{1}); err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		c.expectPacket(sioparser.Event, "/", `["news","x",{"_placeholder":true,"num":0}]`, "01")
	}
	if n := cp.encoded.Load() - before; n != 1 {
		t.Fatalf("broadcast to %d clients encoded %d times", len(clients), n)
	}
}

// TestMsgpackRecovery: the packets a socket missed are replayed with the
// server's parser.
func TestMsgpackRecovery(t *testing.T) {
	opts := testOptions()
	opts.Parser = msgpackparser.New()
	opts.ConnectionStateRecovery = &RecoveryOptions{MaxDisconnectionDuration: time.Minute}
	srv := NewServer(opts)
	base := newTestServer(t, srv)
	c := dialMsgpack(t, base)
	c.sendPacket(sioparser.Packet{Type: sioparser.Connect, Namespace: "/"})
	hello := c.expectPacket(sioparser.Connect, "/", "*")
	var ids struct{ Sid, Pid string }
	if err := json.Unmarshal(hello.Data, &ids); err != nil || ids.Pid == "" {
		t.Fatalf("CONNECT answer %s: %v", hello.Data, err)
	}
	if err := srv.Emit("first", 1); err != nil {
		t.Fatal(err)
	}
	first := c.expectPacket(sioparser.Event, "/", "*")
	var args []any
	if err := json.Unmarshal(first.Data, &args); err != nil || len(args) != 3 {
		t.Fatalf("event with offset: %s", first.Data)
	}
	offset, _ := args[2].(string)
	_ = c.ws.Close(websocket.CloseNormal, "")
	c.expectClosed()
	deadline := time.Now().Add(testWait)
	for len(srv.Sockets().Sockets()) > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := srv.Emit("missed", []byte{5}); err != nil {
		t.Fatal(err)
	}
	d := dialMsgpack(t, base)
	d.sendPacket(sioparser.Packet{Type: sioparser.Connect, Namespace: "/", Data: []byte(`{"pid":"` + ids.Pid + `","offset":"` + offset + `"}`)})
	d.expectPacket(sioparser.Connect, "/", "*")
	missed := d.expectPacket(sioparser.Event, "/", "*", "05")
	if !strings.HasPrefix(string(missed.Data), `["missed",{"_placeholder":true,"num":0},"`) {
		t.Fatalf("missed packet %s", missed.Data)
	}
}

// TestMsgpackEncodeError: a packet the parser cannot encode is logged and
// not sent; the emit returns the error.
func TestMsgpackEncodeError(t *testing.T) {
	opts := testOptions()
	failing := errors.New("cannot")
	opts.Parser = failingParser{Parser: msgpackparser.New(), err: failing}
	srv := NewServer(opts)
	base := newTestServer(t, srv)
	sockets := make(chan *Socket, 1)
	srv.OnConnection(func(s *Socket) { sockets <- s })
	c := dialMsgpack(t, base)
	c.sendPacket(sioparser.Packet{Type: sioparser.Connect, Namespace: "/"})
	c.expectPacket(sioparser.Connect, "/", "*")
	s := waitFor(t, sockets)
	if err := s.Emit("fail"); !errors.Is(err, failing) {
		t.Fatalf("Emit: %v", err)
	}
	_ = srv.Emit("fail")
	c.expectNothing()
}

type failingParser struct {
	sioparser.Parser
	err error
}

func (f failingParser) Encode(dst []byte, p *sioparser.Packet) ([]byte, bool, error) {
	if p.Type == sioparser.Event && bytes.HasPrefix(p.Data, []byte(`["fail"`)) {
		return dst, true, f.err
	}
	return f.Parser.Encode(dst, p)
}

// Connections are many: the per-connection state of the root package
// stays in the 96-byte size class, whatever the parser (the parser is the
// server's, not the connection's).
func TestClientSize(t *testing.T) {
	if n := unsafe.Sizeof(client{}); n > 96 {
		t.Errorf("client is %d bytes, over the 96-byte size class", n)
	}
	// An idle socket of the main namespace: its Socket stays in the
	// 176-byte size class (168 bytes at issue 14); rarely used state
	// (hooks, acks) is allocated on demand.
	if n := unsafe.Sizeof(Socket{}); n > 176 {
		t.Errorf("Socket is %d bytes, over the 176-byte size class", n)
	}
}

// textParser is a toy parser writing text messages ("<type>|<nsp>|<id>|<json>",
// no binary), to check the seam's text path.
type textParser struct{}

func (textParser) Encode(dst []byte, p *sioparser.Packet) ([]byte, bool, error) {
	dst = append(dst, byte('0'+p.Type), '|')
	dst = append(dst, p.Namespace...)
	dst = append(dst, '|')
	if p.HasID {
		dst = strconv.AppendUint(dst, p.ID, 10)
	}
	dst = append(dst, '|')
	return append(dst, p.Data...), false, nil
}

func (textParser) Decode(msg []byte, binary bool, _ sioparser.Limits) (*sioparser.Packet, error) {
	parts := strings.SplitN(string(msg), "|", 4)
	if binary || len(parts) != 4 || len(parts[0]) != 1 {
		return nil, errors.New("textParser: bad message")
	}
	p := &sioparser.Packet{Type: sioparser.Type(parts[0][0] - '0'), Namespace: parts[1]}
	if parts[2] != "" {
		id, err := strconv.ParseUint(parts[2], 10, 64)
		if err != nil {
			return nil, err
		}
		p.ID, p.HasID = id, true
	}
	if parts[3] != "" {
		p.Data = []byte(parts[3])
	}
	return p, nil
}

// TestCustomTextParser: a parser that writes text messages works too.
func TestCustomTextParser(t *testing.T) {
	opts := testOptions()
	opts.Parser = textParser{}
	srv := NewServer(opts)
	srv.OnConnection(func(s *Socket) {
		s.On("add", func(a, b int, ack func(int)) { ack(a + b) })
		_ = s.Emit("hello", "you")
	})
	base := newTestServer(t, srv)
	c := dialRaw(t, base)
	c.send("40|/||")
	c.expectPrefix(`40|/||{"sid":"`)
	c.expect(`42|/||["hello","you"]`)
	c.send(`42|/|7|["add",1,2]`)
	c.expect(`43|/|7|[3]`)
	c.send(`4garbage`)
	c.expectClosed()
}
