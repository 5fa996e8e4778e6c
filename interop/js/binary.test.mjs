// Binary data both ways, over websocket and polling. Server: binary_test.go.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { connect, connected, once, closeAll } from "./lib.mjs";

after(closeAll);

const B = (...bytes) => Buffer.from(bytes);

// norm turns every binary value (Buffer, ArrayBuffer, typed array) into
// {bin: hex}, so that values compare with deepEqual whatever binary type
// the client produced.
function norm(v) {
  if (Buffer.isBuffer(v)) return { bin: v.toString("hex") };
  if (v instanceof ArrayBuffer) return { bin: Buffer.from(v).toString("hex") };
  if (ArrayBuffer.isView(v)) return { bin: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex") };
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
}

function ackAll(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(5000).emit(event, ...args, (err, ...reply) => (err ? reject(err) : resolve(reply)));
  });
}

// The Blob the Go side builds in sampleBlob.
const goBlob = {
  name: "from-go",
  data: B(0, 1, 2, 255),
  list: [B(10), B(), Buffer.alloc(3000, 0xab)],
  inner: { blob: Buffer.from("inner \x00 bytes") },
};

for (const transport of ["websocket", "polling"]) {
  test(`${transport}: top-level Buffer to the server, binary in the ack`, { timeout: 10000 }, async () => {
    const s = connect("/", { transports: [transport] });
    await connected(s);
    const data = Buffer.alloc(70_000);
    for (let i = 0; i < data.length; i++) data[i] = i % 251;
    const [rev, len] = await ackAll(s, "bin-top", data);
    assert.equal(len, data.length);
    assert.deepEqual(norm(rev), norm(Buffer.from(data).reverse()));
    const [empty, zero] = await ackAll(s, "bin-top", B());
    assert.deepEqual([norm(empty), zero], [norm(B()), 0]);
    s.disconnect();
  });

  test(`${transport}: binary nested in objects and arrays, decoded into a Go struct`, { timeout: 10000 }, async () => {
    const s = connect("/", { transports: [transport] });
    await connected(s);
    const blob = { name: "js", data: B(1, 2, 3), list: [B(4), B(5, 6)], inner: { blob: Buffer.alloc(1000, 7) } };
    const [back, summary] = await ackAll(s, "bin-nested", blob);
    assert.deepEqual(norm(back), norm({
      name: "js!",
      data: B(1, 2, 3, 255),
      list: [B(4), B(5, 6), Buffer.from("added")],
      inner: { blob: Buffer.alloc(1000, 7) },
    }));
    assert.equal(summary, "4/3/1000");
    s.disconnect();
  });

  test(`${transport}: several attachments in one event, some inside generic values`, { timeout: 10000 }, async () => {
    const s = connect("/", { transports: [transport] });
    await connected(s);
    const [res] = await ackAll(s, "bin-multi", B(1), B(2, 2), B(3, 3, 3), { x: B(4, 4, 4, 4), n: 5 }, ["s", B(6)]);
    assert.deepEqual(res, { lens: [1, 2, 3, 4, 1], first: [1, 2, 3, 4, 6], mapNum: 5 });
    s.disconnect();
  });

  test(`${transport}: Buffer, ArrayBuffer and Uint8Array round-trip through generic Go values`, { timeout: 10000 }, async () => {
    const s = connect("/", { transports: [transport] });
    await connected(s);
    const args = [
      B(1, 2),
      new Uint8Array([3, 4, 5]).buffer,
      new Uint8Array([6]),
      { nested: { x: [B(7), "y", { z: B(8, 9) }] }, plain: 1 },
      "text",
    ];
    const back = await ackAll(s, "bin-echo", ...args);
    assert.equal(back.length, args.length);
    assert.deepEqual(norm(back), norm(args));
    assert.ok(Buffer.isBuffer(back[0]), `binary arrives as a Buffer, got ${back[0]?.constructor?.name}`);
    s.disconnect();
  });

  test(`${transport}: binary from the server, and in acks the client answers`, { timeout: 10000 }, async () => {
    const s = connect("/", { transports: [transport] });
    await connected(s);
    const event = once(s, "srv-bin");
    const acks = [];
    s.on("srv-bin-ack", (b, blob, cb) => {
      acks.push(norm([b, blob]));
      cb(Buffer.concat([b, B(0xee)]), { ...blob, name: blob.name + "?", data: Buffer.concat([blob.data, B(1)]) });
    });
    const [res] = await ackAll(s, "bin-from-server");

    const args = await event;
    assert.deepEqual(norm(args), norm([B(1, 2, 3), goBlob, [B(9), "text", { deep: B(7, 7) }], B()]));
    assert.deepEqual(acks, [norm([B(4, 5, 6), goBlob]), norm([B(8), goBlob])]);

    assert.equal(res.error, undefined);
    assert.equal(res.cbError, undefined);
    assert.deepEqual(norm(res), norm({
      reply: B(4, 5, 6, 0xee),
      blobName: "from-go?",
      blobData: B(0, 1, 2, 255, 1),
      blobInner: goBlob.inner.blob,
      blobList: 3,
      cbReply: B(8, 0xee),
      cbBlobData: B(0, 1, 2, 255, 1),
    }));
    s.disconnect();
  });
}
