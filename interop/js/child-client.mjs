// A client in its own process, for the test that kills it: it connects,
// prints {"id", "eid"} on one line, and waits to be killed.
import { io } from "socket.io-client";

const transport = process.argv[2];
const s = io(process.env.SERVER_URL, { transports: [transport], reconnection: false });
s.on("connect", () => {
  // Wait for a ping–pong so that the connection is in its steady state.
  s.io.engine.once("ping", () => console.log(JSON.stringify({ id: s.id, eid: s.io.engine.id })));
});
s.on("connect_error", (err) => {
  console.error("connect_error", err.message);
  process.exit(1);
});
setTimeout(() => process.exit(2), 20_000); // never outlive the test
