// Messages over MaxHTTPBufferSize (10000 bytes). Server: oversize_test.go.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect, connected, once, closeAll, until, reasonOf, ctlDo, ctlGet, sleep } from "./lib.mjs";

after(closeAll);

const MAX = 10_000;
const size = (s, data) => s.timeout(3000).emitWithAck("size", data);

// Bystanders on both transports, connected the whole time.
const bystanders = [];
before(async () => {
  bystanders.push(connect("/", { transports: ["websocket"] }), connect("/", { transports: ["polling"] }));
  await Promise.all(bystanders.map((b) => connected(b)));
});

for (const transport of ["websocket", "polling"]) {
  test(`${transport}: a message over maxPayload closes the sender's connection only`, { timeout: 10000 }, async () => {
    const s = connect("/", { transports: [transport] });
    await connected(s);
    assert.equal(s.io.engine._maxPayload, MAX, "the handshake announces maxPayload");
    // Just under the limit (with the packet's framing) is fine.
    const fits = "a".repeat(MAX - 100);
    assert.equal(await size(s, fits), fits.length);

    const id = s.id;
    const eid = s.io.engine.id;
    const disconnect = once(s, "disconnect");
    s.emit("size", "b".repeat(MAX * 2));
    const [clientReason] = await disconnect;
    const serverReason = await reasonOf(id);
    console.log(`  ${transport}: client reason "${clientReason}", server reason "${serverReason}"`);
    assert.ok(["transport close", "transport error"].includes(clientReason), clientReason);
    assert.ok(["transport close", "transport error"].includes(serverReason), serverReason);
    await until(async () => !(await ctlDo("engine", { sid: eid })).open, "the server to end the session");
    assert.deepEqual(await ctlGet(`size:${id}`), [fits.length], "the oversized message was not delivered");

    for (const b of bystanders) {
      assert.ok(b.connected, `bystander on ${b.io.engine.transport.name} still connected`);
      assert.equal(await size(b, "ok"), 2);
    }
  });
}
