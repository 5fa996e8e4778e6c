// Node's Admin UI server side: npm socket.io 4.8.4 with instrument() from
// @socket.io/admin-ui 0.5.1 (pinned in package-lock.json), and the same
// application as the Go server of adminui/compare_test.go. It prints
// "listening <port>" once it listens on 127.0.0.1:$PORT (0: any port).
//
// Admin: user "admin", password "changeit" (the README's example hash).
// Application, on "/": a middleware sets socket.data.name from auth.name;
//   join(room, ack?)  joins room, sets socket.data.lastRoom, acks the rooms
//   message(text)     sends {from, text} to the others of data.lastRoom
//   blob(bytes)       nothing
import { createServer } from "node:http";
import { Server } from "socket.io";
import { instrument } from "@socket.io/admin-ui";

const port = Number(process.env.PORT || 0);
const httpServer = createServer();
const io = new Server(httpServer, { serveClient: false });

io.use((socket, next) => {
  socket.data.name = socket.handshake.auth.name;
  next();
});
io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    socket.join(room);
    socket.data.lastRoom = room;
    if (typeof ack === "function") ack([...socket.rooms]);
  });
  socket.on("message", (text) => {
    socket.to(socket.data.lastRoom).emit("message", { from: socket.data.name, text });
  });
  socket.on("blob", () => {});
});

instrument(io, {
  auth: { type: "basic", username: "admin", password: "$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS" },
  mode: "development",
  serverId: "server",
});

httpServer.listen(port, "127.0.0.1", () => {
  console.log(`listening ${httpServer.address().port}`);
});
process.on("SIGTERM", () => process.exit(0));
