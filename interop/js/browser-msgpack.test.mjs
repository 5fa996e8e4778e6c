// The JavaScript client's MessagePack bundle (socket.io.msgpack.min.js,
// served by our server) in headless Chromium: Debian's /usr/bin/chromium
// driven by playwright-core, kept on loopback as in examples/chat/e2e.
// Page and server: msgpack_test.go (TestMsgpackBrowser).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const PAGE_URL = process.env.PAGE_URL;
let browser;
let userDataDir;

before(async () => {
  assert.ok(PAGE_URL, "PAGE_URL is not set: run through go test ./interop/");
  userDataDir = mkdtempSync(join(tmpdir(), "interop-chromium-"));
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--proxy-server=http://127.0.0.1:9",
      "--host-resolver-rules=MAP * 127.0.0.1:9, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]",
    ],
    env: { ...process.env, TMPDIR: userDataDir },
  });
});

after(async () => {
  await browser?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

const hex = (s) => "bin:" + s;

test("Chromium: socket.io.msgpack.min.js against our MessagePack parser", { timeout: 30000 }, async () => {
  const context = await browser.newContext();
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) return route.continue();
    return route.abort();
  });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("response", (r) => r.status() >= 400 && errors.push(`HTTP ${r.status()} ${r.url()}`));
  await page.goto(PAGE_URL);
  const out = await page.evaluate(() => window.run());
  assert.deepEqual(out, {
    polling: ["polling", [{ x: [hex("09")] }, "/"]],
    echo: ["é", 1, -1.5, 2 ** 40, true, null, { a: [1, { b: "c" }] }, hex("0102"), "/"],
    nested: [{ name: "page!", data: hex("010203ff"), list: [hex("04"), hex("0506"), hex("6164646564")], inner: { blob: hex("07") } }, "ok"],
    upgraded: "websocket",
    asks: [{ n: 42, b: hex("0708ee"), m: { deep: hex("09"), extra: hex("01") } }],
    join: 1,
    room: [{ text: "hi" }, hex("010203")],
    refused: { message: "not authorized", data: { code: 401, retry: false } },
  });
  assert.deepEqual(errors, []);
  await context.close();
});
