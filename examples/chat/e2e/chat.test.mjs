// Browser tests of the chat demo. Run by e2e_test.go (go test ./examples/chat/),
// which builds the server and passes CHAT_BIN, REPO_ROOT and ARTIFACTS_DIR.
//
// playwright-core drives Debian's chromium at /usr/bin/chromium with every
// flag that keeps it from reaching anything but this machine.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";
import { chromium } from "playwright-core";

const CHAT_BIN = process.env.CHAT_BIN;
const REPO_ROOT = process.env.REPO_ROOT;
const ARTIFACTS = process.env.ARTIFACTS_DIR || join(tmpdir(), "chat-artifacts");
const WAIT = 10_000;

let port;
let server;
let browser;
let userDataDir;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

async function startServer() {
  server = spawn(CHAT_BIN, ["-addr", `127.0.0.1:${port}`], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  server.stdout.on("data", (d) => (log += d));
  server.stderr.on("data", (d) => (log += d));
  const deadline = Date.now() + WAIT;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, "127.0.0.1", () => { c.end(); resolve(true); });
      c.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("chat server did not start:\n" + log);
}

async function stopServer() {
  if (!server || server.exitCode !== null) return;
  const exited = new Promise((r) => server.once("exit", r));
  server.kill("SIGTERM");
  await exited;
}

before(async () => {
  assert.ok(CHAT_BIN, "CHAT_BIN must point to the built chat server");
  port = await freePort();
  await startServer();
  userDataDir = mkdtempSync(join(tmpdir(), "chat-chromium-"));
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--proxy-server=http://127.0.0.1:9",
      "--host-resolver-rules=MAP * 127.0.0.1:9, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]",
    ],
    // playwright gives every launch a fresh, empty --user-data-dir of its
    // own (it refuses one in args); keep its temporary files in ours.
    env: { ...process.env, TMPDIR: userDataDir },
  });
});

after(async () => {
  await browser?.close();
  await stopServer();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

// openPage opens the chat in a fresh context that may only reach loopback.
async function openPage(query = "", viewport = { width: 1100, height: 760 }) {
  const context = await browser.newContext({ viewport });
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) return route.continue();
    return route.abort();
  });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  await page.goto(`http://127.0.0.1:${port}/${query}`);
  await page.waitForSelector("#state[data-state=connected]");
  page.errors = errors;
  return page;
}

async function setNickname(page, name) {
  await page.fill("#nick", name);
  await page.click("#nick-form button");
  await page.waitForFunction((n) => document.querySelector("#nick").value === n, name);
}

async function joinRoom(page, room) {
  await page.fill("#room", room);
  await page.click("#room-form button");
  await page.waitForFunction((r) => document.querySelector("#current-room").textContent === r, room);
}

async function send(page, text) {
  await page.fill("#msg", text);
  await page.click("#msg-form button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#msg").value === "");
}

const messageTexts = (page) => page.$$eval("#messages li.message .text", (els) => els.map((e) => e.textContent));

test("the welcome event from the server is written into the page", async () => {
  const page = await openPage();
  await page.waitForFunction(() => document.querySelector("#welcome").textContent === "Hello and Welcome to the Server");
  await page.context().close();
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

test("a page recovers after the server restarts", async () => {
  const page = await openPage();
  await joinRoom(page, "lobby");
  await stopServer();
  await page.waitForFunction(() => ["disconnected", "reconnecting"].includes(document.querySelector("#state").dataset.state));
  await page.waitForFunction(() => document.querySelector("#state").dataset.state === "reconnecting", null, { timeout: 15_000 });
  await startServer();
  await page.waitForFunction(() => document.querySelector("#state").dataset.state === "connected", null, { timeout: 20_000 });
  const other = await openPage();
  await send(page, "back online");
  await other.waitForFunction(() => [...document.querySelectorAll("#messages li.message .text")].some((e) => e.textContent === "back online"));
  await page.context().close();
  await other.context().close();
});
