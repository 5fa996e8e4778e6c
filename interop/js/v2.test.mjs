// npm socket.io-client 2.5.0 (Engine.IO v3), pinned as "socket.io-client-v2",
// against the Go server with AllowEIO3. Server: v2_test.go.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { SERVER_URL, connect, connected, closeAll, once, until } from "./lib.mjs";

const require = createRequire(import.meta.url);
const io2 = require("socket.io-client-v2");
const v2Pkg = require("socket.io-client-v2/package.json");

const v2Sockets = new Set();
function connectV2(nsp, opts) {
  const s = io2(SERVER_URL + nsp, { forceNew: true, reconnection: false, timeout: 5000, ...opts });
  v2Sockets.add(s);
  return s;
}

function connectedV2(s, ms = 5000) {
  if (s.connected) return Promise.resolve(s);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for the v2 connect to ${s.nsp}`)), ms);
    s.once("connect", () => { clearTimeout(timer); resolve(s); });
    s.once("error", (e) => { clearTimeout(timer); reject(new Error(`v2 error on ${s.nsp}: ${JSON.stringify(e)}`)); });
    s.once("connect_error", (e) => { clearTimeout(timer); reject(new Error(`v2 connect_error on ${s.nsp}: ${e}`)); });
  });
}

function ack(s, ...args) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for ${args[0]}`)), 5000);
    s.emit(...args, (...res) => { clearTimeout(timer); resolve(res); });
  });
}

const bytes = (b) => [...Buffer.from(b)];

after(() => {
  for (const s of v2Sockets) {
    s.close();
    s.io.engine && s.io.engine.close();
  }
  closeAll();
});

test("the pinned client is socket.io-client 2.5.0", () => {
  assert.equal(v2Pkg.version, "2.5.0");
});

const modes = {
  polling: { transports: ["polling"] },
  "polling base64": { transports: ["polling"], forceBase64: true },
  websocket: { transports: ["websocket"] },
  upgrade: {},
};

for (const [mode, opts] of Object.entries(modes)) {
  test(`${mode}: main namespace, ids, acks and binary both ways`, { timeout: 15000 }, async () => {
    const s = connectV2("/", opts);
    await connectedV2(s);
    const [who] = await ack(s, "whoami");
    assert.equal(who.protocol, 3);
    assert.equal(who.nsp, "/");
    assert.equal(who.id, s.id, "the socket id the client computed");
    assert.equal(who.engine, s.io.engine.id);
    assert.equal(s.id, s.io.engine.id);
    if (mode.startsWith("polling")) {
      // In Node, the client's XMLHttpRequest has no XHR2, so it asks for
      // base64 (b64=1) either way; the XHR2 binary payloads are checked
      // against Node's parser in eioparser and engineio.
      assert.equal(s.io.engine.transport.supportsBinary, false);
    }

    // Client to server, with an acknowledgement, binary included.
    const res = await ack(s, "echo", "a", 1, { x: [true, null], é: "😀" }, Buffer.from([1, 2, 3]));
    assert.equal(res.length, 4);
    assert.deepEqual(res.slice(0, 3), ["a", 1, { x: [true, null], é: "😀" }]);
    assert.deepEqual(bytes(res[3]), [1, 2, 3]);
    // Without acknowledgement: the server emits back.
    const echoed = once(s, "echo");
    s.emit("echo", { nested: Buffer.from([9, 8]) }, "z");
    const [obj, z] = await echoed;
    assert.deepEqual(bytes(obj.nested), [9, 8]);
    assert.equal(z, "z");

    // Server to client, with the client's acknowledgement.
    s.on("question", (n, buf, cb) => cb(n * 2, Buffer.from([...Buffer.from(buf), 0])));
    const [answer] = await ack(s, "ask");
    assert.equal(answer[0], 42);
    assert.deepEqual(bytes(answer[1]), [7, 0]);

    if (mode === "upgrade") {
      await until(() => s.io.engine.transport.name === "websocket", "the upgrade to websocket");
      const again = await ack(s, "echo", Buffer.from([5]));
      assert.deepEqual(bytes(again[0]), [5]);
    }
    s.close();
  });

  test(`${mode}: namespaces with query auth, refusals`, { timeout: 15000 }, async () => {
    const s = connectV2("/admin", { ...opts, query: { token: "secret" } });
    await connectedV2(s);
    const [who] = await ack(s, "whoami");
    assert.equal(who.nsp, "/admin");
    assert.equal(who.auth.token, "secret");
    assert.equal(who.id, s.id);
    assert.equal(s.id, "/admin#" + s.io.engine.id);

    const bad = connectV2("/admin", { ...opts, query: { token: "bad" } });
    const [err] = await once(bad, "error");
    assert.deepEqual(err, { code: 401 });
    const plain = connectV2("/admin", { ...opts, query: { token: "plain" } });
    const [err2] = await once(plain, "error");
    assert.equal(err2, "go away");
    const none = connectV2("/nope", opts);
    const [err3] = await once(none, "error");
    assert.deepEqual(err3, { message: "Invalid namespace" });
    for (const x of [s, bad, plain, none]) x.close();
  });

  test(`${mode}: rooms shared with a 4.x client`, { timeout: 15000 }, async () => {
    const v2 = connectV2("/", opts);
    await connectedV2(v2);
    const v4 = connect("/", {});
    await connected(v4);
    await ack(v2, "join", "room-" + mode);
    await new Promise((r) => v4.emit("join", "room-" + mode, r));
    const got2 = once(v2, "news");
    const got4 = once(v4, "news");
    const [ok] = await ack(v2, "broadcast", "room-" + mode);
    assert.equal(ok, true);
    for (const [hello, buf, obj] of [await got2, await got4]) {
      assert.equal(hello, "hello");
      assert.deepEqual(bytes(buf), [1, 2, 3]);
      assert.deepEqual(bytes(obj.nested), [4, 5]);
      assert.equal(obj.n, 1);
    }
    // And the other way: a 4.x client's broadcast reaches the 2.x client.
    const again = once(v2, "news");
    assert.equal(await new Promise((r) => v4.emit("broadcast", "room-" + mode, r)), true);
    const [, buf2] = await again;
    assert.deepEqual(bytes(buf2), [1, 2, 3]);
    v2.close();
    v4.disconnect();
  });
}
