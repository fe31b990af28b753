// Websocket client of the gie_proxy scenario and bench (npm `ws`), run inside a container.
//   node wsprobe.js whoami URL [HOST]        connect, send "whoami", print the backend's JSON answer
//   node wsprobe.js echo URL [HOST] N SIZE   N round trips of SIZE bytes; print {"p50_us", "p99_us", "n"}
//   node wsprobe.js upgrade URL [HOST] [ORIGIN]  print the handshake answer's headers as JSON
// URL comes on stdin when given as "-" (it holds a token: never on a command line). Exit 2 and print
// {"error", "status"} when the handshake is refused (a 404 answer, for example).
"use strict";
const WebSocket = require("ws");
const fs = require("fs");

const [mode, urlArg, hostArg, nArg, sizeArg] = process.argv.slice(2);
const url = urlArg === "-" ? fs.readFileSync(0, "utf8").trim() : urlArg;
const options = { perMessageDeflate: false, handshakeTimeout: 5000 };
options.headers = {};
if (hostArg && hostArg !== "-") options.headers.Host = hostArg;
if (mode === "upgrade" && nArg) options.headers.Origin = nArg;

const ws = new WebSocket(url, options);
const fail = (what, status) => {
  process.stdout.write(JSON.stringify({ error: what, status: status || null }) + "\n");
  process.exit(2);
};
ws.on("unexpected-response", (req, res) => fail("unexpected-response", res.statusCode));
ws.on("error", (err) => fail(String(err.message || err)));
setTimeout(() => fail("timeout"), 30000).unref();

ws.on("upgrade", (res) => {
  if (mode !== "upgrade") return;
  process.stdout.write(JSON.stringify({ status: res.statusCode, headers: res.headers }) + "\n");
  ws.close();
  process.exit(0);
});

ws.on("open", () => {
  if (mode === "whoami") {
    ws.once("message", (data) => {
      process.stdout.write(data.toString() + "\n");
      ws.close();
      process.exit(0);
    });
    ws.send("whoami");
    return;
  }
  const n = Number(nArg || 1000);
  const payload = Buffer.alloc(Number(sizeArg || 64), "e");
  const times = [];
  let t0;
  const next = () => {
    t0 = process.hrtime.bigint();
    ws.send(payload);
  };
  ws.on("message", () => {
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
    if (times.length < n) return next();
    times.sort((a, b) => a - b);
    const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
    process.stdout.write(JSON.stringify({ n, p50_us: at(0.5), p99_us: at(0.99) }) + "\n");
    ws.close();
    process.exit(0);
  });
  next();
});
