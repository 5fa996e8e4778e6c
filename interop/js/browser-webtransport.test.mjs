// The official client (socket.io.min.js, served by our server) over
// WebTransport in headless Chromium: Debian's /usr/bin/chromium driven by
// playwright-core, kept on loopback as in examples/chat/e2e, but without
// --disable-quic, which would forbid HTTP/3. Page and server:
// webtransport_test.go (TestWebTransportBrowser).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const { PAGE_URL, WT_PORT, WT_CERT_HASH, WT_SPKI, WT_ACCEPT } = process.env;
const LOOPBACK = ["127.0.0.1", "localhost", "[::1]"];

// run opens the page in a fresh Chromium started with extraArgs and
// returns what window.run saw, and the page's errors.
async function run(extraArgs, webtransport) {
  assert.ok(PAGE_URL && WT_PORT && WT_CERT_HASH && WT_SPKI, "run through go test ./interop/");
  const userDataDir = mkdtempSync(join(tmpdir(), "interop-chromium-"));
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--proxy-server=http://127.0.0.1:9",
      "--host-resolver-rules=MAP * 127.0.0.1:9, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]",
      ...extraArgs,
    ],
    env: { ...process.env, TMPDIR: userDataDir },
  });
  try {
    const context = await browser.newContext();
    await context.route("**/*", (route) => {
      const url = new URL(route.request().url());
      return LOOPBACK.includes(url.hostname) ? route.continue() : route.abort();
    });
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => closedByClient(e) || errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    page.on("response", (r) => r.status() >= 400 && errors.push(`HTTP ${r.status()} ${r.url()}`));
    await page.goto(PAGE_URL);
    assert.equal(await page.evaluate(() => window.isSecureContext), true, "http://127.0.0.1 is a secure context");
    // transportOptions.webtransport: the port (the page's is TCP's), and
    // the certificate's hash as the WebTransport constructor takes it.
    const out = await page.evaluate(({ port, hash }) => window.run(hash ? { port, serverCertificateHashes: [
      { algorithm: "sha-256", value: new Uint8Array(hash.match(/../g).map((x) => parseInt(x, 16))) }] } : { port }), webtransport);
    return { out, errors };
  } finally {
    await browser.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

// closedByClient reports the one error the client itself causes: its
// transport's doClose calls WebTransport.close(), which rejects the
// pipeTo() of its stream's writer, a promise nothing catches (client
// 4.8.4). It is made in the page, by the client's own close, whatever the
// server.
const closedByClient = (e) => e.message === "The session is closed." && /\bdoClose\b/.test(e.stack);

function check({ out, errors }) {
  const same = {
    transport: "webtransport",
    echo: ["é ✓", 1.5, [true, null], { a: { b: "c" } }, "webtransport"],
    reverse: [200 * 1024, 200 * 1024, true],
    pushed: [[0, "bin:00ff"], [1, "bin:01ff"], [2, "bin:02ff"]],
    asked: [42],
    still: "webtransport",
  };
  assert.deepEqual(out, {
    direct: { opened: "webtransport", welcome: "webtransport", ...same },
    upgrade: { opened: "polling", welcome: "polling", ...same },
    defaults: { opened: "polling", welcome: "polling", ...same },
  });
  assert.deepEqual(errors, []);
}

// One way per run (WT_ACCEPT), each within its own Node timeout.
const ways = {
  hash: ["Chromium: WebTransport with the certificate's hash (serverCertificateHashes)",
    () => run([], { port: Number(WT_PORT), hash: WT_CERT_HASH })],
  spki: ["Chromium: WebTransport with --ignore-certificate-errors-spki-list and --origin-to-force-quic-on",
    () => run([`--ignore-certificate-errors-spki-list=${WT_SPKI}`, `--origin-to-force-quic-on=127.0.0.1:${WT_PORT}`],
      { port: Number(WT_PORT) })],
};
assert.ok(ways[WT_ACCEPT], `WT_ACCEPT=${WT_ACCEPT}: want hash or spki (run through go test ./interop/)`);
const [name, runWay] = ways[WT_ACCEPT];
test(name, { timeout: 50000 }, async () => check(await runWay()));
