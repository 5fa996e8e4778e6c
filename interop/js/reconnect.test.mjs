// Automatic reconnection after the server dropped the connection.
// Server: reconnect_test.go.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { connect, connected, once, closeAll, until, reasonOf, ctlDo, ctlGet } from "./lib.mjs";

after(closeAll);

// assertDropReason checks the client's reason after the server dropped the
// connection. Over long-polling, when the next GET reaches the server after
// the drop it is answered "Session ID unknown" (HTTP 400), which the client
// reports as "transport error", as it would with Node's server.
function assertDropReason(reason, transport) {
  const want = transport === "polling" ? ["transport close", "transport error"] : ["transport close"];
  assert.ok(want.includes(reason), `client reason ${reason}, want one of ${want}`);
}

const info = (s) => s.timeout(3000).emitWithAck("info");

for (const [name, transports] of [["websocket", ["websocket"]], ["polling", ["polling"]], ["upgraded", undefined]]) {
  test(`${name}: the server aborts the connection → the client reconnects and gets a new connect`, { timeout: 10000 }, async () => {
    const tag = `r-${name}`;
    const s = connect("/", { transports, query: { tag }, reconnection: true, reconnectionDelay: 100, randomizationFactor: 0 });
    await connected(s);
    if (name === "upgraded") await until(() => s.io.engine.transport.name === "websocket", "the upgrade");
    const before = { id: s.id, eid: s.io.engine.id, transport: s.io.engine.transport.name };
    assert.equal((await info(s)).id, before.id);

    const disconnect = once(s, "disconnect");
    const reconnect = once(s.io, "reconnect");
    await ctlDo("abort", { sid: before.eid });
    assertDropReason((await disconnect)[0], before.transport);
    assert.equal(s.active, true, "the socket is reconnecting");
    const [attempt] = await reconnect;
    assert.equal(attempt, 1);
    await connected(s);
    assert.notEqual(s.id, before.id, "a new socket id");
    assert.notEqual(s.io.engine.id, before.eid, "a new Engine.IO session");
    assert.equal((await info(s)).id, s.id, "the new socket works");
    assert.equal(await reasonOf(before.id), "transport close");
    assert.equal((await ctlGet(`handshake:${tag}`)).length, 2, "two handshakes");
    s.disconnect();
  });
}

test("the server restarts on the same port → the client reconnects to the new server", { timeout: 15000 }, async () => {
  const s = connect("/", { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 300, randomizationFactor: 0 });
  await connected(s);
  await until(() => s.io.engine.transport.name === "websocket", "the upgrade");
  const { generation } = await info(s);
  const disconnect = once(s, "disconnect", 10000);
  const reconnect = once(s.io, "reconnect", 10000);
  assert.equal(await ctlDo("restart"), generation + 1);
  assert.equal((await disconnect)[0], "transport close");
  await reconnect;
  await connected(s);
  const now = await info(s);
  assert.equal(now.generation, generation + 1, "connected to the new server");
  assert.equal(now.id, s.id);
  s.disconnect();
});
