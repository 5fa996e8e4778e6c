// 50 concurrent clients × 100 acknowledgements each way. Server: load_test.go.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { connect, connected, closeAll, ctlDo } from "./lib.mjs";

after(closeAll);

const CLIENTS = 50;
const ACKS = 100;

test(`${CLIENTS} clients × ${ACKS} acks each way, none lost`, { timeout: 40000 }, async () => {
  // Half upgrade from polling, half use websocket directly.
  const sockets = [];
  for (let i = 0; i < CLIENTS; i++) {
    const s = connect("/", i % 2 ? { transports: ["websocket"] } : {});
    let answered = 0;
    s.on("srv-inc", (n, cb) => {
      answered++;
      cb(n + 1);
    });
    s.answered = () => answered;
    sockets.push(s);
  }
  await Promise.all(sockets.map((s) => connected(s, 15000)));

  // Client → server: every ack arrives, with the right value.
  const results = await Promise.all(
    sockets.map((s) => Promise.all([...Array(ACKS).keys()].map((i) => s.timeout(20000).emitWithAck("inc", i)))),
  );
  for (const r of results) assert.deepEqual(r, [...Array(ACKS).keys()].map((i) => i + 1));
  const counts = await ctlDo("counts");
  assert.equal(counts.received, CLIENTS * ACKS, "events handled by the server");
  for (const s of sockets) assert.equal(counts.perSocket[s.id], ACKS, `server count for ${s.id}`);

  // Server → client: the server asks every client ACKS times at once.
  const asked = await Promise.all(sockets.map((s) => s.timeout(30000).emitWithAck("ask", ACKS).catch((e) => e)));
  for (const r of asked) assert.deepEqual(r, { ok: ACKS, err: "" }, "answers counted by the server");
  for (const s of sockets) assert.equal(s.answered(), ACKS, "events answered by the client");
  for (const s of sockets) s.disconnect();
});
