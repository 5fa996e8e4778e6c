// Acknowledgements both ways and their timeouts. Server: ack_test.go.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { connect, connected, closeAll, ctlWait, sleep } from "./lib.mjs";

after(closeAll);

for (const transport of ["websocket", "polling"]) {
  test(`${transport}: client acks answered by typed Go handlers`, { timeout: 10000 }, async () => {
    const s = connect("/", { transports: [transport] });
    await connected(s);
    assert.equal(await s.timeout(3000).emitWithAck("add", 2, 3), 5);
    assert.equal(await new Promise((r) => s.emit("add", 40, 2, r)), 42, "callback without timeout");
    assert.deepEqual(await s.timeout(3000).emitWithAck("sum", { a: 1, b: 2.5, label: "l" }), { sum: 3.5, label: "l", tags: ["x", "y"] });
    const multi = await new Promise((resolve, reject) => s.timeout(3000).emit("multi", (err, ...args) => (err ? reject(err) : resolve(args))));
    assert.deepEqual(multi, ["s", 1, true, { k: "v" }, null]);
    const none = await new Promise((resolve, reject) => s.timeout(3000).emit("no-args", (err, ...args) => (err ? reject(err) : resolve(args))));
    assert.deepEqual(none, []);
    let calls = 0;
    await new Promise((r) => s.emit("twice", (n) => { calls++; assert.equal(n, 1); r(); }));
    await sleep(50);
    assert.equal(calls, 1);
    s.disconnect();
  });

  test(`${transport}: client timeout when the server never answers`, { timeout: 10000 }, async () => {
    const s = connect("/", { transports: [transport] });
    await connected(s);
    const start = Date.now();
    const err = await new Promise((r) => s.timeout(200).emit("never", 1, r));
    assert.ok(err instanceof Error);
    assert.equal(err.message, "operation has timed out");
    assert.ok(Date.now() - start >= 190);
    await assert.rejects(s.timeout(200).emitWithAck("no-ack-param", 1), { message: "operation has timed out" });
    // A type mismatch: no answer, an error on the server side, no crash.
    await assert.rejects(s.timeout(200).emitWithAck("add", "two", { x: 1 }), { message: "operation has timed out" });
    const [serverErr] = await ctlWait(`error:${s.id}`);
    assert.match(serverErr, /do not fit the handler/);
    assert.equal(await s.timeout(3000).emitWithAck("add", 1, 1), 2, "the socket still works");
    s.disconnect();
  });

  test(`${transport}: server acks answered by the client, and server-side timeouts`, { timeout: 15000 }, async () => {
    const sockets = [connect("/", { transports: [transport], auth: { room: "bc" } }), connect("/", { transports: [transport], auth: { room: "bc" } })];
    for (const s of sockets) {
      s.on("double", (n, cb) => cb(n * 2));
      s.on("ignore", (n, cb) => {}); // never answers
      await connected(s);
    }
    const res = await sockets[0].timeout(10000).emitWithAck("server-asks");
    assert.equal(res.emitWithAck, 42);
    assert.equal(res.timeoutEmit, 10);
    const { ms, ...ignore } = res.ignoreEmit;
    assert.deepEqual(ignore, { timeout: true, err: "operation has timed out" });
    assert.ok(ms >= 290 && ms < 3000, `timed out after ${ms}ms, want about 300`);
    assert.deepEqual(res.ignoreEmitWithAck, { timeout: true, err: "operation has timed out" });
    assert.deepEqual(res.noHandler, { timeout: true, err: "operation has timed out" });
    assert.deepEqual(res.broadcast, { err: null, count: 2, sum: 200 });
    for (const s of sockets) s.disconnect();
  });
}
