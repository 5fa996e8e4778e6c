// What the browser tests of the chat demo share: the demo's process, and
// Debian's chromium (/usr/bin/chromium, never a downloaded browser) with
// every flag that keeps it from reaching anything but this machine.
import { spawn } from "node:child_process";
import net from "node:net";
import { chromium } from "playwright-core";

export const LOOPBACK = ["127.0.0.1", "localhost", "[::1]"];

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

// startChat runs the demo (CHAT_BIN, in REPO_ROOT) with args and waits,
// up to wait ms, until it accepts TCP connections on port. The result's
// log() is its output so far; stop() ends it with SIGTERM and waits.
export async function startChat(port, args, { env = process.env, wait = 10_000 } = {}) {
  const proc = spawn(process.env.CHAT_BIN, args, { cwd: process.env.REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], env });
  let log = "";
  proc.stdout.on("data", (d) => (log += d));
  proc.stderr.on("data", (d) => (log += d));
  const chat = {
    proc,
    log: () => log,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await exited;
    },
  };
  const deadline = Date.now() + wait;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, "127.0.0.1", () => { c.end(); resolve(true); });
      c.on("error", () => resolve(false));
    });
    if (ok) return chat;
    await new Promise((r) => setTimeout(r, 50));
  }
  await chat.stop();
  throw new Error("chat server did not start:\n" + log);
}

// launchChromium starts the browser, its temporary files in userDataDir.
// HTTP/3 is off (--disable-quic) unless quic is true: the WebTransport
// tests need it, and stay on loopback all the same.
export function launchChromium(userDataDir, { quic = false, args = [] } = {}) {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", ...(quic ? [] : ["--disable-quic"]), "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--proxy-server=http://127.0.0.1:9",
      "--host-resolver-rules=MAP * 127.0.0.1:9, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]",
      ...args,
    ],
    // playwright gives every launch a fresh, empty --user-data-dir of its
    // own (it refuses one in args); keep its temporary files in ours.
    env: { ...process.env, TMPDIR: userDataDir },
  });
}

// loopbackOnly makes context abort every request that leaves the machine.
export function loopbackOnly(context) {
  return context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    return LOOPBACK.includes(url.hostname) ? route.continue() : route.abort();
  });
}

// openChat opens the chat page at url in a fresh context of browser and
// waits until it is connected. The page's errors (script errors, console
// errors, HTTP errors) collect in page.errors; opened, when given, gets
// the page first, so that a test can check them even if the page never
// connects; setup, when given, prepares the context. Without route, the context does not filter requests itself
// (the launch flags still keep the browser on loopback): Chromium fetches
// no icons for a context that routes requests.
export async function openChat(browser, url, { viewport = { width: 1100, height: 760 }, route = true, wait = 10_000, opened, setup } = {}) {
  const context = await browser.newContext({ viewport });
  if (route) await loopbackOnly(context);
  await setup?.(context);
  const page = await context.newPage();
  page.setDefaultTimeout(wait);
  const errors = [];
  page.errors = errors;
  opened?.push(page);
  page.on("pageerror", (e) => errors.push("script error: " + e.message));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console error: ${m.text()} (${m.location().url})`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  await page.goto(url);
  await page.waitForSelector("#state[data-state=connected]");
  return page;
}

export async function setNickname(page, name) {
  await page.fill("#nick", name);
  await page.click("#nick-form button");
  await page.waitForFunction((n) => document.querySelector("#nick").value === n, name);
}

export async function joinRoom(page, room) {
  await page.fill("#room", room);
  await page.click("#room-form button");
  await page.waitForFunction((r) => document.querySelector("#current-room").textContent === r, room);
}

// send sends a message to the room; the input is cleared when the server
// acknowledged it.
export async function send(page, text) {
  await page.fill("#msg", text);
  await page.click("#msg-form button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#msg").value === "");
}
