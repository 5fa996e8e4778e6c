// WebSocket compression (permessage-deflate) with the JavaScript client in
// Node, whose ws offers it by default (threshold 1024). Server, and the
// check that frames were compressed on the wire (RSV1), both ways:
// compression_test.go.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { connect, connected, once, closeAll, until } from "./lib.mjs";

after(closeAll);

export const BIG = "a large and repetitive payload; ".repeat(4000); // 128 KB

async function exchange(s) {
  assert.equal(await s.timeout(5000).emitWithAck("echo", BIG), BIG);
  // The server answers with compress(false), to this socket and in a
  // broadcast: the frames are not compressed (compression_test.go).
  s.emit("plain", BIG);
  assert.deepEqual(await once(s, "plain"), [BIG]);
  s.emit("broadcast", BIG, false);
  assert.deepEqual(await once(s, "bcast"), [BIG, false]);
  s.emit("broadcast", BIG, true);
  assert.deepEqual(await once(s, "bcast"), [BIG, true]);
  // Under the threshold: sent as it is.
  const small = "s".repeat(500);
  assert.equal(await s.timeout(5000).emitWithAck("echo", small), small);
  // Binary attachments are compressed too.
  const bin = Buffer.alloc(50_000, 7);
  const got = await s.timeout(5000).emitWithAck("echo", bin);
  assert.ok(Buffer.from(got).equals(bin), "binary echo differs");
}

test("websocket only: large payloads both ways", { timeout: 15000 }, async () => {
  const s = connect("/", { transports: ["websocket"] });
  await connected(s);
  await exchange(s);
  s.disconnect();
});

test("after the upgrade from long-polling", { timeout: 15000 }, async () => {
  const s = connect("/");
  await connected(s);
  await until(() => s.io.engine.transport.name === "websocket", "the upgrade");
  await exchange(s);
  s.disconnect();
});
