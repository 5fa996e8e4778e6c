// Runs operations of the Node emitter (npm @socket.io/postgres-emitter,
// pinned in package-lock.json) for the Go tests
// (postgresadapter/emitter_test.go), then exits. Each line of standard
// input is one operation, as JSON:
//   {"op":"emit", "nsp":"/", "rooms":[..], "except":[..], "volatile":true,
//    "event":"ev", "args":[..]}
//   {"op":"socketsJoin"|"socketsLeave", "nsp", "rooms", "except", "target":[..]}
//   {"op":"disconnectSockets", "nsp", "rooms", "except", "close":bool}
//   {"op":"serverSideEmit", "nsp", "event", "args"}
// In args, {"$bin":"<hex>"} stands for a Buffer. After each operation the
// script prints "ok" (or "error <message>") on a line of its own.
//
// Environment: PG_URL, PREFIX, TABLE (as server.mjs).
import { createInterface } from "node:readline";
import { Emitter } from "@socket.io/postgres-emitter";
import pg from "pg";

// One connection: statements run in the order they are issued.
const pool = new pg.Pool({ connectionString: process.env.PG_URL || "postgres://postgres@127.0.0.1:5432/test", max: 1 });
const opts = { channelPrefix: process.env.PREFIX || "socket.io", tableName: process.env.TABLE || "socket_io_attachments" };

function revive(v) {
  if (Array.isArray(v)) return v.map(revive);
  if (v && typeof v === "object") {
    if (typeof v.$bin === "string") return Buffer.from(v.$bin, "hex");
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
  }
  return v;
}

// of() would drop the options (the emitter's of() uses the defaults):
// a new Emitter per namespace keeps them.
function select(cmd) {
  let e = new Emitter(pool, cmd.nsp || "/", opts);
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
        await select(cmd).emit(cmd.event, ...args);
        break;
      case "socketsJoin":
        await select(cmd).socketsJoin(cmd.target);
        break;
      case "socketsLeave":
        await select(cmd).socketsLeave(cmd.target);
        break;
      case "disconnectSockets":
        await select(cmd).disconnectSockets(!!cmd.close);
        break;
      case "serverSideEmit":
        await new Emitter(pool, cmd.nsp || "/", opts).serverSideEmit(cmd.event, ...args);
        break;
      default:
        throw new Error("unknown op " + cmd.op);
    }
    // The emitter's methods do not wait for the NOTIFY: a query on the
    // same pool after it (one connection: max 1) runs after it.
    await pool.query("SELECT 1");
    console.log("ok");
  } catch (err) {
    console.log("error " + err.message);
  }
}
await pool.end();
