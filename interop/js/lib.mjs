// Helpers shared by the interop scripts. They are run by the Go tests
// (go test ./interop/), which set SERVER_URL (the Socket.IO server) and
// CTL_URL (the Go test's control endpoint).
import { io } from "socket.io-client";

export const SERVER_URL = process.env.SERVER_URL;
export const CTL_URL = process.env.CTL_URL;
if (!SERVER_URL || !CTL_URL) {
  throw new Error("SERVER_URL and CTL_URL are not set: run these scripts through `go test ./interop/`");
}

// Every script ends within this time, whatever happens.
const watchdog = setTimeout(() => {
  console.error("interop: script watchdog fired, exiting");
  process.exit(3);
}, 50_000);
watchdog.unref();

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const sockets = new Set();

// connect opens a socket on its own Manager (forceNew) without
// reconnection unless asked, and remembers it for closeAll.
export function connect(nsp = "/", opts = {}) {
  const s = io(SERVER_URL + nsp, { forceNew: true, reconnection: false, timeout: 5000, ...opts });
  track(s);
  return s;
}

export function track(s) {
  sockets.add(s);
  return s;
}

// closeAll closes every socket opened with connect or track.
export function closeAll() {
  for (const s of sockets) {
    s.io.reconnection(false);
    s.disconnect();
    s.io.engine?.close();
  }
  sockets.clear();
}

// once resolves with the arguments of the next `event` of emitter, and
// rejects after ms.
export function once(emitter, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      reject(new Error(`timed out after ${ms}ms waiting for "${event}"`));
    }, ms);
    const handler = (...args) => {
      clearTimeout(timer);
      resolve(args);
    };
    emitter.once(event, handler);
  });
}

// connected waits for the socket's connect, or rejects with its
// connect_error.
export function connected(socket, ms = 5000) {
  if (socket.connected) return Promise.resolve(socket);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${ms}ms waiting for connect to ${socket.nsp}`));
    }, ms);
    const onConnect = () => {
      cleanup();
      resolve(socket);
    };
    const onError = (err) => {
      cleanup();
      reject(new Error(`connect_error on ${socket.nsp}: ${err.message}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("connect_error", onError);
    };
    socket.on("connect", onConnect);
    socket.on("connect_error", onError);
  });
}

// connectError waits for the socket's connect_error and returns the error.
export async function connectError(socket, ms = 5000) {
  const [err] = await once(socket, "connect_error", ms);
  return err;
}

// until polls cond every 10ms until it is true, or throws after ms.
export async function until(cond, what, ms = 5000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms}ms waiting for ${what}`);
    await sleep(10);
  }
}

// collect records every event the socket receives, in order, as
// [event, ...args].
export function collect(socket) {
  const log = [];
  socket.onAny((...args) => log.push(args));
  return log;
}

async function ctlFetch(path, ms) {
  const res = await fetch(CTL_URL + path, { method: path.startsWith("/do/") ? "POST" : "GET", signal: AbortSignal.timeout(ms) });
  const body = await res.json();
  if (!res.ok) throw new Error(`control ${path}: ${body.error}`);
  return body;
}

// ctlGet returns what the server recorded under key.
export function ctlGet(key) {
  return ctlFetch(`/get?key=${encodeURIComponent(key)}`, 5000);
}

// ctlWait returns what the server recorded under key once there are n
// values.
export function ctlWait(key, n = 1, ms = 5000) {
  return ctlFetch(`/wait?key=${encodeURIComponent(key)}&n=${n}&timeout=${ms}`, ms + 2000);
}

// ctlDo runs a server-side action of the Go test.
export function ctlDo(action, params = {}) {
  return ctlFetch(`/do/${action}?${new URLSearchParams(params)}`, 10000);
}

// reasonOf waits for the server-side disconnect reason of a socket id.
export async function reasonOf(id, ms = 5000) {
  const [reason] = await ctlWait(`disconnect:${id}`, 1, ms);
  return reason;
}
