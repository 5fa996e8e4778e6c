package interop

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/engineio"
	"github.com/socketio-go/socketio/webtransport"
)

// TestWebTransportBrowser: the official client (socket.io.min.js, served
// by our server) in headless Chromium over WebTransport, HTTP/3 on a UDP
// socket of 127.0.0.1 with a self-signed certificate, the page on
// http://127.0.0.1 (a secure context). Chromium accepts the certificate
// in two ways, one browser each: the page passes its hash in
// transportOptions.webtransport.serverCertificateHashes, or the browser
// is started with --ignore-certificate-errors-spki-list and
// --origin-to-force-quic-on. Sessions are made directly (transports:
// ["webtransport"]), upgraded from long-polling (["polling",
// "webtransport"]) and with the client's default transports (polling,
// websocket, webtransport: WebTransport is probed first, and the
// WebSocket upgrade is held back); each does an
// event round trip with an acknowledgement, a 200 KB binary round trip,
// pushes from the server and an acknowledgement the server asks for, and
// checks on both sides that the transport is "webtransport".
func TestWebTransportBrowser(t *testing.T) {
	needBrowser(t, "socket.io.min.js")
	var logs syncBuffer
	srv := socketio.NewServer(&socketio.Options{
		ClientDir: clientDist,
		Logger:    slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Engine: engineio.Options{
			Transports: []string{engineio.Polling, engineio.WebSocket, engineio.WebTransport},
		},
	})
	var mu sync.Mutex
	var reasons []string // guarded by mu: how each socket ended, with its last transport
	srv.OnConnection(func(s *socketio.Socket) {
		s.OnDisconnect(func(reason socketio.DisconnectReason, _ error) {
			mu.Lock()
			reasons = append(reasons, s.Transport()+": "+string(reason))
			mu.Unlock()
		})
		// The transport the session opened on, pushed at once.
		_ = s.Emit("welcome", s.Transport())
		// Every value back, and the transport that carried the event.
		s.On("echo", func(args socketio.Args, ack func(...any)) {
			vals, err := args.Values()
			if err != nil {
				ack("error: " + err.Error())
				return
			}
			ack(append(vals, s.Transport())...)
		})
		// The bytes reversed, and how many came.
		s.On("reverse", func(b []byte, ack func([]byte, int)) {
			n := len(b)
			slices.Reverse(b)
			ack(b, n)
		})
		// n pushes, each with binary.
		s.On("push", func(n int) {
			for i := range n {
				_ = s.Emit("pushed", i, []byte{byte(i), 0xff})
			}
		})
		// The server asks the page; the page's answer comes back in the
		// acknowledgement.
		s.On("server-asks", func(ack func(any)) {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				args, err := s.EmitWithAck(ctx, "double", 21)
				if err != nil {
					ack("error: " + err.Error())
					return
				}
				var n int
				if err := args.Decode(&n); err != nil {
					ack("error: " + err.Error())
					return
				}
				ack(n)
			}()
		})
	})

	cert, err := webtransport.SelfSigned("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	hash := webtransport.Hash(cert)
	spki := sha256.Sum256(cert.Leaf.RawSubjectPublicKeyInfo)
	wt, err := webtransport.New(srv.Engine(), &webtransport.Options{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = wt.Serve(pc)
	}()

	// The client's default transports probe WebTransport and, 200 ms
	// later, WebSocket, and keep the first that answers: WebSocket could
	// win on a busy machine. Its upgrades wait 2 s here, so that the
	// defaults session ends on WebTransport whatever the load.
	slowWebSocket := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if q := r.URL.Query(); q.Get("transport") == engineio.WebSocket && q.Get("sid") != "" {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		}
		srv.ServeHTTP(w, r)
	})
	ps := newPageServer(slowWebSocket, webTransportPage, "socket.io.min.js")
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = wt.Close()
		_ = pc.Close()
		<-served
		ps.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	}()

	ended := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(reasons)
	}
	// One browser per way of accepting the certificate, each with its own
	// Node run (and timeout).
	for _, accept := range []string{"hash", "spki"} {
		t.Run(accept, func(t *testing.T) {
			before := ended()
			runNode(t, "browser-webtransport.test.mjs",
				"WT_ACCEPT="+accept,
				"PAGE_URL="+ps.URL+"/",
				"WT_PORT="+strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port),
				"WT_CERT_HASH="+hex.EncodeToString(hash[:]),
				"WT_SPKI="+base64.StdEncoding.EncodeToString(spki[:]),
			)
			// The page disconnected its 3 sockets itself, over
			// WebTransport; the server may see the last one end after
			// the browser is gone.
			for deadline := time.Now().Add(10 * time.Second); ended() < before+3 && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
			}
			if n := ended() - before; n != 3 {
				t.Fatalf("%d sockets ended, want 3", n)
			}
		})
	}
	if ps.scripts.Load() == 0 {
		t.Fatal("the page did not load socket.io.min.js from the server")
	}
	// The client sends its disconnect packet and then closes the session
	// at once, which resets the stream (WT_SESSION_GONE): QUIC lets the
	// server drop stream data it has not read yet, so the packet may be
	// lost and the socket end with "transport close" instead.
	mu.Lock()
	defer mu.Unlock()
	for _, r := range reasons {
		if r != "webtransport: client namespace disconnect" && r != "webtransport: transport close" {
			t.Errorf("a socket ended with %q, want %q (or transport close)", r, "webtransport: client namespace disconnect")
		}
	}
}

// webTransportPage is the page of TestWebTransportBrowser. window.run(opts)
// connects the three ways with the given transportOptions.webtransport and
// returns what each saw; binary values as hex.
const webTransportPage = `<!doctype html>
<title>webtransport</title>
<script src="/socket.io/socket.io.min.js"></script>
<script>
const hex = (v) => v instanceof ArrayBuffer ? "bin:" + Array.from(new Uint8Array(v), (x) => x.toString(16).padStart(2, "0")).join("") :
  Array.isArray(v) ? v.map(hex) : v;
const ackAll = (s, ev, ...args) => new Promise((resolve, reject) =>
  s.timeout(10000).emit(ev, ...args, (err, ...reply) => err ? reject(err) : resolve(reply)));
const upgraded = (s) => new Promise((resolve, reject) => {
  if (s.io.engine.transport.name === "webtransport") return resolve();
  s.io.engine.once("upgrade", resolve);
  setTimeout(() => reject(new Error("no upgrade in 10 s: still on " + s.io.engine.transport.name)), 10000);
});

async function session(transports, webtransport) {
  const opts = { forceNew: true, reconnection: false, transportOptions: { webtransport } };
  if (transports) opts.transports = transports;
  const s = io(opts);
  // The transport the session opened on; an upgrade may be done by the
  // time the socket connects.
  const opened = new Promise((resolve) => s.io.once("open", () => resolve(s.io.engine.transport.name)));
  const welcome = new Promise((resolve) => s.once("welcome", resolve));
  await new Promise((resolve, reject) => { s.once("connect", resolve); s.once("connect_error", reject); });
  const out = { opened: await opened, welcome: await welcome };
  await upgraded(s);
  out.transport = s.io.engine.transport.name;
  out.echo = await ackAll(s, "echo", "é ✓", 1.5, [true, null], { a: { b: "c" } });
  // 200 KB: frames with a 64-bit length, over many QUIC packets.
  const big = new Uint8Array(200 * 1024).map((_, i) => i % 251);
  const [rev, n] = await ackAll(s, "reverse", big);
  const back = new Uint8Array(rev);
  out.reverse = [n, back.length, back.every((x, i) => x === big[big.length - 1 - i])];
  const pushed = [];
  const got = new Promise((resolve) => s.on("pushed", (i, b) => { pushed.push([i, hex(b)]); if (pushed.length === 3) resolve(); }));
  s.emit("push", 3);
  await got;
  out.pushed = pushed;
  s.on("double", (n, cb) => cb(n * 2));
  out.asked = await ackAll(s, "server-asks");
  out.still = s.io.engine.transport.name;
  s.disconnect();
  return out;
}

window.run = async (webtransport) => ({
  direct: await session(["webtransport"], webtransport),
  upgrade: await session(["polling", "webtransport"], webtransport),
  defaults: await session(undefined, webtransport),
});
</script>`
