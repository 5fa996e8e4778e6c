// A Node socket.io server (npm socket.io + @socket.io/postgres-adapter,
// pinned in package-lock.json) that joins the PostgreSQL cluster of the Go
// tests (postgresadapter/*_test.go) and of cmd/clusterbench. They start it
// with `node server.mjs` and read "listening <port>" from its standard
// output.
//
// Environment:
//   PORT         port on 127.0.0.1 (0 or unset: any free port)
//   PG_URL       postgres://postgres@127.0.0.1:5432/test by default
//   PREFIX       channelPrefix ("socket.io" by default)
//   TABLE        tableName ("socket_io_attachments" by default)
//   NAME         the server's name in answers ("node" by default)
//
// Namespaces "/" and "/ns2". In each:
//   join(room, ack?)          the socket joins room; acks its rooms
//   set-data(data, ack?)      socket.data = data
//   relay(event, ...args)     the namespace broadcasts event (benchmarks)
// Namespace "/ctl" (kept out of the cluster operations): ctl(cmd, ack) runs a
// cluster operation (see run below) and acks {ok: result} or {error: message}.
// Server-side events: "ping-servers"(payload, ack) acks {server, nsp, data};
// "note"(...args) is recorded and returned by the "notes" command.
import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/postgres-adapter";
import pg from "pg";

const port = Number(process.env.PORT || 0);
const name = process.env.NAME || "node";

const pool = new pg.Pool({ connectionString: process.env.PG_URL || "postgres://postgres@127.0.0.1:5432/test" });
pool.on("error", (err) => console.error("pg pool:", err.message));

const httpServer = createServer();
const io = new Server(httpServer, {
  adapter: createAdapter(pool, {
    channelPrefix: process.env.PREFIX || "socket.io",
    tableName: process.env.TABLE || "socket_io_attachments",
    errorHandler: (err) => console.error("adapter:", err.message),
  }),
});

function selector(n, cmd) {
  let op = n;
  if (cmd.rooms && cmd.rooms.length) op = op.to(cmd.rooms);
  if (cmd.except && cmd.except.length) op = op.except(cmd.except);
  if (cmd.local) op = op.local;
  if (cmd.volatile) op = op.volatile;
  if (cmd.compress === false) op = op.compress(false);
  if (cmd.timeout) op = op.timeout(cmd.timeout);
  return op;
}

function revive(v) {
  if (Array.isArray(v)) return v.map(revive);
  if (v && typeof v === "object") {
    if (typeof v.$bin === "string") return Buffer.from(v.$bin, "hex");
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
  }
  return v;
}

async function run(cmd) {
  const n = io.of(cmd.nsp || "/");
  const args = revive(cmd.args || []);
  switch (cmd.op) {
    case "emit":
      selector(n, cmd).emit(cmd.event, ...args);
      return true;
    case "emitWithAck":
      return await new Promise((resolve) => {
        selector(n, cmd).emit(cmd.event, ...args, (err, responses) => {
          resolve({ error: err ? err.message : null, responses });
        });
      });
    case "fetchSockets":
      return (await selector(n, cmd).fetchSockets()).map((s) => ({ id: s.id, rooms: [...s.rooms], data: s.data }));
    case "socketsJoin":
      selector(n, cmd).socketsJoin(cmd.join);
      return true;
    case "socketsLeave":
      selector(n, cmd).socketsLeave(cmd.leave);
      return true;
    case "disconnectSockets":
      selector(n, cmd).disconnectSockets(!!cmd.close);
      return true;
    case "serverSideEmit":
      n.serverSideEmit(cmd.event, ...args);
      return true;
    case "serverSideEmitWithAck":
      return await n.serverSideEmitWithAck(cmd.event, ...args);
    case "serverCount":
      return await n.adapter.serverCount();
    case "notes":
      return notes.get(n.name) || [];
    case "socketRooms":
      return [...(n.sockets.get(cmd.id)?.rooms || [])].sort();
    default:
      throw new Error("unknown op " + cmd.op);
  }
}

const notes = new Map();

function setup(n) {
  n.on("ping-servers", (payload, ack) => ack({ server: name, nsp: n.name, data: payload }));
  n.on("note", (...args) => {
    if (!notes.has(n.name)) notes.set(n.name, []);
    notes.get(n.name).push(args);
  });
  n.on("connection", (socket) => {
    socket.on("relay", (ev, ...args) => n.emit(ev, ...args));
    socket.on("join", (room, ack) => {
      socket.join(room);
      if (typeof ack === "function") ack([...socket.rooms].sort());
    });
    socket.on("set-data", (data, ack) => {
      socket.data = data;
      if (typeof ack === "function") ack(true);
    });
  });
}

setup(io.of("/"));
setup(io.of("/ns2"));
io.of("/ctl").on("connection", (socket) => {
  socket.on("ctl", async (cmd, ack) => {
    try {
      ack({ ok: await run(cmd) });
    } catch (err) {
      ack({ error: err.message });
    }
  });
});

httpServer.listen(port, "127.0.0.1", () => {
  console.log("listening " + httpServer.address().port);
});

function shutdown() {
  io.close(() => pool.end().then(() => process.exit(0)));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
