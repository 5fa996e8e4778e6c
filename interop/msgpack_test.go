package interop

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/msgpackparser"
)

// TestMsgpack: npm socket.io-client with npm socket.io-msgpack-parser
// against a server with our MessagePack parser, over websocket and
// polling: events of every JSON type, acknowledgements both ways, binary
// at the top level and nested both ways (Buffer, ArrayBuffer, Uint8Array),
// namespaces, rooms and broadcasts, connect errors with data, the server
// disconnecting a socket, and a malformed message closing the connection
// with "parse error".
func TestMsgpack(t *testing.T) {
	opts := &socketio.Options{Parser: msgpackparser.New()}
	e := newEnv(t, opts, func(e *env, srv *socketio.Server) { msgpackHandlers(srv, e.track) })
	e.run("msgpack.test.mjs")
}

// msgpackHandlers are the handlers of the MessagePack scenarios, in "/"
// and "/chat"; "/private" refuses every socket with data.
func msgpackHandlers(srv *socketio.Server, track func(*socketio.Socket)) {
	setup := func(n *socketio.Namespace) {
		n.OnConnection(func(s *socketio.Socket) {
			track(s)
			// Every value back as Go decoded it, and the namespace.
			s.On("echo", func(args socketio.Args, ack func(...any)) {
				vals, err := args.Values()
				if err != nil {
					ack("error: " + err.Error())
					return
				}
				ack(append(vals, n.Name())...)
			})
			// Typed arguments, binary included.
			s.On("bin-nested", func(b Blob, ack func(Blob, string)) {
				b.Name += "!"
				b.Data = append(b.Data, 0xff)
				b.List = append(b.List, []byte("added"))
				ack(b, "ok")
			})
			s.On("join", func(room string, ack func([]string)) {
				s.Join(room)
				rooms := s.Rooms()
				slices.Sort(rooms)
				ack(rooms)
			})
			s.On("to-room", func(room string, payload any, ack func()) {
				_ = n.To(room).Emit("room-msg", payload, []byte{1, 2, 3})
				ack()
			})
			// The server asks the client, with binary, and acks back
			// what the client answered.
			s.On("server-asks", func(ack func(map[string]any)) {
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					args, err := s.EmitWithAck(ctx, "double", 21, []byte{7, 8}, map[string]any{"deep": []byte{9}})
					if err != nil {
						ack(map[string]any{"error": err.Error()})
						return
					}
					var n int
					var b []byte
					var m map[string]any
					if err := args.Decode(&n, &b, &m); err != nil {
						ack(map[string]any{"error": err.Error()})
						return
					}
					ack(map[string]any{"n": n, "b": b, "m": m})
				}()
			})
			s.On("kick", func() { s.Disconnect(false) })
			s.On("wire", func(ack func(int, string)) {
				_ = s.Emit("srv", "x", []byte{1, 2})
				ack(1, "two")
			})
		})
	}
	setup(srv.Sockets())
	setup(srv.Of("/chat"))
	srv.Of("/private").Use(func(*socketio.Socket) error {
		return socketio.NewConnectError("not authorized", map[string]any{"code": 401, "retry": false})
	})
}

// TestMsgpackBrowser: the JavaScript client's MessagePack bundle, as our
// server serves it (socket.io.msgpack.min.js, from socket.io-client's
// dist), in headless Chromium against a server with our MessagePack
// parser: long-polling then the upgrade to WebSocket, events and
// acknowledgements both ways with binary (ArrayBuffer) at the top level
// and nested, namespaces and a room broadcast, a connect error with data.
func TestMsgpackBrowser(t *testing.T) {
	needBrowser(t, "socket.io.msgpack.min.js")
	var logs syncBuffer
	srv := socketio.NewServer(&socketio.Options{
		Parser:    msgpackparser.New(),
		ClientDir: clientDist,
		Logger:    slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	msgpackHandlers(srv, func(*socketio.Socket) {})
	ps := newPageServer(srv, msgpackPage, "socket.io.msgpack.min.js")
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ps.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	}()
	runNode(t, "browser-msgpack.test.mjs", "PAGE_URL="+ps.URL+"/")
	if ps.scripts.Load() == 0 {
		t.Fatal("the page did not load socket.io.msgpack.min.js from the server")
	}
}

// msgpackPage is the page of TestMsgpackBrowser: window.run() returns what
// it saw, binary values as hex.
const msgpackPage = `<!doctype html>
<title>msgpack</title>
<script src="/socket.io/socket.io.msgpack.min.js"></script>
<script>
const B = (...b) => new Uint8Array(b).buffer;
const hex = (v) => v instanceof ArrayBuffer ? "bin:" + Array.from(new Uint8Array(v), (x) => x.toString(16).padStart(2, "0")).join("") :
  Array.isArray(v) ? v.map(hex) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, hex(x)])) : v;
const ackAll = (s, ev, ...args) => new Promise((resolve, reject) =>
  s.timeout(5000).emit(ev, ...args, (err, ...reply) => err ? reject(err) : resolve(reply)));
const connected = (s) => new Promise((resolve, reject) => { s.on("connect", resolve); s.on("connect_error", reject); });
window.run = async () => {
  const out = {};
  const sp = io({ transports: ["polling"], forceNew: true, reconnection: false });
  await connected(sp);
  out.polling = [sp.io.engine.transport.name, hex(await ackAll(sp, "echo", { x: [B(9)] }))];
  sp.disconnect();
  const s = io({ reconnection: false }); // long-polling, then the upgrade to WebSocket
  await connected(s);
  out.echo = hex(await ackAll(s, "echo", "é", 1, -1.5, 2 ** 40, true, null, { a: [1, { b: "c" }] }, B(1, 2)));
  out.nested = hex(await ackAll(s, "bin-nested", { name: "page", data: B(1, 2, 3), list: [B(4), B(5, 6)], inner: { blob: B(7) } }));
  await new Promise((resolve) => s.io.engine.transport.name === "websocket" ? resolve() : s.io.engine.once("upgrade", resolve));
  out.upgraded = s.io.engine.transport.name;
  s.on("double", (n, b, m, cb) => cb(n * 2, B(...new Uint8Array(b), 0xee), { ...m, extra: B(1) }));
  out.asks = hex(await ackAll(s, "server-asks"));
  const a = io("/chat", { reconnection: false }), b = io("/chat", { reconnection: false });
  await Promise.all([connected(a), connected(b)]);
  out.join = (await ackAll(b, "join", "r1")).length;
  const got = new Promise((resolve) => b.once("room-msg", (...args) => resolve(hex(args))));
  await ackAll(a, "to-room", "r1", { text: "hi" });
  out.room = await got;
  const p = io("/private", { reconnection: false });
  out.refused = await new Promise((resolve) => p.on("connect_error", (e) => resolve({ message: e.message, data: e.data })));
  for (const x of [s, a, b, p]) x.disconnect();
  return out;
};
</script>`
