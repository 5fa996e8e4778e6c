// Browser test of the chat demo with -webtransport: run by e2e_test.go
// (TestWebTransportBrowser), which builds the server and passes CHAT_BIN,
// REPO_ROOT and ARTIFACTS_DIR. Same browser and loopback-only routing as chat.test.mjs,
// but without --disable-quic, which would forbid HTTP/3.
//
// The demo listens on localhost (both loopback addresses, TCP and UDP, on
// the same port number); its pages take the WebTransport port and the hash
// of its self-signed certificate from config.js and connect over
// WebTransport, or upgrade to it from long-polling, and chat with a page
// on WebSocket; a page whose WebTransport fails falls back to WebSocket.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, joinRoom, launchChromium, openChat, send, startChat } from "./lib.mjs";

const WAIT = 15_000;
const ARTIFACTS = process.env.ARTIFACTS_DIR || join(tmpdir(), "chat-artifacts");

let port;
let chat;
let browser;
let userDataDir;

before(async () => {
  assert.ok(process.env.CHAT_BIN, "CHAT_BIN must point to the built chat server");
  port = await freePort();
  chat = await startChat(port, ["-addr", `localhost:${port}`, "-webtransport", `localhost:${port}`], { wait: WAIT });
  userDataDir = mkdtempSync(join(tmpdir(), "chat-wt-chromium-"));
  browser = await launchChromium(userDataDir, { quic: true });
});

after(async () => {
  await browser?.close();
  await chat?.stop();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

let opened = [];

afterEach(async () => {
  const pages = opened;
  opened = [];
  for (const p of pages) await p.context().close();
  for (const p of pages) assert.deepEqual(p.errors, [], "errors in the page");
});

// openPage opens the chat at http://host:port/query, and waits until it
// shows the transport want. setup, if given, prepares the context first.
async function openPage(host, query, want, setup) {
  const page = await openChat(browser, `http://${host}:${port}/${query}`, { wait: WAIT, opened, setup });
  try {
    await page.waitForFunction((t) => document.querySelector("#transport").textContent === t, want);
  } catch (e) {
    const now = await page.evaluate(() => window.chatSocket.io.engine?.transport.name);
    throw new Error(`the page is on ${now}, want ${want}: ${e.message}`);
  }
  assert.equal(await page.evaluate(() => window.chatSocket.io.engine.transport.name), want);
  return page;
}

const hasMessage = (page, text) => page.waitForFunction((t) =>
  [...document.querySelectorAll("#messages li.message .text")].some((e) => e.textContent === t), text);

test("config.js gives the page the WebTransport port and the certificates' hashes", async () => {
  const res = await fetch(`http://127.0.0.1:${port}/config.js`);
  assert.equal(res.headers.get("cache-control"), "no-store");
  const m = /^window\.chatConfig = (.*);\n$/.exec(await res.text());
  assert.ok(m, "config.js sets window.chatConfig");
  const { webtransport } = JSON.parse(m[1]);
  assert.equal(webtransport.port, port);
  assert.equal(webtransport.hashes.length, 2); // the certificate served, and the next
  for (const h of webtransport.hashes) assert.equal(h.length, 32);
});

test("pages use WebTransport, or upgrade to it from long-polling, and chat with a WebSocket page", async () => {
  // The page as served: WebTransport first. On localhost, which Chromium
  // tries over [::1] first: the demo listens on both loopback addresses.
  const direct = await openPage("localhost", "", "webtransport");
  const upgraded = await openPage("127.0.0.1", "?transports=polling,webtransport", "webtransport");
  const ws = await openPage("127.0.0.1", "?transports=polling,websocket", "websocket");
  assert.deepEqual(await direct.evaluate(() => window.chatSocket.io.opts.transports), ["webtransport", "polling", "websocket"]);
  for (const p of [upgraded, direct, ws]) await joinRoom(p, "quic");
  await upgraded.waitForFunction(() => document.querySelector('#rooms li[data-room="quic"] .count')?.textContent === "3 members");

  // A message with its acknowledgement, pushed to the others.
  await send(upgraded, "over webtransport");
  await hasMessage(direct, "over webtransport");
  await hasMessage(ws, "over webtransport");
  await send(ws, "from websocket");
  await hasMessage(upgraded, "from websocket");
  await hasMessage(direct, "from websocket");
  await send(direct, "direct");
  await hasMessage(upgraded, "direct");

  // The typing indicator and an announcement, pushed by the server.
  await direct.fill("#msg", "typ");
  await direct.type("#msg", "ing");
  await upgraded.waitForFunction(() => document.querySelector("#typing").textContent.includes("is typing"));
  await ws.fill("#msg", "to every room");
  await ws.click("#announce");
  for (const p of [upgraded, direct, ws]) {
    await p.waitForFunction(() => [...document.querySelectorAll("#messages li.announcement .text")].some((e) => e.textContent === "to every room"));
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  await upgraded.screenshot({ path: join(ARTIFACTS, "chat-webtransport.png"), fullPage: true });
  // Still on the transports they chose.
  assert.deepEqual(await Promise.all([upgraded, direct, ws].map((p) => p.evaluate(() => window.chatSocket.io.engine.transport.name))),
    ["webtransport", "webtransport", "websocket"]);
});

test("a page whose WebTransport fails falls back to long-polling and WebSocket", async () => {
  // config.js with a hash no certificate has: Chromium refuses the
  // server's certificate, and the client tries the next transports.
  const page = await openPage("127.0.0.1", "", "websocket", (context) => context.route("**/config.js", async (route) => {
    const res = await route.fetch();
    const body = (await res.text()).replace(/"hashes":\[\[[0-9,\[\]]*\]\]/, `"hashes":[${JSON.stringify(new Array(32).fill(7))}]`);
    assert.notEqual(body, await res.text(), "config.js has hashes to replace");
    await route.fulfill({ response: res, body });
  }));
  // Chromium says why in the console, and the client leaves the rejection
  // of WebTransport.ready unhandled (client 4.8.4); nothing else may go
  // wrong.
  page.errors = page.errors.filter((e) => e !== "script error: Opening handshake failed." &&
    !/^console error: Failed to establish a connection to https:\/\/127\.0\.0\.1:\d+\/socket\.io\/.*CERTIFICATE/.test(e));
  await joinRoom(page, "fallback");
  await send(page, "over websocket");
  await hasMessage(page, "over websocket");
});
