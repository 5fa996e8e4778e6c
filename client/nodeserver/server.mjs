// The Node reference server (npm socket.io, pinned in package-lock.json)
// that the Go client's tests run against; the Go tests start it with
// `node server.mjs` and read "listening <port>" from its standard output.
// The Go server of those tests (client/peers_test.go) behaves the same way.
//
// Environment:
//   PORT           port on 127.0.0.1 (0 or unset: any free port)
//   RECOVERY=1     connection state recovery on
//   PING_INTERVAL  and PING_TIMEOUT, in milliseconds (Node's defaults otherwise)
//   PARSER=msgpack the parser of npm socket.io-msgpack-parser (pinned too)
//   DEFLATE=1      WebSocket compression on (perMessageDeflate)
//   ALLOW_EIO3=1   Socket.IO 2.x clients allowed (allowEIO3)
//
// Namespaces "/" and "/room" are open; "/admin" has a middleware that
// refuses connections without auth {token: "secret"}, with the error
// "not authorized" and data {code: 401}. Any other namespace is invalid.
//
// Events, in every namespace:
//   on connection   emits "welcome" {id, nsp, recovered, auth}
//   echo(...args, ack?)           acks with args, or emits "echo" with them
//   emit-back(ev, ...args)        emits ev with args
//   ask(ev, payload, ack)         emits ev with payload and an ack (2 s timeout);
//                                 acks the answer, or {error} on timeout
//   drop-first(n, ack)            counts arrivals of n; acks the count from the
//                                 second arrival on (the first is "lost")
//   seen(n, ack)                  acks how many times n arrived
//   disconnect-me()               disconnects the socket (server side)
//   drop-me(engineId, ev?, data?) closes the client's Engine.IO connection; with
//                                 ev, emits ev(data) to the socket's room 50 ms
//                                 later (missed while disconnected)
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number(process.env.PORT || 0);
const opts = {};
if (process.env.RECOVERY === "1") {
  opts.connectionStateRecovery = { maxDisconnectionDuration: 60000, skipMiddlewares: true };
}
if (process.env.PING_INTERVAL) opts.pingInterval = Number(process.env.PING_INTERVAL);
if (process.env.PING_TIMEOUT) opts.pingTimeout = Number(process.env.PING_TIMEOUT);
if (process.env.PARSER === "msgpack") opts.parser = (await import("socket.io-msgpack-parser")).default;
if (process.env.DEFLATE === "1") opts.perMessageDeflate = true;
if (process.env.ALLOW_EIO3 === "1") opts.allowEIO3 = true;

const httpServer = createServer();
const io = new Server(httpServer, opts);

function setup(nsp) {
  const seen = new Map();
  nsp.on("connection", (socket) => {
    socket.emit("welcome", {
      id: socket.id,
      nsp: nsp.name,
      recovered: socket.recovered,
      auth: socket.handshake.auth,
    });
    socket.on("echo", (...args) => {
      const ack = typeof args.at(-1) === "function" ? args.pop() : null;
      if (ack) ack(...args);
      else socket.emit("echo", ...args);
    });
    socket.on("emit-back", (ev, ...args) => socket.emit(ev, ...args));
    socket.on("ask", (ev, payload, ack) => {
      socket.timeout(2000).emit(ev, payload, (err, answer) => {
        ack(err ? { error: err.message } : answer);
      });
    });
    socket.on("drop-first", (n, ack) => {
      const c = (seen.get(n) || 0) + 1;
      seen.set(n, c);
      if (c > 1) ack(c);
    });
    socket.on("seen", (n, ack) => ack(seen.get(n) || 0));
    socket.on("disconnect-me", () => socket.disconnect());
    socket.on("drop-me", (_engineId, ev, data) => {
      const id = socket.id;
      socket.conn.close();
      if (ev) setTimeout(() => nsp.to(id).emit(ev, data), 50);
    });
  });
}

setup(io.of("/"));
setup(io.of("/room"));
const admin = io.of("/admin");
admin.use((socket, next) => {
  if (socket.handshake.auth && socket.handshake.auth.token === "secret") return next();
  const err = new Error("not authorized");
  err.data = { code: 401 };
  next(err);
});
setup(admin);

httpServer.listen(port, "127.0.0.1", () => {
  console.log(`listening ${httpServer.address().port}`);
});
process.on("SIGTERM", () => process.exit(0));
