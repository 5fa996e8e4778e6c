// The JavaScript client with npm socket.io-msgpack-parser against a
// server with our MessagePack parser. Server: msgpack_test.go.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import parser from "socket.io-msgpack-parser";
import { connect, connected, connectError, once, closeAll, reasonOf } from "./lib.mjs";

after(closeAll);

const B = (...bytes) => Buffer.from(bytes);

// norm turns every binary value into {bin: hex} (see binary.test.mjs).
function norm(v) {
  if (Buffer.isBuffer(v)) return { bin: v.toString("hex") };
  if (v instanceof ArrayBuffer) return { bin: Buffer.from(v).toString("hex") };
  if (ArrayBuffer.isView(v)) return { bin: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex") };
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
}

const mp = (nsp, transport, opts = {}) => connect(nsp, { parser, transports: [transport], ...opts });

// ackAll emits with an acknowledgement and resolves with all its arguments.
function ackAll(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(5000).emit(event, ...args, (err, ...reply) => (err ? reject(err) : resolve(reply)));
  });
}

test("websocket: our bytes are the npm Encoder's", { timeout: 10000 }, async () => {
  const s = mp("/", "websocket");
  await connected(s);
  const received = [];
  s.io.engine.on("packet", (p) => p.type === "message" && received.push(Buffer.from(p.data)));
  const enc = (packet) => Buffer.from(new parser.Encoder().encode(packet)[0]);
  s.on("srv", () => {});
  await ackAll(s, "wire"); // the server emits ["srv", "x", Buffer <01 02>] then acks with [1, "two"]
  const ackID = s.ids - 1;
  assert.deepEqual(received.map((b) => b.toString("hex")), [
    enc({ type: 2, data: ["srv", "x", B(1, 2)], nsp: "/" }).toString("hex"),
    enc({ id: ackID, type: 3, data: [1, "two"], nsp: "/" }).toString("hex"),
  ]);
  s.disconnect();
});

for (const transport of ["websocket", "polling"]) {
  test(`${transport}: events and acks with every JSON type`, { timeout: 10000 }, async () => {
    const s = mp("/", transport);
    await connected(s);
    const args = ["s", "é\u2028\"\\\n", 0, -1, 127, 128, -33, 65536, 2 ** 40, -(2 ** 40), 1.5, -0.25, true, false, null, [1, [2, [3]]], { a: { b: { c: "d" } } }, {}, []];
    const back = await ackAll(s, "echo", ...args);
    assert.deepEqual(back, [...args, "/"]);
    s.disconnect();
  });

  test(`${transport}: binary at the top level and nested, both ways`, { timeout: 10000 }, async () => {
    const s = mp("/", transport);
    await connected(s);
    const args = [B(1, 2), new Uint8Array([3, 4, 5]).buffer, { nested: { x: [B(7), "y", { z: B(8, 9) }] } }, Buffer.alloc(70_000, 6), B()];
    const back = await ackAll(s, "echo", ...args);
    assert.deepEqual(norm(back), norm([...args, "/"]));
    assert.ok(Buffer.isBuffer(back[0]), `binary arrives as a Buffer, got ${back[0]?.constructor?.name}`);

    const blob = { name: "js", data: B(1, 2, 3), list: [B(4), B(5, 6)], inner: { blob: Buffer.alloc(1000, 7) } };
    const [res, ok] = await ackAll(s, "bin-nested", blob);
    assert.equal(ok, "ok");
    assert.deepEqual(norm(res), norm({ name: "js!", data: B(1, 2, 3, 255), list: [B(4), B(5, 6), Buffer.from("added")], inner: { blob: Buffer.alloc(1000, 7) } }));
    s.disconnect();
  });

  test(`${transport}: the server asks, the client answers with binary`, { timeout: 10000 }, async () => {
    const s = mp("/", transport);
    await connected(s);
    const asked = [];
    s.on("double", (n, b, m, cb) => {
      asked.push(norm([n, b, m]));
      cb(n * 2, Buffer.concat([b, B(0xee)]), { ...m, extra: B(1) });
    });
    const res = await s.timeout(5000).emitWithAck("server-asks");
    assert.deepEqual(asked, [norm([21, B(7, 8), { deep: B(9) }])]);
    assert.deepEqual(norm(res), norm({ n: 42, b: B(7, 8, 0xee), m: { deep: B(9), extra: B(1) } }));
    s.disconnect();
  });

  test(`${transport}: namespaces, rooms and broadcasts`, { timeout: 10000 }, async () => {
    const a = mp("/chat", transport);
    const b = mp("/chat", transport);
    const other = mp("/", transport);
    await Promise.all([connected(a), connected(b), connected(other)]);
    assert.deepEqual(await ackAll(b, "echo", 1), [1, "/chat"]);
    assert.deepEqual(await b.timeout(3000).emitWithAck("join", "r1"), [b.id, "r1"].sort());
    let wrong = 0;
    a.on("room-msg", () => wrong++);
    other.on("room-msg", () => wrong++);
    const got = once(b, "room-msg");
    await a.timeout(3000).emitWithAck("to-room", "r1", { text: "hi", n: [1, 2] });
    assert.deepEqual(norm(await got), norm([{ text: "hi", n: [1, 2] }, B(1, 2, 3)]));
    // Everyone's next echo comes after the broadcast would have.
    await Promise.all([a, other].map((c) => c.timeout(3000).emitWithAck("echo", 0)));
    assert.equal(wrong, 0, "the broadcast reached sockets out of the room");
    for (const c of [a, b, other]) c.disconnect();
  });

  test(`${transport}: connect errors, with their data`, { timeout: 10000 }, async () => {
    const p = mp("/private", transport);
    const err = await connectError(p);
    assert.equal(err.message, "not authorized");
    assert.deepEqual(err.data, { code: 401, retry: false });
    const n = mp("/nowhere", transport);
    const err2 = await connectError(n);
    assert.equal(err2.message, "Invalid namespace");
  });

  test(`${transport}: the server disconnects a socket`, { timeout: 10000 }, async () => {
    const s = mp("/", transport);
    await connected(s);
    const id = s.id;
    const reason = once(s, "disconnect");
    s.emit("kick");
    assert.deepEqual(await reason, ["io server disconnect", undefined]);
    assert.equal(await reasonOf(id), "server namespace disconnect");
  });

  test(`${transport}: a malformed message closes the connection with "parse error"`, { timeout: 10000 }, async () => {
    const s = mp("/", transport);
    await connected(s);
    const id = s.id;
    const closed = once(s, "disconnect");
    s.io.engine.write(new Uint8Array([0xc1]).buffer); // a byte MessagePack never uses
    const [why] = await closed;
    assert.ok(["transport close", "transport error"].includes(why), why);
    assert.equal(await reasonOf(id), "parse error");
  });
}
