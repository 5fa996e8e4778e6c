// The Node socket.io 4.8.4 server of the benchmark contract (see
// bench/README.md): event "echo" acknowledges with its own arguments, event
// "broadcast" {count, size, binary} emits count messages "msg" of size
// bytes to every connected socket and then acknowledges.
//
//   node bench/servers/node/server.mjs -addr 127.0.0.1:3000
import { createServer } from "node:http";
import { Server } from "socket.io";

let addr = process.env.BENCH_ADDR || "127.0.0.1:3000";
const i = process.argv.findIndex((a) => a === "-addr" || a === "--addr");
if (i >= 0 && process.argv[i + 1]) addr = process.argv[i + 1];
const sep = addr.lastIndexOf(":");
const host = addr.slice(0, sep) || "127.0.0.1";
const port = Number(addr.slice(sep + 1));

// -deflate: WebSocket compression on (perMessageDeflate: true, Node's
// defaults: threshold 1024, context takeover when the client allows it).
const deflate = process.argv.includes("-deflate");

// -parser msgpack: the parser of npm socket.io-msgpack-parser (pinned too).
const p = process.argv.indexOf("-parser");
const parserName = p >= 0 ? process.argv[p + 1] : "json";
const opts = { serveClient: false, perMessageDeflate: deflate };
if (parserName === "msgpack") opts.parser = (await import("socket.io-msgpack-parser")).default;
else if (parserName !== "json") throw new Error(`-parser ${parserName}: json or msgpack`);

const httpServer = createServer();
const io = new Server(httpServer, opts);

io.on("connection", (socket) => {
  socket.on("echo", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
  socket.on("broadcast", (req, ack) => {
    const size = Number(req?.size) | 0;
    const count = Number(req?.count) | 0;
    const payload = req?.binary ? Buffer.alloc(size, "x") : "x".repeat(size);
    for (let n = 0; n < count; n++) io.emit("msg", payload);
    if (typeof ack === "function") ack();
  });
});

for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(0));
httpServer.listen(port, host, () => console.error(`listening ${host}:${port}`));
