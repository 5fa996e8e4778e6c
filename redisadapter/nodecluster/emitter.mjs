// Runs operations of the Node emitter (npm @socket.io/redis-emitter, pinned
// in package-lock.json) for the Go tests (redisemitter/emitter_test.go), then
// exits. Each line of standard input is one operation, as JSON:
//   {"op":"emit", "nsp":"/", "rooms":[..], "except":[..], "volatile":true,
//    "event":"ev", "args":[..]}
//   {"op":"socketsJoin"|"socketsLeave", "nsp", "rooms", "except", "target":[..]}
//   {"op":"disconnectSockets", "nsp", "rooms", "except", "close":bool}
//   {"op":"serverSideEmit", "nsp", "event", "args"}
// In args, {"$bin":"<hex>"} stands for a Buffer. After each operation the
// script prints "ok" (or "error <message>") on a line of its own.
//
// Environment: REDIS_URL (redis://127.0.0.1:6379), KEY (socket.io).
import { createInterface } from "node:readline";
import { Emitter } from "@socket.io/redis-emitter";
import { createClient } from "redis";

const client = createClient({ url: process.env.REDIS_URL || "redis://127.0.0.1:6379" });
client.on("error", (err) => console.error("redis:", err.message));
await client.connect();
const root = new Emitter(client, { key: process.env.KEY || "socket.io" });

function revive(v) {
  if (Array.isArray(v)) return v.map(revive);
  if (v && typeof v === "object") {
    if (typeof v.$bin === "string") return Buffer.from(v.$bin, "hex");
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
  }
  return v;
}

function select(cmd) {
  let e = root.of(cmd.nsp || "/");
  if (cmd.rooms && cmd.rooms.length) e = e.to(cmd.rooms);
  if (cmd.except && cmd.except.length) e = e.except(cmd.except);
  if (cmd.volatile) e = e.volatile;
  return e;
}

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  try {
    const cmd = JSON.parse(line);
    const args = revive(cmd.args || []);
    switch (cmd.op) {
      case "emit":
        select(cmd).emit(cmd.event, ...args);
        break;
      case "socketsJoin":
        select(cmd).socketsJoin(cmd.target);
        break;
      case "socketsLeave":
        select(cmd).socketsLeave(cmd.target);
        break;
      case "disconnectSockets":
        select(cmd).disconnectSockets(!!cmd.close);
        break;
      case "serverSideEmit":
        root.of(cmd.nsp || "/").serverSideEmit(cmd.event, ...args);
        break;
      default:
        throw new Error("unknown op " + cmd.op);
    }
    await client.ping(); // the publish went out before the ping's answer
    console.log("ok");
  } catch (err) {
    console.log("error " + err.message);
  }
}
await client.quit();
