// Disconnect reasons on both sides. Server: disconnect_test.go (ping
// interval 300ms, ping timeout 700ms).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Manager } from "socket.io-client";
import { SERVER_URL, connect, connected, once, closeAll, track, until, sleep, reasonOf, ctlDo, ctlGet } from "./lib.mjs";

after(closeAll);

let tags = 0;
const newTag = () => `d${++tags}-${process.pid}`;

// noReconnect checks that the client made no new handshake and gave up.
async function noReconnect(socket, tag) {
  await sleep(300);
  assert.equal((await ctlGet(`handshake:${tag}`)).length, 1, "the client did not reconnect");
  assert.equal(socket.active, false, "the socket is not trying to reconnect");
}

for (const transport of ["websocket", "polling"]) {
  const opts = (tag) => ({ transports: [transport], query: { tag }, reconnection: true, reconnectionDelay: 50, randomizationFactor: 0 });

  test(`${transport}: client socket.disconnect() → server "client namespace disconnect"`, { timeout: 10000 }, async () => {
    const s = connect("/", opts(newTag()));
    await connected(s);
    const id = s.id;
    const reason = once(s, "disconnect");
    s.disconnect();
    assert.equal((await reason)[0], "io client disconnect");
    assert.equal(await reasonOf(id), "client namespace disconnect");
  });

  test(`${transport}: server s.Disconnect(false) → client "io server disconnect", no reconnection`, { timeout: 10000 }, async () => {
    const tag = newTag();
    const s = connect("/", opts(tag));
    await connected(s);
    const id = s.id;
    const reason = once(s, "disconnect");
    s.emit("kick", false);
    assert.equal((await reason)[0], "io server disconnect");
    assert.equal(await reasonOf(id), "server namespace disconnect");
    await noReconnect(s, tag);
  });

  test(`${transport}: server s.Disconnect(true) → every socket of the connection gets "io server disconnect", the server closes the connection, no reconnection`, { timeout: 10000 }, async () => {
    const tag = newTag();
    const m = new Manager(SERVER_URL, opts(tag));
    const main = track(m.socket("/"));
    const other = track(m.socket("/other"));
    await Promise.all([connected(main), connected(other)]);
    const ids = [main.id, other.id];
    const eid = m.engine.id;
    const reasons = Promise.all([once(main, "disconnect"), once(other, "disconnect")]);
    main.emit("kick", true);
    const [[r1], [r2]] = await reasons;
    assert.equal(await reasonOf(ids[0]), "server namespace disconnect");
    assert.equal(await reasonOf(ids[1]), "server namespace disconnect");
    await until(async () => !(await ctlDo("engine", { sid: eid })).open, "the server to close the connection");
    await noReconnect(main, tag);
    assert.deepEqual(
      [r1, r2],
      ["io server disconnect", "io server disconnect"],
      transport === "polling"
        ? "LIBRARY BUG: over long-polling, a graceful close (Socket.Disconnect(true)) sends the DISCONNECT packets and the " +
            "Engine.IO close packet in one payload; socket.io-client 4.8.x delivers decoded packets on the next tick, so it handles " +
            "the close first and its sockets report \"transport close\". Node's server sends the close packet in a later poll " +
            "response, once the queued packets are flushed."
        : undefined,
    );
  });

  test(`${transport}: client closes its Manager → server "transport close"`, { timeout: 10000 }, async () => {
    const s = connect("/", opts(newTag()));
    await connected(s);
    const id = s.id;
    const reason = once(s, "disconnect");
    s.io.disconnect(); // Manager.disconnect(): closes the Engine.IO connection
    console.log(`  client reason after Manager.disconnect(): ${(await reason)[0]}`);
    assert.equal(await reasonOf(id), "transport close");
  });

  test(`${transport}: client process killed → server "${transport === "websocket" ? "transport close" : "transport error or ping timeout"}"`, { timeout: 15000 }, async () => {
    const child = spawn(process.execPath, [fileURLToPath(new URL("./child-client.mjs", import.meta.url)), transport], {
      env: process.env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const [line] = await once(child.stdout, "data", 10000);
      const { id } = JSON.parse(line.toString());
      assert.ok(id);
      // Let the GET that follows the ping reach the server (the next ping
      // is 300ms away).
      await sleep(150);
      child.kill("SIGKILL");
      // Over WebSocket the TCP connection ends: "transport close". Over
      // long-polling the pending GET is cut: Node's server says
      // "transport error" (poll connection closed prematurely) — or, when
      // the kill fell between two polls (a loaded machine), nothing is cut
      // and the heartbeat ends the session: "ping timeout".
      const reason = await reasonOf(id);
      if (transport === "websocket") assert.equal(reason, "transport close");
      else assert.ok(["transport error", "ping timeout"].includes(reason), reason);
    } finally {
      child.kill("SIGKILL");
    }
  });

  test(`${transport}: the client stops answering pings → server "ping timeout"`, { timeout: 10000 }, async () => {
    const s = connect("/", opts(newTag()));
    await connected(s);
    const id = s.id;
    const engine = s.io.engine;
    // Drop every pong, and stop the client's own heartbeat check so that
    // the server is the side that notices.
    const send = engine._sendPacket.bind(engine);
    engine._sendPacket = (type, ...rest) => (type === "pong" ? undefined : send(type, ...rest));
    engine._resetPingTimeout = () => {};
    clearTimeout(engine._pingTimeoutTimer);
    s.io.reconnection(false);
    const start = Date.now();
    const reason = once(s, "disconnect", 5000);
    assert.equal(await reasonOf(id, 5000), "ping timeout");
    const elapsed = Date.now() - start;
    assert.ok(elapsed < 2500, `ping timeout after ${elapsed}ms, want at most interval + timeout (1s) plus slack`);
    assert.equal((await reason)[0], "transport close", "the client sees the server close the transport");
  });
}
