// Command ceiling is the benchmark's ceiling server: the least a server
// can do to answer the bench contract (see bench/README.md) over
// WebSocket, on gorilla/websocket, so that the tables can show the other
// servers as a fraction of what this machine can do for the same work.
//
// It is not a Socket.IO server. It knows one namespace ("/"), two events
// ("echo" and "broadcast"), no rooms, no heartbeat (its open packet
// announces a ping interval of an hour and it never pings), no upgrade, no
// compression, no MessagePack. It parses only what it must: the packet
// types, the ack id and the event name; an echo is answered by copying the
// request's argument bytes into the ack, and only the rare broadcast
// request is decoded as JSON.
//
// HTTP long-polling is there for the polling table's ceiling: the least a
// net/http handler does for it. A session is its sid, a buffer of packets
// and a channel that wakes its GET; a POST's packets are handled as over
// WebSocket, echo only (broadcasts reach WebSocket clients only); the
// responses carry Content-Type and Content-Length and nothing else, and
// have no deadlines. A session lasts until the client closes it or its
// queue passes the WebSocket queue's bound: there is no heartbeat to end an
// abandoned one.
//
// What it keeps from a real server, so that the comparison stays fair:
// a reader goroutine per connection (gorilla's model), a byte-bounded
// outbound queue per connection, written in batches (many queued frames
// leave in one write), and a broadcast encoded once and shared by every
// recipient. It goes beyond gorilla's API in one place, for speed: frames
// are written straight to the connection's socket, a reply with one
// non-blocking write on the reader's goroutine, a broadcast's by the
// workers of a flush queue, as socketio-go does.
// For memory: the reader is a goroutine of its own (net/http's ends after
// the upgrade), gorilla's read buffer is 512 bytes, and message buffers
// and gorilla's write buffer are pooled, so an idle connection holds
// about 8 KiB of RSS, mostly its goroutine. A broadcast request's count
// messages are count emits, as the contract asks of every server (the
// event is encoded once, then each emit queues it for every client): a
// server that packed them into one buffer would measure a different
// workload, one that no Socket.IO API offers.
//
// It is its own module so that users of socketio-go never depend on it.
//
//	cd bench/servers/ceiling && go run . -addr 127.0.0.1:3000
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/gorilla/websocket"
)

// Limits: the largest message read (Engine.IO's default maxPayload) and
// the most bytes queued for one connection before it is dropped.
const (
	maxPayload = 1_000_000
	maxQueued  = 64 << 20
)

func main() {
	def := os.Getenv("BENCH_ADDR")
	if def == "" {
		def = "127.0.0.1:3000"
	}
	addr := flag.String("addr", def, "listen address host:port (env BENCH_ADDR)")
	flag.Parse()

	srv := newServer()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		os.Exit(0)
	}()
	log.Fatal(http.Serve(ln, srv))
}

// server holds the connected clients.
type server struct {
	upgrader websocket.Upgrader
	nextSID  atomic.Uint64

	mu    sync.Mutex
	conns map[*conn]struct{}      // guarded by mu
	polls map[string]*pollSession // guarded by mu; long-polling sessions by sid
}

// writeBufPool lends gorilla its write buffer for the rare frames it
// writes itself (pongs, close), so idle connections hold none.
type writeBufPool struct{ p sync.Pool }

func (w *writeBufPool) Get() any  { return w.p.Get() }
func (w *writeBufPool) Put(v any) { w.p.Put(v) }

func newServer() *server {
	return &server{
		upgrader: websocket.Upgrader{
			ReadBufferSize:  512,
			WriteBufferPool: &writeBufPool{},
			CheckOrigin:     func(*http.Request) bool { return true },
		},
		conns: make(map[*conn]struct{}),
		polls: make(map[string]*pollSession),
	}
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.URL.Path == "/socket.io/" && q.Get("EIO") == "4" && q.Get("transport") == "polling" {
		s.servePolling(w, r, q.Get("sid"))
		return
	}
	if r.URL.Path != "/socket.io/" || q.Get("EIO") != "4" || q.Get("transport") != "websocket" || q.Get("sid") != "" {
		writeError(w, `{"code":0,"message":"Transport unknown"}`)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	ws.SetReadLimit(maxPayload)
	c := &conn{srv: s, ws: ws, nc: ws.NetConn()}
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		ws.Close()
		return
	}
	if c.raw, err = sc.SyscallConn(); err != nil {
		ws.Close()
		return
	}
	sid := strconv.FormatUint(s.nextSID.Add(1), 36)
	c.enqueue(frame(nil, websocket.TextMessage, openPacket(sid)), true)
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	// The reader runs on a goroutine of its own, so that net/http's
	// (with its deeper stack and the request's objects) ends here.
	go func() {
		c.read(sid)
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		ws.Close()
	}()
}

// conn is one client. Its reader runs on a goroutine of its own; enqueue
// may be called from any goroutine.
type conn struct {
	srv *server
	ws  *websocket.Conn
	nc  net.Conn
	raw syscall.RawConn // of nc, for non-blocking writes

	mu       sync.Mutex
	queue    [][]byte // guarded by mu: frames waiting to be written
	spare    [][]byte // guarded by mu: the last batch's slice, for reuse
	queued   int      // guarded by mu: bytes in queue
	flushing bool     // guarded by mu: a writer (worker, reply or flusher) owns the write side
	pending  bool     // guarded by mu: in the flush queue, no writer yet
	dead     bool     // guarded by mu: a write failed or the queue overflowed
}

// A broadcast queues its frames on every client; clients with frames
// queued wait in the flush queue, which one worker per processor but one
// writes in turn, each client's frames with one non-blocking write (a
// goroutine per client and broadcast would put thousands on the run
// queues at once, ahead of the readers). A client whose socket takes
// nothing gets a flusher goroutine of its own, which may wait. A reply on
// the reader's goroutine writes at once, with what waits for the worker
// before it.
var flushq struct {
	sync.Mutex
	conns   []*conn
	workers int
}

func pushFlush(c *conn) {
	flushq.Lock()
	flushq.conns = append(flushq.conns, c)
	start := flushq.workers < max(1, runtime.GOMAXPROCS(0)-1)
	if start {
		flushq.workers++
	}
	flushq.Unlock()
	if start {
		go flushWorker()
	}
}

func flushWorker() {
	for i := 1; ; i++ {
		flushq.Lock()
		if len(flushq.conns) == 0 {
			flushq.workers--
			flushq.conns = nil
			flushq.Unlock()
			return
		}
		c := flushq.conns[0]
		flushq.conns[0] = nil
		flushq.conns = flushq.conns[1:]
		flushq.Unlock()
		c.mu.Lock()
		if !c.pending {
			c.mu.Unlock() // a reply wrote the queue
			continue
		}
		c.pending = false
		c.writeQueued(nil) // unlocks
		if i%32 == 0 {
			runtime.Gosched()
		}
	}
}

// joinPool lends the buffers that join a batch of frames for one write.
var joinPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// enqueue writes frames (which are never modified afterwards) or queues
// them: a reply (inline: on the connection's reader goroutine) is written
// at once with what is queued for the flush queue, a broadcast's frames
// (not inline) are queued and the client put in the flush queue.
func (c *conn) enqueue(frames []byte, inline bool) {
	c.mu.Lock()
	switch {
	case c.dead:
		c.mu.Unlock()
		return
	case c.flushing || (c.pending && !inline):
		if c.queued += len(frames); c.queued > maxQueued {
			c.dead = true
			c.mu.Unlock()
			c.nc.Close()
			return
		}
		c.queue = append(c.queue, frames)
		c.mu.Unlock()
		return
	case !inline:
		c.queue = append(c.queue, frames)
		c.queued += len(frames)
		c.pending = true
		c.mu.Unlock()
		pushFlush(c)
		return
	}
	c.pending = false // a reply takes what waits for a worker
	c.writeQueued(frames)
}

// writeQueued writes the queue, then extra, with one non-blocking write;
// what the socket does not take goes to a flusher goroutine. c.mu is held
// and the write side free; writeQueued unlocks.
func (c *conn) writeQueued(extra []byte) {
	c.flushing = true
	batch := c.queue
	c.queue, c.spare, c.queued = c.spare[:0], nil, 0
	c.mu.Unlock()

	buf := extra
	var bp *[]byte
	if len(batch) > 0 {
		bp = joinPool.Get().(*[]byte)
		b := (*bp)[:0]
		for _, f := range batch {
			b = append(b, f...)
		}
		buf = append(b, extra...)
		*bp = buf
	}
	n, err := c.tryWrite(buf)
	c.mu.Lock()
	clear(batch)
	c.spare = batch[:0]
	if err != nil {
		c.dead, c.flushing = true, false
		c.mu.Unlock()
		c.nc.Close()
	} else if n < len(buf) {
		rest := append([]byte(nil), buf[n:]...)
		c.queue = append([][]byte{rest}, c.queue...)
		c.queued += len(rest)
		c.mu.Unlock()
		go c.flush() // c.flushing stays set for it
	} else if len(c.queue) > 0 {
		c.flushing, c.pending = false, true
		c.mu.Unlock()
		pushFlush(c)
	} else {
		c.flushing = false
		c.mu.Unlock()
	}
	if bp != nil {
		joinPool.Put(bp)
	}
}

// tryWrite makes one non-blocking write of b and returns how much the
// socket took.
func (c *conn) tryWrite(b []byte) (int, error) {
	var n int
	var werr error
	err := c.raw.Write(func(fd uintptr) bool {
		n, werr = syscall.Write(int(fd), b)
		return true // no waiting: what is left goes to the flusher
	})
	if werr == syscall.EAGAIN || werr == syscall.EINTR {
		n, werr = 0, nil
	}
	if err == nil {
		err = werr
	}
	return max(n, 0), err
}

// flush writes the queue, each batch with one writev, until it is empty;
// it may wait for the socket.
func (c *conn) flush() {
	for {
		c.mu.Lock()
		batch := c.queue
		if len(batch) == 0 || c.dead {
			c.flushing = false
			c.mu.Unlock()
			return
		}
		c.queue, c.spare = c.spare[:0], nil
		c.queued = 0
		c.mu.Unlock()

		bufs := net.Buffers(batch) // WriteTo consumes its receiver
		_, err := bufs.WriteTo(c.nc)
		clear(batch)

		c.mu.Lock()
		c.spare = batch[:0]
		if err != nil {
			c.dead = true
			c.flushing = false
			c.mu.Unlock()
			c.nc.Close()
			return
		}
		c.mu.Unlock()
	}
}

// read handles the client's messages until the connection ends.
func (c *conn) read(sid string) {
	for {
		mt, r, err := c.ws.NextReader()
		if err != nil {
			return
		}
		if !c.message(mt, r, sid) {
			return
		}
	}
}

// msgBufs lends the readers their message buffers, so that an idle
// connection holds none. Nothing keeps a reference to one after message.
var msgBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// message reads and handles one message; false ends the connection.
func (c *conn) message(mt int, r io.Reader, sid string) bool {
	bp := msgBufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 64<<10 {
			msgBufs.Put(bp)
		}
	}()
	buf, err := readAll((*bp)[:0], r)
	*bp = buf[:0]
	if err != nil {
		return false
	}
	if mt != websocket.TextMessage || len(buf) == 0 {
		return true // no binary events in this contract
	}
	switch buf[0] {
	case '2': // Engine.IO ping (clients of EIO 4 do not send it)
		c.enqueue(framePong, true)
	case '1':
		return false
	case '4':
		return c.packet(buf[1:], sid)
	}
	return true
}

// readAll appends what r gives to buf.
func readAll(buf []byte, r io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// packet handles one Socket.IO packet; false ends the connection.
func (c *conn) packet(p []byte, sid string) bool {
	if len(p) == 0 {
		return false
	}
	switch p[0] {
	case '0': // CONNECT: "0" or "0{auth}" for "/", "0/nsp,..." for others
		if len(p) > 1 && p[1] == '/' {
			nsp, _, _ := bytes.Cut(p[1:], []byte(","))
			c.enqueue(frame(nil, websocket.TextMessage, `44`+string(nsp)+`,{"message":"Invalid namespace"}`), true)
			return true
		}
		c.enqueue(frame(nil, websocket.TextMessage, `40{"sid":"`+sid+`"}`), true)
	case '1': // DISCONNECT
		return false
	case '2': // EVENT: 2<id>["name",args...]
		id, rest := ackID(p[1:])
		switch {
		case bytes.HasPrefix(rest, []byte(`["echo"`)):
			if id != nil {
				args := echoArgs(rest)
				n := 1 + 1 + len(id) + 1 + len(args)
				f := frameHeader(make([]byte, 0, 10+n), websocket.TextMessage, n)
				c.enqueue(appendEchoAck(f, id, args), true)
			}
		case bytes.HasPrefix(rest, []byte(`["broadcast",`)):
			c.srv.broadcast(rest[len(`["broadcast",`):])
			if id != nil {
				c.enqueue(frame(nil, websocket.TextMessage, "43"+string(id)+"[]"), true)
			}
		}
	}
	return true
}

// ackID splits the digits of an ack id off the start of p.
func ackID(p []byte) (id, rest []byte) {
	i := 0
	for i < len(p) && p[i] >= '0' && p[i] <= '9' {
		i++
	}
	if i == 0 {
		return nil, p
	}
	return p[:i], p[i:]
}

// echoArgs returns the arguments of the echo event ["echo",args...] as
// they end its ack: "a,b]", or "]" for none.
func echoArgs(ev []byte) []byte {
	args := ev[len(`["echo"`):] // ",a,b]" or "]"
	if len(args) > 0 && args[0] == ',' {
		return args[1:]
	}
	return []byte("]")
}

// appendEchoAck appends the Engine.IO message of the ack 3<id>[args to dst
// (args as echoArgs returns them).
func appendEchoAck(dst, id, args []byte) []byte {
	dst = append(dst, '4', '3')
	dst = append(dst, id...)
	dst = append(dst, '[')
	return append(dst, args...)
}

// openPacket is the Engine.IO open packet of session sid.
func openPacket(sid string) string {
	return `0{"sid":"` + sid + `","upgrades":[],"pingInterval":3600000,"pingTimeout":20000,"maxPayload":1000000}`
}

// writeError answers a request the contract does not know with a 400.
func writeError(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	io.WriteString(w, body)
}

// pollSession is a long-polling client: the packets its next GET takes.
type pollSession struct {
	sid  string
	wake chan struct{} // a send means queue has packets (or closed is set)

	mu     sync.Mutex
	queue  []byte // guarded by mu: 0x1e-separated Engine.IO packets
	closed bool   // guarded by mu
}

// push queues one packet for the GET, and wakes it. It reports false,
// queueing nothing, when the queue would pass maxQueued (a client that
// posts without polling), as the WebSocket queue's bound drops a client.
func (p *pollSession) push(packet []byte) bool {
	p.mu.Lock()
	if len(p.queue)+1+len(packet) > maxQueued {
		p.mu.Unlock()
		return false
	}
	if len(p.queue) > 0 {
		p.queue = append(p.queue, 0x1e)
	}
	p.queue = append(p.queue, packet...)
	p.mu.Unlock()
	p.signal()
	return true
}

// signal wakes the waiting GET, if any (or the next one).
func (p *pollSession) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// servePolling answers a long-polling request: without sid a handshake,
// with one a GET (waiting for packets) or a POST (packets to handle).
func (s *server) servePolling(w http.ResponseWriter, r *http.Request, sid string) {
	if sid == "" {
		if r.Method != http.MethodGet {
			writeError(w, `{"code":2,"message":"Bad handshake method"}`)
			return
		}
		p := &pollSession{sid: strconv.FormatUint(s.nextSID.Add(1), 36), wake: make(chan struct{}, 1)}
		s.mu.Lock()
		s.polls[p.sid] = p
		s.mu.Unlock()
		writePlain(w, []byte(openPacket(p.sid)))
		return
	}
	s.mu.Lock()
	p := s.polls[sid]
	s.mu.Unlock()
	if p == nil {
		writeError(w, `{"code":1,"message":"Session ID unknown"}`)
		return
	}
	switch r.Method {
	case http.MethodGet:
		for {
			p.mu.Lock()
			body, closed := p.queue, p.closed
			p.queue = nil
			p.mu.Unlock()
			if len(body) > 0 || closed {
				if len(body) == 0 {
					body = []byte("1")
				}
				writePlain(w, body)
				return
			}
			select {
			case <-p.wake:
			case <-r.Context().Done():
				return
			}
		}
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, maxPayload+1))
		if err != nil || len(body) > maxPayload {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		for pkt := range bytes.SplitSeq(body, []byte{0x1e}) {
			if !s.pollPacket(p, pkt) {
				break
			}
		}
		writePlain(w, []byte("ok"))
	default:
		writeError(w, `{"code":2,"message":"Bad request"}`)
	}
}

// pollPacket handles one Engine.IO packet of a polling session; false ends
// the session.
func (s *server) pollPacket(p *pollSession, pkt []byte) bool {
	ok := true
	switch {
	case len(pkt) == 0 || pkt[0] == '1' || (pkt[0] == '4' && len(pkt) > 1 && pkt[1] == '1'):
		ok = false
	case bytes.Equal(pkt, []byte("40")):
		ok = p.push([]byte(`40{"sid":"` + p.sid + `"}`))
	case len(pkt) > 2 && pkt[0] == '4' && pkt[1] == '2':
		id, rest := ackID(pkt[2:])
		if id != nil && bytes.HasPrefix(rest, []byte(`["echo"`)) {
			var b [128]byte
			ok = p.push(appendEchoAck(b[:0], id, echoArgs(rest)))
		}
	}
	if !ok {
		s.mu.Lock()
		delete(s.polls, p.sid)
		s.mu.Unlock()
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.signal()
	}
	return ok
}

// writePlain answers 200 with a text body.
func writePlain(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h["Content-Type"] = textPlain
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.Write(body)
}

var textPlain = []string{"text/plain; charset=UTF-8"}

// broadcast sends the events a broadcast request {count, size, binary}
// (the JSON object at the start of req) asks for to every client.
func (s *server) broadcast(req []byte) {
	var r struct {
		Count  int  `json:"count"`
		Size   int  `json:"size"`
		Binary bool `json:"binary"`
	}
	obj := req[:bytes.LastIndexByte(req, ']')+1]
	if len(obj) > 0 {
		obj = obj[:len(obj)-1]
	}
	if err := json.Unmarshal(obj, &r); err != nil || r.Count <= 0 || r.Size < 0 || r.Size > maxPayload {
		return
	}
	one := eventFrames(r.Size, r.Binary)
	s.mu.Lock()
	targets := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		targets = append(targets, c)
	}
	s.mu.Unlock()
	for range r.Count {
		for _, c := range targets {
			c.enqueue(one, false)
		}
	}
}

// eventFrames returns the frames of one "msg" event with a payload of size
// bytes: a string of x, or one binary attachment.
func eventFrames(size int, bin bool) []byte {
	x := bytes.Repeat([]byte("x"), size)
	if bin {
		f := frame(nil, websocket.TextMessage, `451-["msg",{"_placeholder":true,"num":0}]`)
		return appendFrame(f, websocket.BinaryMessage, x)
	}
	return frame(nil, websocket.TextMessage, `42["msg","`+string(x)+`"]`)
}

var framePong = frame(nil, websocket.TextMessage, "3")

func frame(dst []byte, op int, payload string) []byte {
	return append(frameHeader(dst, op, len(payload)), payload...)
}

func appendFrame(dst []byte, op int, payload []byte) []byte {
	return append(frameHeader(dst, op, len(payload)), payload...)
}

// frameHeader appends the header of an unmasked final server frame.
func frameHeader(dst []byte, op, n int) []byte {
	b0 := 0x80 | byte(op)
	switch {
	case n <= 125:
		return append(dst, b0, byte(n))
	case n <= 0xFFFF:
		return append(dst, b0, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, b0, 127)
		return binary.BigEndian.AppendUint64(dst, uint64(n))
	}
}
