// Generates v3_node.json: what Node's Engine.IO v3 parser (engine.io 6.6's
// parser-v3, the decoder of a Node server with allowEIO3) makes of payloads
// and packets, for TestV3AgainstNode. Run from the repository root after
// `npm ci --prefix client/nodeserver`:
//
//	node eioparser/testdata/gen_v3.mjs > eioparser/testdata/v3_node.json
//
// Inputs are hand-picked cases and seeded random ones (the same each run).
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const parser = require("../../client/nodeserver/node_modules/engine.io/build/parser-v3/index.js");

let seed = 42;
function rand(n) {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
}

function packetOut(p) {
  if (p.type === "error") return null;
  const o = { type: p.type ?? null };
  if (Buffer.isBuffer(p.data)) {
    o.binary = true;
    o.data = p.data.toString("hex");
  } else if (typeof p.data === "string") {
    o.data = Buffer.from(p.data).toString("hex");
  }
  return o;
}

function decodeText(hex) {
  const str = Buffer.from(hex, "hex").toString("utf8");
  const packets = [];
  let error = false;
  parser.decodePayload(str, (p) => {
    if (error) return;
    const o = packetOut(p);
    if (o === null) error = true;
    else packets.push(o);
  });
  return { packets, error };
}

function decodeBinary(hex) {
  const packets = [];
  let error = false;
  parser.decodePayload(Buffer.from(hex, "hex"), (p) => {
    if (error) return;
    const o = packetOut(p);
    if (o === null) error = true;
    else packets.push(o);
  });
  return { packets, error };
}

function decodeFrame(hex, binary) {
  const buf = Buffer.from(hex, "hex");
  const p = parser.decodePacket(binary ? buf : buf.toString("utf8"));
  const o = packetOut(p);
  return o === null ? { packets: [], error: true } : { packets: [o], error: false };
}

const h = (s) => Buffer.from(s).toString("hex");
const cases = [];
const text = [
  "", "0:", "1:2", "6:4hello", "6:4hello2:4a", "3:4é", "2:4é", "3:4€", "2:4😀", "3:4😀", "4:4😀a",
  " 6:4hello", "06:4hello", "0x6:4hello", "6.0:4hello", "6.5:4hello", "-0:", "-1:4", "1e0:2",
  "Infinity:4", "abc:4", ":4", "5:4hello", "7:4hello", "6:4hello3", "6:4hello:", "2:b4", "6:b4aGk=",
  "6:b4aG!k", "2:bx", "4:bxaGk", "1:9", "1:7", "1:b", "\u00a06:4hello", "6\n:4hello", "+6:4hello",
  "0b110:4hello", "0o6:4hello", ".6e1:4hello", "6e:4hello", "1:1", "1:12:2",
  "\ud83d\ude00".slice(0, 1), "2:4\u2028",
];
for (const s of text) cases.push({ kind: "text", in: h(s) });
cases.push({ kind: "text", in: "363a3468656c6cff" });
cases.push({ kind: "text", in: "333a34e282" });
cases.push({ kind: "text", in: "323a34e28241" });
cases.push({ kind: "text", in: "333a34eda080" });

const bin = [
  "", "00", "0001ff32", "0006ff3468656c6c6f", "0105ff04010203", "0105ff0401020304", "0109ff04010203",
  "000102ff34", "000102ff" + "34".repeat(12), "00ff34", "00ffff", "ffff", "0001", "01", "0001ff",
  "0002ff34e9", "0003ff34c3a9", "0004ff34eda080", "0002ff6234", "0006ff6234614769", "0001ff39",
  "0101ff07", "0100ff", "0001ff320001ff33", "0105ff0401020304000102ff3441", "02" + "01".repeat(320) + "ff",
  "00" + "09".repeat(311) + "ff", "00" + "09".repeat(300) + "ff34", "000a0bff3468656c6c6f",
];
for (const s of bin) cases.push({ kind: "binary", in: s });

for (const s of ["4hello", "2", "2probe", "b4aGk=", "b4aG k", "bx", "b", "9", "", "4é", "1"]) {
  cases.push({ kind: "frame", in: h(s) });
}
for (const s of ["04010203", "", "02", "07ff", "0461"]) cases.push({ kind: "binframe", in: s });

// Random cases from an alphabet that hits the parser's corners.
const alpha = ["0", "1", "2", "3", "4", "5", "6", "9", ":", "b", "a", "G", "=", " ", "é", "😀", "x", "-", "."];
for (let n = 0; n < 400; n++) {
  let s = "";
  const len = rand(16);
  for (let i = 0; i < len; i++) s += alpha[rand(alpha.length)];
  cases.push({ kind: "text", in: h(s) });
}
const bytes = [0, 1, 2, 3, 4, 5, 9, 10, 12, 0x34, 0x62, 0xff, 0xc3, 0xa9, 0xed, 0xa0, 0x80, 0x61];
for (let n = 0; n < 400; n++) {
  const b = [];
  const len = rand(14);
  for (let i = 0; i < len; i++) b.push(bytes[rand(bytes.length)]);
  cases.push({ kind: "binary", in: Buffer.from(b).toString("hex") });
}

for (const c of cases) {
  let r;
  switch (c.kind) {
    case "text": r = decodeText(c.in); break;
    case "binary": r = decodeBinary(c.in); break;
    case "frame": r = decodeFrame(c.in, false); break;
    case "binframe": r = decodeFrame(c.in, true); break;
  }
  Object.assign(c, r);
}

// Encodings: text payloads (b64 clients) and binary payloads (XHR2).
const encodings = [];
const sets = [
  [{ type: "message", data: "hello" }],
  [{ type: "open", data: '{"sid":"x"}' }, { type: "message", data: "é😀" }],
  [{ type: "message", data: Buffer.from([1, 2, 3]) }],
  [{ type: "message", data: "2[\"a\"]" }, { type: "message", data: Buffer.from("0123456789abcdef") }],
  [{ type: "noop" }],
  [{ type: "pong" }, { type: "message", data: "x".repeat(123) }, { type: "message", data: Buffer.alloc(0) }],
];
for (const packets of sets) {
  const view = packets.map((p) => ({
    type: p.type,
    binary: Buffer.isBuffer(p.data),
    data: p.data === undefined ? "" : Buffer.from(p.data).toString("hex"),
  }));
  let textOut, binOut;
  parser.encodePayload(packets, false, (d) => (textOut = Buffer.from(d).toString("hex")));
  parser.encodePayload(packets, true, (d) => (binOut = Buffer.from(d).toString("hex")));
  encodings.push({ packets: view, text: textOut, xhr2: binOut });
}

console.log(JSON.stringify({ decode: cases, encode: encodings }, null, 1));
