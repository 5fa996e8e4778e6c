// Browser tests of the chat demo. Run by e2e_test.go (go test ./examples/chat/),
// which builds the server and passes CHAT_BIN, REPO_ROOT and ARTIFACTS_DIR.
//
// playwright-core drives Debian's chromium at /usr/bin/chromium with every
// flag that keeps it from reaching anything but this machine.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, joinRoom, launchChromium, openChat, send, setNickname, startChat } from "./lib.mjs";

const CHAT_BIN = process.env.CHAT_BIN;
const REPO_ROOT = process.env.REPO_ROOT;
const ARTIFACTS = process.env.ARTIFACTS_DIR || join(tmpdir(), "chat-artifacts");
const WAIT = 10_000;

let port;
let chat;
let browser;
let userDataDir;

async function startServer() {
  chat = await startChat(port, ["-addr", `127.0.0.1:${port}`], { wait: WAIT });
}

async function stopServer() {
  await chat?.stop();
}

before(async () => {
  assert.ok(CHAT_BIN, "CHAT_BIN must point to the built chat server");
  port = await freePort();
  await startServer();
  userDataDir = mkdtempSync(join(tmpdir(), "chat-chromium-"));
  browser = await launchChromium(userDataDir);
});

after(async () => {
  await browser?.close();
  await stopServer();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

// The pages a test opened: after it, none may have had a script error, a
// console error or an HTTP error (a missing favicon included), unless the
// test expects them (page.allowErrors).
let opened = [];

afterEach(() => {
  const pages = opened;
  opened = [];
  for (const p of pages) {
    if (!p.allowErrors) assert.deepEqual(p.errors, [], "errors in the page");
  }
});

// openPage opens the chat in a fresh context that may only reach loopback
// (unless route is false: see openChat).
function openPage(query = "", { viewport, route } = {}) {
  return openChat(browser, `http://127.0.0.1:${port}/${query}`, { viewport, route, wait: WAIT, opened });
}

const messageTexts = (page) => page.$$eval("#messages li.message .text", (els) => els.map((e) => e.textContent));

test("the welcome event from the server is written into the page", async () => {
  const page = await openPage();
  await page.waitForFunction(() => document.querySelector("#welcome").textContent === "Hello and Welcome to the Server");
  await page.context().close();
});

test("the page has an icon: the browser asks for no /favicon.ico", async () => {
  const page = await openPage("", { route: false });
  const icon = await page.evaluate(async () => {
    const link = document.querySelector('link[rel~="icon"]');
    if (!link) return "no icon link";
    const res = await fetch(link.href);
    return { status: res.status, type: res.headers.get("content-type") };
  });
  assert.deepEqual(icon, { status: 200, type: "image/svg+xml" });
  // Chromium asks for the icon after the load event; a 404 would be a
  // console error, which afterEach reports. Give it time to show.
  await page.waitForTimeout(1000);
  await page.context().close();
});

test("without -webtransport, config.js has no WebTransport and the server offers none", async () => {
  const config = await (await fetch(`http://127.0.0.1:${port}/config.js`)).text();
  assert.equal(config, "window.chatConfig = {};\n");
  const open = await (await fetch(`http://127.0.0.1:${port}/socket.io/?EIO=4&transport=polling`)).text();
  assert.deepEqual(JSON.parse(open.slice(1)).upgrades, ["websocket"]);
});

test("the page shows the transport, upgraded to websocket", async () => {
  const page = await openPage();
  await page.waitForFunction(() => document.querySelector("#transport").textContent === "websocket");
  await page.context().close();
});

test("messages reach the members of the room only; announcements reach everyone", async () => {
  const alice = await openPage();
  const bob = await openPage();
  const carol = await openPage();
  await setNickname(alice, "alice");
  await setNickname(bob, "bob");
  await setNickname(carol, "carol");
  await joinRoom(alice, "red");
  await joinRoom(bob, "red");
  await joinRoom(carol, "blue");

  // The room list shows member counts.
  await alice.waitForFunction(() => {
    const li = document.querySelector('#rooms li[data-room="red"] .count');
    return li && li.textContent === "2 members";
  });

  await send(alice, "hello red room");
  await bob.waitForFunction(() => [...document.querySelectorAll("#messages li.message .text")].some((e) => e.textContent === "hello red room"));
  await alice.waitForFunction(() => [...document.querySelectorAll("#messages li.message .text")].some((e) => e.textContent === "hello red room"));
  // Give a wrongly routed message time to arrive before checking it did not.
  await carol.waitForTimeout(300);
  assert.ok(!(await messageTexts(carol)).includes("hello red room"), "carol (blue) must not get the red message");

  // Typing indicator.
  await bob.fill("#msg", "typ");
  await bob.type("#msg", "ing");
  await alice.waitForFunction(() => document.querySelector("#typing").textContent.includes("bob is typing"));

  await alice.fill("#msg", "attention everyone");
  await alice.click("#announce");
  for (const p of [alice, bob, carol]) {
    await p.waitForFunction(() => [...document.querySelectorAll("#messages li.announcement .text")].some((e) => e.textContent === "attention everyone"));
  }

  mkdirSync(ARTIFACTS, { recursive: true });
  await alice.screenshot({ path: join(ARTIFACTS, "chat.png"), fullPage: true });
  for (const p of [alice, bob, carol]) {
    assert.deepEqual(p.errors, []);
    await p.context().close();
  }
});

test("a page joining a room sees its recent messages", async () => {
  const first = await openPage();
  await joinRoom(first, "history");
  await send(first, "said before you came");
  const late = await openPage();
  await joinRoom(late, "history");
  await late.waitForFunction(() => [...document.querySelectorAll("#messages li.message .text")].some((e) => e.textContent === "said before you came"));
  await first.context().close();
  await late.context().close();
});

test("a page forced to long-polling works the same", async () => {
  const polling = await openPage("?transports=polling");
  const ws = await openPage();
  await polling.waitForFunction(() => document.querySelector("#welcome").textContent === "Hello and Welcome to the Server");
  assert.equal(await polling.textContent("#transport"), "polling");
  await joinRoom(polling, "poll-room");
  await joinRoom(ws, "poll-room");
  await send(ws, "to the polling page");
  await polling.waitForFunction(() => [...document.querySelectorAll("#messages li.message .text")].some((e) => e.textContent === "to the polling page"));
  await send(polling, "from the polling page");
  await ws.waitForFunction(() => [...document.querySelectorAll("#messages li.message .text")].some((e) => e.textContent === "from the polling page"));
  // Still polling: it was never upgraded.
  assert.equal(await polling.evaluate(() => window.chatSocket.io.engine.transport.name), "polling");
  await polling.context().close();
  await ws.context().close();
});

test("an HTML injection attempt is shown as text", async () => {
  const a = await openPage();
  const b = await openPage();
  await joinRoom(a, "xss");
  await joinRoom(b, "xss");
  const attack = `<img src=x onerror="window.pwned=1"><b>bold</b>`;
  await setNickname(a, "<script>x</script>");
  await send(a, attack);
  await b.waitForFunction((t) => [...document.querySelectorAll("#messages li.message .text")].some((e) => e.textContent === t), attack);
  assert.equal(await b.$$eval("#messages img, #messages b, #messages script", (els) => els.length), 0);
  assert.equal(await b.evaluate(() => window.pwned), undefined);
  assert.ok((await b.$$eval("#messages li.message .who", (els) => els.map((e) => e.textContent))).includes("<script>x</script>"));
  await a.context().close();
  await b.context().close();
});

test("the server bounds messages and rate-limits with a visible error", async () => {
  const page = await openPage();
  await joinRoom(page, "limits");
  await page.fill("#msg", "x".repeat(600)); // the input stops at 500
  assert.equal((await page.inputValue("#msg")).length, 500);
  // Bypass the page to send an oversize message: the server refuses it.
  const res = await page.evaluate(() => new Promise((r) => window.chatSocket.emit("message", "y".repeat(600), r)));
  assert.equal(res.ok, false);
  for (let i = 0; i < 8; i++) {
    await page.fill("#msg", "flood " + i);
    await page.click("#msg-form button[type=submit]");
    // Wait for the answer: the input is cleared, or an error is shown.
    await page.waitForFunction(() => document.querySelector("#msg").value === "" || document.querySelector("#error").textContent !== "");
  }
  await page.waitForFunction(() => document.querySelector("#error").textContent.includes("Slow down"));
  await page.context().close();
});

test("a reloaded page keeps its nickname and room", async () => {
  const page = await openPage();
  await setNickname(page, "dora");
  await joinRoom(page, "reload-room");
  const before = await page.evaluate(() => window.chatSocket.id);
  await page.reload();
  await page.waitForSelector("#state[data-state=connected]");
  await page.waitForFunction(() => document.querySelector("#current-room").textContent === "reload-room");
  await page.waitForFunction(() => document.querySelector("#nick").value === "dora");
  // A new session, which the page set up again: the server agrees.
  assert.notEqual(await page.evaluate(() => window.chatSocket.id), before);
  const other = await openPage();
  await joinRoom(other, "reload-room");
  await send(page, "after the reload");
  await other.waitForFunction(() => [...document.querySelectorAll("#messages li.message")].some(
    (li) => li.querySelector(".who").textContent === "dora" && li.querySelector(".text").textContent === "after the reload"));
  assert.equal(await page.textContent("#error"), "");
  await page.context().close();
  await other.context().close();
});

test("a second server on the same address says how to choose another", { timeout: WAIT }, async (t) => {
  const second = spawn(CHAT_BIN, ["-addr", `127.0.0.1:${port}`], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  second.stdout.on("data", (d) => (log += d));
  second.stderr.on("data", (d) => (log += d));
  t.after(() => second.kill());
  const code = await new Promise((resolve) => second.once("exit", resolve));
  assert.equal(code, 1, log);
  assert.match(log, /address is already in use/);
  assert.match(log, /-addr host:port, or make demo ADDR=host:port/);
});

test("a page recovers after the server restarts", async () => {
  const page = await openPage();
  page.allowErrors = true; // requests fail while the server is down
  await joinRoom(page, "lobby");
  // "reconnecting" lasts from a reconnection attempt to its failure, a few
  // milliseconds while the server is down: record every state the page
  // goes through instead of polling for it.
  await page.evaluate(() => {
    const el = document.querySelector("#state");
    window.seenStates = [];
    new MutationObserver((records) => {
      for (const r of records) window.seenStates.push(r.oldValue);
      window.seenStates.push(el.dataset.state);
    }).observe(el, { attributes: true, attributeFilter: ["data-state"], attributeOldValue: true });
  });
  await stopServer();
  await page.waitForFunction(() => window.seenStates.includes("disconnected"));
  await page.waitForFunction(() => window.seenStates.includes("reconnecting"), null, { timeout: 15_000 });
  await startServer();
  await page.waitForFunction(() => document.querySelector("#state").dataset.state === "connected", null, { timeout: 20_000 });
  const other = await openPage();
  await send(page, "back online");
  await other.waitForFunction(() => [...document.querySelectorAll("#messages li.message .text")].some((e) => e.textContent === "back online"));
  await page.context().close();
  await other.context().close();
});
