// Rooms and broadcasts. Server: rooms_test.go.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect, connected, once, closeAll, collect, until, reasonOf, ctlDo } from "./lib.mjs";

after(closeAll);

// Three clients on three transports.
const clients = {};
const logs = {};
before(async () => {
  const opts = { A: { transports: ["websocket"] }, B: { transports: ["polling"] }, C: {} };
  for (const [name, o] of Object.entries(opts)) {
    clients[name] = connect("/", o);
    logs[name] = collect(clients[name]);
  }
  await Promise.all(Object.values(clients).map((c) => connected(c)));
});

let seq = 0;

// op runs a server-side operation sent by sender, waits until every client
// in `among` got the barrier, and checks which of them got the message.
async function op(sender, o, expected, among = ["A", "B", "C"]) {
  const tag = `t${++seq}`;
  const res = await new Promise((resolve, reject) =>
    sender.timeout(5000).emit("op", { tag, ...o }, (err, res, msg) => (err ? reject(err) : msg ? reject(new Error(msg)) : resolve(res))),
  );
  for (const name of among) {
    await until(() => logs[name].some(([ev, t]) => ev === "barrier" && t === tag), `barrier ${tag} at ${name}`);
  }
  const got = among.filter((name) => {
    const i = logs[name].findIndex(([ev, t]) => ev === "msg" && t === tag);
    if (i < 0) return false;
    assert.ok(i < logs[name].findIndex(([ev, t]) => ev === "barrier" && t === tag), "the message came before the barrier");
    assert.equal(logs[name].filter(([ev, t]) => ev === "msg" && t === tag).length, 1, `${name} got ${tag} once`);
    return true;
  });
  assert.deepEqual(got, expected, `${o.op} ${JSON.stringify(o)}: reached ${got}, want ${expected}`);
  return res;
}

const join = (c, ...rooms) => c.timeout(3000).emitWithAck("join", rooms);

test("join and leave from handlers", { timeout: 10000 }, async () => {
  const { A, B, C } = clients;
  assert.deepEqual(await join(A, "r1", "r2"), [A.id, "r1", "r2"].sort());
  assert.deepEqual(await join(B, "r1"), [B.id, "r1"].sort());
  assert.deepEqual(await join(C, "r3"), [C.id, "r3"].sort());
  assert.deepEqual(await join(C, "tmp"), [C.id, "r3", "tmp"].sort());
  assert.deepEqual(await C.timeout(3000).emitWithAck("leave", "tmp"), [C.id, "r3"].sort());
});

test("srv.To(room).Emit reaches only the members", { timeout: 10000 }, async () => {
  const { A, C } = clients;
  await op(A, { op: "server-to", rooms: ["r1"] }, ["A", "B"]);
  await op(A, { op: "server-to", rooms: ["r3"] }, ["C"]);
  await op(C, { op: "server-to", rooms: ["r2", "r3"] }, ["A", "C"]);
  await op(C, { op: "server-to", rooms: ["r1", "r2"] }, ["A", "B"]); // A once
  await op(A, { op: "server-to", rooms: ["nobody"] }, []);
  await op(A, { op: "server-to", rooms: [clients.B.id] }, ["B"]); // a socket's own room
});

test("Except", { timeout: 10000 }, async () => {
  const { A } = clients;
  await op(A, { op: "server-except", except: ["r1"] }, ["C"]);
  await op(A, { op: "server-to", rooms: ["r1"], except: ["r2"] }, ["B"]);
  await op(A, { op: "socket-except", except: ["r3"] }, ["B"]);
});

test("s.Broadcast().Emit reaches everyone but the sender", { timeout: 10000 }, async () => {
  await op(clients.A, { op: "broadcast" }, ["B", "C"]);
  await op(clients.B, { op: "broadcast" }, ["A", "C"]);
});

test("s.To(room).Emit excludes the sender", { timeout: 10000 }, async () => {
  await op(clients.A, { op: "socket-to", rooms: ["r1"] }, ["B"]);
  await op(clients.C, { op: "socket-to", rooms: ["r1"] }, ["A", "B"]);
});

test("FetchSockets", { timeout: 10000 }, async () => {
  const { A, B, C } = clients;
  const all = await op(A, { op: "fetch" }, []);
  const want = [
    { id: A.id, rooms: [A.id, "r1", "r2"].sort() },
    { id: B.id, rooms: [B.id, "r1"].sort() },
    { id: C.id, rooms: [C.id, "r3"].sort() },
  ].sort((x, y) => (x.id < y.id ? -1 : 1));
  assert.deepEqual(all, want);
  assert.deepEqual(await op(A, { op: "fetch", rooms: ["r2"] }, []), [{ id: A.id, rooms: [A.id, "r1", "r2"].sort() }]);
  assert.equal(await op(B, { op: "remote-emit", rooms: ["r2"] }, ["A"]), 1);
});

test("SocketsJoin and SocketsLeave", { timeout: 10000 }, async () => {
  const { A, C } = clients;
  await op(A, { op: "sockets-join", rooms: ["r3"], target: ["r4"] }, []);
  assert.deepEqual((await op(A, { op: "fetch", rooms: ["r4"] }, [])).map((s) => s.id), [C.id]);
  await op(A, { op: "server-to", rooms: ["r4"] }, ["C"]);
  await op(A, { op: "sockets-join", target: ["everyone"] }, []);
  await op(A, { op: "server-to", rooms: ["everyone"] }, ["A", "B", "C"]);
  await op(A, { op: "sockets-leave", rooms: ["r1"], target: ["everyone"] }, []);
  await op(A, { op: "server-to", rooms: ["everyone"] }, ["C"]);
  await op(A, { op: "sockets-leave", target: ["r4", "everyone"] }, []);
  await op(A, { op: "server-to", rooms: ["r4", "everyone"] }, []);
});

test("a socket that left a room gets nothing from it", { timeout: 10000 }, async () => {
  const { A, B } = clients;
  await B.timeout(3000).emitWithAck("leave", "r1");
  await op(A, { op: "server-to", rooms: ["r1"] }, ["A"]);
});

test("DisconnectSockets(false) and DisconnectSockets(true) on a room", { timeout: 10000 }, async () => {
  const { A } = clients;
  const D = connect("/", { reconnection: true, reconnectionDelay: 50 });
  // (Over polling, DisconnectSockets(true) hits the bug checked in
  // disconnect.test.mjs; here the room selection is what is tested.)
  const E = connect("/", { transports: ["websocket"], reconnection: true, reconnectionDelay: 50 });
  await Promise.all([connected(D), connected(E)]);
  await join(D, "doomed");
  await join(E, "doomed2");
  const dID = D.id;
  const eID = E.id;
  const eEngine = E.io.engine.id;

  let reason = once(D, "disconnect");
  await op(A, { op: "disconnect-sockets", rooms: ["doomed"] }, []);
  assert.equal((await reason)[0], "io server disconnect", "D's reason");
  assert.equal(await reasonOf(dID), "server namespace disconnect");

  reason = once(E, "disconnect");
  await op(A, { op: "disconnect-sockets", rooms: ["doomed2"], close: true }, []);
  assert.equal((await reason)[0], "io server disconnect", "E's reason (close)");
  assert.equal(await reasonOf(eID), "server namespace disconnect");
  await until(async () => !(await ctlDo("engine", { sid: eEngine })).open, "the server to close the connection");

  // Neither reconnects; the others are untouched.
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(D.connected || E.connected, false);
  assert.equal(D.active || E.active, false);
  await op(A, { op: "server-to", rooms: ["r3"] }, ["C"]);
});
