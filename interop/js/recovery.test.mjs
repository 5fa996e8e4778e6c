// Connection state recovery. Server: recovery_test.go.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { connect, connected, once, closeAll, until, reasonOf, ctlDo } from "./lib.mjs";

after(closeAll);

// With recovery on, every event carries its offset as a last argument
// (Node's server does the same; the client keeps it in _lastOffset and
// hands it to listeners too). withoutOffset checks and removes it.
function withoutOffset(args) {
  assert.equal(typeof args.at(-1), "string", `an offset ends ${JSON.stringify(args)}`);
  return args.slice(0, -1);
}

// assertDropReason checks the client's reason after the server dropped the
// connection. Over long-polling, when the next GET reaches the server after
// the drop it is answered "Session ID unknown" (HTTP 400), which the client
// reports as "transport error", as it would with Node's server.
function assertDropReason(reason, transport) {
  const want = transport === "polling" ? ["transport close", "transport error"] : ["transport close"];
  assert.ok(want.includes(reason), `client reason ${reason}, want one of ${want}`);
}

const info = (s) => s.timeout(3000).emitWithAck("info");
const opts = (transports) => ({ transports, reconnection: true, reconnectionDelay: 300, randomizationFactor: 0 });

for (const [name, transports] of [["websocket", ["websocket"]], ["polling", ["polling"]], ["upgraded", undefined]]) {
  test(`${name}: a dropped client recovers its id, rooms, data and the events it missed`, { timeout: 10000 }, async () => {
    const room = `room-${name}`;
    const s = connect("/", opts(transports));
    const bystander = connect("/", { transports: ["websocket"] });
    const missed = [];
    s.on("missed", (...args) => missed.push(args));
    const welcome = once(s, "welcome");
    await Promise.all([connected(s), connected(bystander)]);
    assert.equal(s.recovered, false);
    assert.deepEqual(withoutOffset(await welcome), [s.id]);
    if (name === "upgraded") await until(() => s.io.engine.transport.name === "websocket", "the upgrade");
    await s.timeout(3000).emitWithAck("join", room);
    await s.timeout(3000).emitWithAck("set-data", { user: "bob" }); // nothing in flight when the connection drops
    const before = { id: s.id, eid: s.io.engine.id, transport: s.io.engine.transport.name };

    const disconnect = once(s, "disconnect");
    const reconnect = once(s.io, "reconnect", 5000);
    await ctlDo("drop", { sid: before.eid, room });
    assertDropReason((await disconnect)[0], before.transport);
    assert.equal(await reasonOf(before.id), "transport close");
    await reconnect;
    await connected(s);

    assert.equal(s.recovered, true, "socket.recovered");
    assert.equal(s.id, before.id, "the same socket id");
    assert.notEqual(s.io.engine.id, before.eid, "a new Engine.IO session");
    await until(() => missed.length >= 3, "the missed events");
    assert.equal(missed.length, 3, `missed: ${JSON.stringify(missed)}`);
    assert.deepEqual(withoutOffset(missed[0]), [1, "to the room"]);
    assert.deepEqual(withoutOffset(missed[1]), [2, "to everyone"]);
    const [three, bin] = withoutOffset(missed[2]);
    assert.equal(three, 3);
    assert.deepEqual(Buffer.from(bin), Buffer.from([1, 2, 3]));
    assert.equal(s._lastOffset, missed[2].at(-1), "the client's offset is the last missed event's");

    const now = await info(s);
    assert.equal(now.recovered, true, "Socket.Recovered() on the server");
    assert.deepEqual(now.rooms, [s.id, room].sort(), "the rooms are back");
    assert.deepEqual(now.data, { user: "bob" }, "the data is back");
    // The restored room works.
    const msg = once(s, "room-msg");
    bystander.emit("to-room", room, "after recovery");
    assert.deepEqual(withoutOffset(await msg), ["after recovery"]);
    s.disconnect();
    bystander.disconnect();
  });
}

test("a new client, or one that left on purpose, is not recovered", { timeout: 10000 }, async () => {
  const s = connect("/", opts(["websocket"]));
  const welcome = once(s, "welcome");
  await connected(s);
  await welcome; // the client now has a pid and an offset
  assert.equal(s.recovered, false);
  assert.equal((await info(s)).recovered, false);
  const id = s.id;
  s.disconnect();
  assert.equal(await reasonOf(id), "client namespace disconnect");
  s.connect(); // sends its pid and offset again
  await connected(s);
  assert.equal(s.recovered, false, "a client namespace disconnect is not recoverable");
  assert.notEqual(s.id, id);
  s.disconnect();
});
