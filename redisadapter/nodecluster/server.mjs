// A Node socket.io server (npm socket.io + @socket.io/redis-adapter, pinned
// in package-lock.json) that joins the Redis cluster of the Go tests
// (redisadapter/cluster_test.go). The tests start it with `node server.mjs`
// and read "listening <port>" from its standard output.
//
// Environment:
//   PORT        port on 127.0.0.1 (0 or unset: any free port)
//   REDIS_URL   redis://127.0.0.1:6379 by default
//   REDIS_CLUSTER  host:port,... of a Redis Cluster's masters: a cluster
//               client (createCluster) instead of REDIS_URL's
//   KEY         channel prefix (key / channelPrefix option)
//   MODE        "classic" (createAdapter, default), "sharded" (createShardedAdapter)
//               or "streams" (@socket.io/redis-streams-adapter's createAdapter, with
//               KEY as streamName and channelPrefix, and connection state recovery on)
//   NAME        the server's name in answers ("node" by default)
//
// Namespaces "/" and "/ns2". In each:
//   join(room, ack?)          the socket joins room; acks its rooms
//   set-data(data, ack?)      socket.data = data
//   set-struct(data, ack?)    the same (the Go servers store a struct there)
// Namespace "/ctl" (kept out of the cluster operations): ctl(cmd, ack) runs a
// cluster operation (see run below) and acks {ok: result} or {error: message}.
// Server-side events: "ping-servers"(payload, ack) acks {server, nsp, data};
// "note"(...args) is recorded and returned by the "notes" command.
import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { createAdapter as createStreamsAdapter } from "@socket.io/redis-streams-adapter";
import { createClient, createCluster } from "redis";

const port = Number(process.env.PORT || 0);
const name = process.env.NAME || "node";
const key = process.env.KEY || "socket.io";
const sharded = process.env.MODE === "sharded";
const streams = process.env.MODE === "streams";

const pub = process.env.REDIS_CLUSTER
  ? createCluster({ rootNodes: process.env.REDIS_CLUSTER.split(",").map((a) => ({ url: "redis://" + a })) })
  : createClient({ url: process.env.REDIS_URL || "redis://127.0.0.1:6379" });
const sub = pub.duplicate();
pub.on("error", (err) => console.error("redis pub:", err.message));
sub.on("error", (err) => console.error("redis sub:", err.message));
await Promise.all([pub.connect(), sub.connect()]);

const adapter = streams
  ? createStreamsAdapter(pub, { streamName: key, channelPrefix: key, blockTimeInMs: 1000 })
  : sharded
    ? createShardedAdapter(pub, sub, { channelPrefix: key })
    : createAdapter(pub, sub, { key, requestsTimeout: 3000 });

const httpServer = createServer();
const io = new Server(httpServer, {
  adapter,
  ...(streams ? { connectionStateRecovery: { maxDisconnectionDuration: 60000 } } : {}),
});

function selector(n, cmd) {
  let op = n;
  if (cmd.rooms && cmd.rooms.length) op = op.to(cmd.rooms);
  if (cmd.except && cmd.except.length) op = op.except(cmd.except);
  if (cmd.local) op = op.local;
  if (cmd.volatile) op = op.volatile;
  if (cmd.timeout) op = op.timeout(cmd.timeout);
  return op;
}

// describe answers a fetched socket; dataJSON is socket.data as Node sees
// it, key order and number forms included (the ack would lose them).
function describe(s) {
  return { id: s.id, rooms: [...s.rooms], data: s.data, dataJSON: JSON.stringify(s.data), handshake: s.handshake };
}

async function remote(n, cmd) {
  const sockets = await n.in(cmd.id).fetchSockets();
  const s = sockets.find((x) => x.id === cmd.id);
  if (!s) throw new Error("no socket " + cmd.id);
  return s;
}

async function run(cmd) {
  const n = io.of(cmd.nsp || "/");
  const args = cmd.args || [];
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
      return (await selector(n, cmd).fetchSockets()).map(describe);
    case "remoteEmit":
      (await remote(n, cmd)).emit(cmd.event, ...args);
      return true;
    case "remoteEmitWithAck":
      return await (await remote(n, cmd)).timeout(cmd.timeout || 2000).emitWithAck(cmd.event, ...args);
    case "remoteJoin":
      (await remote(n, cmd)).join(cmd.join);
      return true;
    case "remoteLeave":
      (await remote(n, cmd)).leave(cmd.leave);
      return true;
    case "remoteDisconnect":
      (await remote(n, cmd)).disconnect(!!cmd.close);
      return true;
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
    case "allRooms":
      return [...(await n.adapter.allRooms())].sort();
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
    // relay(event, ...args): the server broadcasts the event to every
    // socket of the namespace (benchmarks).
    socket.on("relay", (ev, ...args) => n.emit(ev, ...args));
    socket.on("join", (room, ack) => {
      socket.join(room);
      if (typeof ack === "function") ack([...socket.rooms].sort());
    });
    for (const ev of ["set-data", "set-struct"]) {
      socket.on(ev, (data, ack) => {
        socket.data = data;
        if (typeof ack === "function") ack(true);
      });
    }
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
  io.close(() => Promise.allSettled([pub.quit(), sub.quit()]).then(() => process.exit(0)));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
