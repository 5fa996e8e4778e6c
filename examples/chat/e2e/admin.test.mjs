// Browser test of the Admin UI served by the chat demo: run by e2e_test.go
// (TestAdminBrowser), which builds the server and passes CHAT_BIN,
// REPO_ROOT and ARTIFACTS_DIR. Same browser, flags and loopback-only
// routing as chat.test.mjs.
//
// Two chat pages join rooms; the official Admin UI (npm @socket.io/admin-ui
// 0.5.1, served by the demo at /admin/) logs in with ADMIN_USER and
// ADMIN_PASSWORD, lists both pages' sockets and their rooms, and
// disconnects one: that page shows it was disconnected by the server.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOOPBACK, freePort, launchChromium, loopbackOnly, startChat } from "./lib.mjs";

const CHAT_BIN = process.env.CHAT_BIN;
const ARTIFACTS = process.env.ARTIFACTS_DIR || join(tmpdir(), "chat-artifacts");
const WAIT = 15_000;
const USER = "ops";
const PASSWORD = "e2e-admin-secret";

let port;
let chat;
let browser;
let userDataDir;

before(async () => {
  assert.ok(CHAT_BIN, "CHAT_BIN must point to the built chat server");
  port = await freePort();
  chat = await startChat(port, ["-addr", `127.0.0.1:${port}`], {
    env: { ...process.env, ADMIN_USER: USER, ADMIN_PASSWORD: PASSWORD },
    wait: WAIT,
  });
  userDataDir = mkdtempSync(join(tmpdir(), "admin-chromium-"));
  browser = await launchChromium(userDataDir);
});

after(async () => {
  await browser?.close();
  await chat?.stop();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

// openPage opens url in a fresh context that may only reach loopback, and
// collects script errors, console errors and HTTP errors.
async function openPage(path, viewport = { width: 1280, height: 860 }) {
  const context = await browser.newContext({ viewport });
  await loopbackOnly(context);
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.errors = [];
  page.outside = [];
  page.on("pageerror", (e) => page.errors.push("script error: " + e.message));
  page.on("console", (m) => {
    if (m.type() === "error") page.errors.push(`console error: ${m.text()}`);
  });
  page.on("request", (r) => {
    const url = new URL(r.url());
    if (!LOOPBACK.includes(url.hostname) && url.protocol !== "data:") page.outside.push(r.url());
  });
  page.on("response", (r) => {
    if (r.status() >= 400) page.errors.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  await page.goto(`http://127.0.0.1:${port}${path}`);
  return page;
}

async function chatPage(nickname, room) {
  const page = await openPage("/", { width: 900, height: 700 });
  await page.waitForSelector("#state[data-state=connected]");
  await page.fill("#nick", nickname);
  await page.click("#nick-form button");
  await page.waitForFunction((n) => document.querySelector("#nick").value === n, nickname);
  await page.fill("#room", room);
  await page.click("#room-form button");
  await page.waitForFunction((r) => document.querySelector("#current-room").textContent === r, room);
  return page;
}

test("the Admin UI lists the chat's sockets and rooms, and disconnects one", async () => {
  const alice = await chatPage("alice", "red");
  const bob = await chatPage("bob", "blue");
  const aliceID = await alice.evaluate(() => window.chatSocket.id);
  const bobID = await bob.evaluate(() => window.chatSocket.id);

  // /admin redirects to /admin/, where the UI asks for the server and the
  // login.
  const admin = await openPage("/admin");
  assert.equal(new URL(admin.url()).pathname, "/admin/");
  await admin.getByLabel("Server URL").fill(`http://127.0.0.1:${port}`);
  await admin.getByLabel("Username").fill(USER);
  await admin.getByLabel("Password").fill("wrong password");
  await admin.getByRole("button", { name: "Connect" }).click();
  await admin.getByText("Invalid credentials").waitFor();
  await admin.getByLabel("Password").fill(PASSWORD);
  await admin.getByRole("button", { name: "Connect" }).click();
  await admin.getByRole("button", { name: "Connect" }).waitFor({ state: "detached" });

  // The sockets of "/", both chat pages among them, with their data.
  await admin.goto(`http://127.0.0.1:${port}/admin/#/sockets/`);
  await admin.locator("tr", { hasText: aliceID }).waitFor();
  await admin.locator("tr", { hasText: bobID }).waitFor();

  // The rooms the pages joined.
  await admin.goto(`http://127.0.0.1:${port}/admin/#/rooms/`);
  await admin.locator("tr", { hasText: "red" }).first().waitFor();
  await admin.locator("tr", { hasText: "blue" }).first().waitFor();

  // One socket's page shows its rooms and its data (the nickname).
  await admin.goto(`http://127.0.0.1:${port}/admin/#/n/%2F/sockets/${aliceID}`);
  await admin.getByText('"nickname": "alice"').waitFor();
  await admin.locator("tr", { hasText: "red" }).first().waitFor();

  // The icon font is served locally: the disconnect button has its icon.
  await admin.goto(`http://127.0.0.1:${port}/admin/#/sockets/`);
  // A row of the Sockets table: the id, the address, the transport and the
  // disconnect button.
  const socketRow = (id) => admin.locator("tbody tr", { hasText: id }).filter({ has: admin.locator(".mdi-logout") });
  const row = socketRow(aliceID);
  await row.waitFor();
  const iconFont = await row.locator(".mdi-logout").evaluate((el) => getComputedStyle(el, "::before").fontFamily);
  assert.match(iconFont, /Material Design Icons/);
  await admin.evaluate(() => document.fonts.ready);
  mkdirSync(ARTIFACTS, { recursive: true });
  await admin.screenshot({ path: join(ARTIFACTS, "admin-ui.png"), fullPage: true });

  // Disconnect alice from the UI: her page says the server did it.
  await row.locator("button").click();
  await alice.waitForFunction(() => document.querySelector("#state").textContent === "disconnected: io server disconnect");
  await admin.goto(`http://127.0.0.1:${port}/admin/#/sockets/`);
  await socketRow(bobID).waitFor();
  await socketRow(aliceID).waitFor({ state: "detached" });
  assert.equal(await bob.textContent("#state"), "connected");

  // The demo's metrics count what happened.
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.match(metrics, /^socketio_sockets_connected\{namespace="\/"\} 1$/m);
  assert.match(metrics, /^socketio_sockets_connected\{namespace="\/admin"\} 1$/m);
  assert.match(metrics, /^socketio_disconnections_total\{namespace="\/",reason="server namespace disconnect"\} 1$/m);

  for (const p of [alice, bob, admin]) {
    assert.deepEqual(p.errors, [], "errors in the page");
    assert.deepEqual(p.outside, [], "requests outside the machine");
  }
  for (const p of [alice, bob, admin]) await p.context().close();
});
