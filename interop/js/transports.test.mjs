// Transports: websocket only, polling only, and the polling→websocket
// upgrade with nothing lost in either direction. Server: transport_test.go.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { connect, connected, once, closeAll, until, sleep } from "./lib.mjs";

after(closeAll);

// The streams have at least STREAM_MIN numbers and go on for STREAM_AFTER
// numbers after the upgrade (up to STREAM_MAX); the server does the same
// (transport_test.go).
const STREAM_MIN = 500;
const STREAM_AFTER = 100;
const STREAM_MAX = 5000;

// ackAll emits with an acknowledgement and resolves with all its arguments.
function ackAll(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(5000).emit(event, ...args, (err, ...reply) => (err ? reject(err) : resolve(reply)));
  });
}

const payload = ["héllo ✓ 😀 \u2028 \"quoted\" </script>", 42, -1.5, true, null, { a: [1, { b: "c" }], "ключ": "значение" }, [], {}];

for (const transport of ["websocket", "polling"]) {
  test(`${transport} only: connect, echo, stay on ${transport}`, { timeout: 10000 }, async () => {
    const s = connect("/", { transports: [transport] });
    await connected(s);
    assert.equal(s.io.engine.transport.name, transport);
    assert.deepEqual(await ackAll(s, "echo", ...payload), payload);
    const big = "x".repeat(200_000);
    assert.deepEqual(await ackAll(s, "echo", big), [big]);
    await sleep(100);
    assert.equal(s.io.engine.transport.name, transport, "the client changed transport");
    assert.equal(await s.timeout(3000).emitWithAck("transport"), transport);
    s.disconnect();
  });
}

test("default transports: upgrade to websocket, streams in both directions arrive whole and in order", { timeout: 20000 }, async () => {
  // The server delays the WebSocket request of the upgrade a little, so that
  // both streams are under way while it happens.
  const s = connect("/", { auth: { stream: true }, query: { upgradeDelay: 60 } });
  const got = [];
  let receivedAtUpgrade = -1;
  s.io.on("open", () => {
    s.io.engine.on("upgrade", () => {
      receivedAtUpgrade = got.length;
    });
  });
  s.on("n", (n) => got.push(n));
  const end = once(s, "n-end", 15000);
  await connected(s);
  assert.equal(s.io.engine.transport.name, "polling", "the first transport is long-polling");

  let sent = 0;
  let sentAtUpgrade = -1;
  s.io.engine.once("upgrade", () => (sentAtUpgrade = sent));
  while (sent < STREAM_MAX && (sent < STREAM_MIN || sentAtUpgrade < 0 || sent < sentAtUpgrade + STREAM_AFTER)) {
    s.emit("c", sent++);
    if (sent % 10 === 0) await sleep(2);
  }
  const [total, serverWhilePolling] = await end;
  assert.ok(total >= STREAM_MIN);
  assert.deepEqual(got, [...Array(total).keys()], "the server's stream arrived whole and in order");

  await until(() => s.io.engine.transport.name === "websocket", "the upgrade to websocket");
  const stats = await s.timeout(5000).emitWithAck("c-done");
  assert.equal(stats.next, sent, "the server got the whole client stream");
  assert.deepEqual(stats.bad ?? [], [], "the server got the client stream in order");
  assert.equal(stats.transport, "websocket");
  console.log(
    `server stream: ${serverWhilePolling}/${total} sent while polling, ${receivedAtUpgrade} received before the upgrade; ` +
      `client stream: ${sentAtUpgrade}/${sent} sent before the upgrade, ${stats.whilePolling} received while polling`,
  );
  // The streams must span the upgrade, or the test proves nothing.
  assert.ok(serverWhilePolling > 0 && serverWhilePolling < total, `server stream did not span the upgrade (${serverWhilePolling} sent while polling)`);
  assert.ok(stats.whilePolling > 0 && stats.whilePolling < sent, `client stream did not span the upgrade (${stats.whilePolling} received while polling)`);
  s.disconnect();
});
