// Node's `ws` client against a server of ours:
//
//   ECHO_URL=ws://127.0.0.1:9001/ CHAT_URL=ws://127.0.0.1:9002/chat node --test e2e/ws-client.test.mjs
//
// ECHO_URL: the `echo` example (API.md contract); ECHO_COMPRESSION=1 when it runs with
// --compression. CHAT_URL (optional): the `chat` example,
// for a close the server starts, with its code and reason.
import { test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";

const echoUrl = process.env.ECHO_URL;
const chatUrl = process.env.CHAT_URL;
// Whether the echo server was started with --compression.
const serverCompresses = process.env.ECHO_COMPRESSION === "1";
// The subprotocol the echo server was started with (--subprotocol), if any.
const subprotocol = process.env.ECHO_SUBPROTOCOL;

// Opens a connection whose messages queue up from the first one, so none is missed
// between 'open' and the first `next`.
function open(url, options = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols || [], { perMessageDeflate: options.deflate ?? false });
    ws.queue = [];
    ws.waiting = [];
    ws.on("message", (data, isBinary) => {
      const waiter = ws.waiting.shift();
      if (waiter) waiter.resolve({ data, isBinary });
      else ws.queue.push({ data, isBinary });
    });
    ws.on("close", (code) => ws.waiting.splice(0).forEach((w) => w.reject(new Error(`closed ${code}`))));
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

function next(ws) {
  const queued = ws.queue.shift();
  if (queued) return Promise.resolve(queued);
  return new Promise((resolve, reject) => ws.waiting.push({ resolve, reject }));
}

async function echoes(ws, payload, binary) {
  const got = next(ws);
  ws.send(payload, { binary });
  const { data, isBinary } = await got;
  assert.equal(isBinary, binary);
  return data;
}

for (const deflate of [false, true]) {
  test(`echo with compression ${deflate ? "on" : "off"}`, async () => {
    assert.ok(echoUrl, "set ECHO_URL");
    const ws = await open(echoUrl, { deflate });
    if (deflate && serverCompresses) assert.match(ws.extensions, /permessage-deflate/);
    else assert.equal(ws.extensions, "");
    for (const text of ["hello", "", "κόσμε €𝄞 ✓", "x".repeat(70000)]) {
      assert.equal((await echoes(ws, text, false)).toString("utf8"), text);
    }
    const everyByte = Buffer.alloc(1024, 0).map((_, i) => i % 256);
    assert.deepEqual(await echoes(ws, everyByte, true), everyByte);
    const big = Buffer.alloc(1 << 20).map((_, i) => (i * 7) % 251);
    assert.deepEqual(await echoes(ws, big, true), big);
    // ping -> pong with the same payload
    const pong = new Promise((resolve) => ws.once("pong", resolve));
    ws.ping("are you there");
    assert.equal((await pong).toString(), "are you there");
    // a close we start: the server echoes our code
    const closed = new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.close(4001, "client bye");
    assert.equal((await closed).code, 4001);
  });
}

test("the subprotocol is agreed only among those offered", { skip: !subprotocol && "set ECHO_SUBPROTOCOL" }, async () => {
  const agreed = await open(echoUrl, { protocols: ["not-this-one", subprotocol] });
  assert.equal(agreed.protocol, subprotocol);
  agreed.close();
  // Our server names no protocol the client did not offer; `ws` then refuses to open.
  await assert.rejects(open(echoUrl, { protocols: ["not-this-one"] }), /Server sent no subprotocol/);
});

test("a close the server starts arrives with its code and reason", { skip: !chatUrl && "set CHAT_URL" }, async () => {
  const ws = await open(chatUrl, { deflate: true });
  await next(ws); // welcome
  const closed = new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.send("/bye");
  assert.deepEqual(await closed, { code: 4000, reason: "bye" });
});
