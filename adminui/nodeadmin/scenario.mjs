// A scripted Admin UI session (socket.io-client 4.8.4 playing the UI, and
// two application clients), run against the server at process.argv[2]:
// Node's (server.mjs) or Go's (adminui/compare_test.go). It prints one JSON
// object: the ids of every socket by role, and every event the admin
// socket received, in order, binary values as {"$binary": base64}.
import { io } from "socket.io-client";

const url = process.argv[2];
const WAIT = 10_000;
const events = [];
const waiters = [];

function record(name, args) {
  const ev = { name, args: JSON.parse(JSON.stringify(args, (k, v) => {
    if (v && v.type === "Buffer" && Array.isArray(v.data)) return { $binary: Buffer.from(v.data).toString("base64") };
    return v;
  })) };
  events.push(ev);
  for (const w of [...waiters]) {
    if (w.match(ev)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(ev);
    }
  }
}

// waitEvent resolves with the first event (already received or to come)
// that matches.
function waitEvent(what, match) {
  const found = events.find(match);
  if (found) return Promise.resolve(found);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout waiting for " + what)), WAIT);
    waiters.push({ match, resolve: (ev) => { clearTimeout(timer); resolve(ev); } });
  });
}

function connect(nsp, auth) {
  const socket = io(url + nsp, { transports: ["websocket"], forceNew: true, reconnection: false, auth });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

const once = (socket, ev) => new Promise((resolve) => socket.once(ev, (...args) => resolve(args)));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const admin = io(url + "/admin", { transports: ["websocket"], forceNew: true, reconnection: false, auth: { username: "admin", password: "changeit" } });
admin.onAny((name, ...args) => record(name, args));
await once(admin, "connect");
await waitEvent("all_sockets", (e) => e.name === "all_sockets");
await waitEvent("config", (e) => e.name === "config");

const alice = await connect("/", { name: "alice" });
await waitEvent("alice connected", (e) => e.name === "socket_connected" && e.args[0].id === alice.id);
const bob = await connect("/", { name: "bob" });
await waitEvent("bob connected", (e) => e.name === "socket_connected" && e.args[0].id === bob.id);
const ids = {
  admin: admin.id, adminClient: admin.io.engine.id.slice(0, 12),
  alice: alice.id, aliceClient: alice.io.engine.id.slice(0, 12),
  bob: bob.id, bobClient: bob.io.engine.id.slice(0, 12),
};

await alice.timeout(WAIT).emitWithAck("join", "gophers");
await waitEvent("alice's data", (e) => e.name === "socket_updated" && e.args[0].id === alice.id && e.args[0].data?.lastRoom);
await bob.timeout(WAIT).emitWithAck("join", "gophers");
await waitEvent("bob's data", (e) => e.name === "socket_updated" && e.args[0].id === bob.id && e.args[0].data?.lastRoom);

const got = once(alice, "message");
bob.emit("message", "hi gophers");
await got;
await waitEvent("event_sent", (e) => e.name === "event_sent");
bob.emit("blob", Buffer.from([1, 2, 3]));
await waitEvent("blob", (e) => e.name === "event_received" && e.args[2][0] === "blob");

admin.emit("join", "/", "vip", alice.id);
await waitEvent("vip", (e) => e.name === "room_joined" && e.args[1] === "vip");
admin.emit("leave", "/", "gophers");
await waitEvent("alice left gophers", (e) => e.name === "room_left" && e.args[1] === "gophers" && e.args[2] === alice.id);
await waitEvent("bob left gophers", (e) => e.name === "room_left" && e.args[1] === "gophers" && e.args[2] === bob.id);
const announced = once(alice, "announcement");
admin.emit("emit", "/", "vip", "announcement", { text: "from the admin" });
await announced;
await waitEvent("announcement sent", (e) => e.name === "event_sent" && e.args[2][0] === "announcement");

const aliceGone = once(alice, "disconnect");
admin.emit("_disconnect", "/", false, ids.alice);
const [aliceReason] = await aliceGone;
await waitEvent("alice disconnected", (e) => e.name === "socket_disconnected" && e.args[1] === ids.alice);
await waitEvent("alice's own room left", (e) => e.name === "room_left" && e.args[1] === ids.alice);
bob.disconnect();
await waitEvent("bob disconnected", (e) => e.name === "socket_disconnected" && e.args[1] === ids.bob);
await waitEvent("bob's own room left", (e) => e.name === "room_left" && e.args[1] === ids.bob);

// Statistics after everything: the namespaces with their counts.
const n = events.length;
await waitEvent("server_stats", (e) => e.name === "server_stats" && events.indexOf(e) >= n);
await sleep(50);
alice.close();
admin.close();
console.log(JSON.stringify({ ids, aliceReason, events }));
process.exit(0);
