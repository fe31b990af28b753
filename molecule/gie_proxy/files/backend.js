// The interactive tool stand-in of the gie_proxy scenario: one Node process (http + npm `ws`) listening on every
// address:port given as an argument, so map rows can point at different backends.
//   GET .../_2k          2048 bytes of text (what the bench measures)
//   anything else        JSON: which listener answered, the method, the URL and the headers it received
//   websocket upgrade    echoes every message; the text message "whoami" is answered with the same JSON
// It never logs anything (requests carry tokens in headers such as the one requires_path_in_header_named names).
"use strict";
const http = require("http");
const { WebSocketServer } = require("ws");

const BODY_2K = Buffer.alloc(2048, "x");

function listen(spec) {
  const cut = spec.lastIndexOf(":");
  const host = spec.slice(0, cut);
  const port = Number(spec.slice(cut + 1));
  const name = `${host}:${port}`;
  const describe = (req) =>
    JSON.stringify({ backend: name, method: req.method, url: req.url, headers: req.headers });
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (req.url.endsWith("/_2k")) {
        res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": BODY_2K.length });
        res.end(BODY_2K);
        return;
      }
      const body = Buffer.from(describe(req));
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": body.length });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 65000;
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on("connection", (ws, req) => {
    const whoami = describe(req);
    ws.on("message", (data, isBinary) => {
      if (!isBinary && data.toString() === "whoami") ws.send(whoami);
      else ws.send(data, { binary: isBinary });
    });
    ws.on("error", () => {});
  });
  server.listen(port, host);
}

process.argv.slice(2).forEach(listen);
