// WebSocket compression with the JavaScript client in headless Chromium
// (Debian's /usr/bin/chromium driven by playwright-core, kept on loopback
// as in examples/chat/e2e), which offers permessage-deflate with
// client_max_window_bits. Page, server and the check of the frames on the
// wire: compression_test.go.
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

test("Chromium: large payloads both ways over a compressed WebSocket", { timeout: 30000 }, async () => {
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
  await page.goto(PAGE_URL);
  const result = await page.evaluate(() => window.run());
  assert.deepEqual(result, { echo: true, plain: true });
  assert.deepEqual(errors, []);
  await context.close();
});
