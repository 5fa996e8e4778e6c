// Namespaces. Server: namespace_test.go.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { io, Manager } from "socket.io-client";
import { SERVER_URL, connect, connected, connectError, once, closeAll, track, ctlGet, sleep } from "./lib.mjs";

after(closeAll);

const whoami = (s) => s.timeout(3000).emitWithAck("whoami");

test("custom namespace", { timeout: 10000 }, async () => {
  const s = connect("/chat");
  await connected(s);
  const me = await whoami(s);
  assert.equal(me.nsp, "/chat");
  assert.equal(me.id, s.id);
  s.disconnect();
});

test("middleware error with data: connect_error with message and data, no retry", { timeout: 10000 }, async () => {
  const s = connect("/private", { reconnection: true });
  const err = await connectError(s);
  assert.ok(err instanceof Error);
  assert.equal(err.message, "not authorized");
  assert.deepEqual(err.data, { code: 42, detail: ["a", "b"] });
  assert.equal(s.connected, false);
  assert.equal(s.active, false, "the socket gives up after a middleware error");
  await sleep(50);
  assert.deepEqual(await ctlGet("private-connected"), [], "the connection handler did not run");
});

test("the auth payload reaches the server (Handshake().Auth) and its middleware", { timeout: 10000 }, async () => {
  const auth = { token: "secret", n: 1.5, nested: { list: [1, "two", null], flag: true } };
  const s = connect("/auth", { auth });
  await connected(s);
  const me = await whoami(s);
  assert.deepEqual(me.auth, auth);
  assert.deepEqual(me.data, { user: "alice" });
  s.disconnect();

  const bad = connect("/auth", { auth: { token: "wrong" } });
  const err = await connectError(bad);
  assert.equal(err.message, "bad token wrong");
  assert.equal(err.data, undefined);
});

test("unknown namespace: connect_error \"Invalid namespace\"", { timeout: 10000 }, async () => {
  const s = connect("/nope");
  const err = await connectError(s);
  assert.equal(err.message, "Invalid namespace");
  assert.equal(s.active, false);
});

test("dynamic namespaces from a regexp: parent middleware and handlers apply, parent emit reaches the children", { timeout: 10000 }, async () => {
  const a = connect("/dyn-42");
  const b = connect("/dyn-7");
  await Promise.all([connected(a), connected(b)]);
  const me = await whoami(a);
  assert.equal(me.nsp, "/dyn-42");
  assert.equal(me.id, a.id);
  assert.equal(me.data, "set by the regexp parent for /dyn-42");
  assert.equal((await whoami(b)).data, "set by the regexp parent for /dyn-7");

  const gotA = once(a, "from-parent");
  const gotB = once(b, "from-parent");
  a.emit("parent-emit", "hi all");
  assert.deepEqual(await gotA, ["hi all"]);
  assert.deepEqual(await gotB, ["hi all"]);

  assert.equal((await connectError(connect("/dyn-x"))).message, "Invalid namespace");
  a.disconnect();
  b.disconnect();
});

test("dynamic namespaces from a function of the name and the auth payload", { timeout: 10000 }, async () => {
  const s = connect("/fn-a", { auth: { ok: true } });
  await connected(s);
  const me = await whoami(s);
  assert.equal(me.nsp, "/fn-a");
  assert.equal(me.data, "set by the func parent");
  s.disconnect();
  assert.equal((await connectError(connect("/fn-b", { auth: { ok: false } }))).message, "Invalid namespace");
  assert.equal((await connectError(connect("/other", { auth: { ok: true } }))).message, "Invalid namespace");
});

test("multiplexing: \"/\" and \"/admin\" on one Manager share one Engine.IO connection", { timeout: 10000 }, async () => {
  const m = new Manager(SERVER_URL, { query: { tag: "mux" }, reconnection: false });
  const main = track(m.socket("/"));
  const admin = track(m.socket("/admin"));
  await Promise.all([connected(main), connected(admin)]);
  const [a, b] = await Promise.all([whoami(main), whoami(admin)]);
  assert.equal(a.nsp, "/");
  assert.equal(b.nsp, "/admin");
  assert.notEqual(a.id, b.id);
  assert.equal(a.conn, b.conn, "both sockets are on the same server-side connection");
  assert.deepEqual(await ctlGet("handshake:mux"), ["polling"], "one Engine.IO handshake");
  // Both keep working after the upgrade.
  await sleep(100);
  assert.equal(m.engine.transport.name, "websocket");
  assert.equal((await whoami(main)).nsp, "/");
  assert.equal((await whoami(admin)).nsp, "/admin");
  // Leaving one namespace keeps the other.
  admin.disconnect();
  assert.equal((await whoami(main)).id, main.id);
  main.disconnect();
});

test("multiplexing through io()'s cache", { timeout: 10000 }, async () => {
  const main = track(io(SERVER_URL, { query: { tag: "mux2" }, reconnection: false }));
  const chat = track(io(SERVER_URL + "/chat", { reconnection: false }));
  assert.equal(main.io, chat.io, "io() reuses the Manager");
  await Promise.all([connected(main), connected(chat)]);
  const [a, b] = await Promise.all([whoami(main), whoami(chat)]);
  assert.equal(a.conn, b.conn);
  assert.deepEqual(await ctlGet("handshake:mux2"), ["polling"], "one Engine.IO handshake");
  main.disconnect();
  chat.disconnect();
});
