// The cluster chat example in a real browser: two nodes sharing one Redis, a page on each.
//
//   CLUSTER_CHAT_BIN=target/debug/examples/cluster_chat node --test e2e/cluster_chat.browser.test.mjs
//
// Starts a redis-server on a free 127.0.0.1 port (no persistence), two cluster_chat nodes
// on free ports pointing at it, and Debian's Chromium (playwright-core). Checks that the
// two pages got ids of different nodes, and that a line typed on the page of one node
// appears on the page of the other, both ways. Every process started (Redis, both nodes,
// the browser) is killed at the end, also when a test fails or the run is interrupted.
// REDIS_SERVER overrides the redis-server binary, CHROMIUM the browser.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import net from "node:net";
import { chromium } from "playwright-core";

const bin = process.env.CLUSTER_CHAT_BIN;
const children = [];
let browser;
let redisPort;
const bases = [];

function killAll() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}
process.on("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => { killAll(); process.exit(1); });
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Sends one command to Redis in RESP and resolves with the raw reply. */
function redis(...args) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(redisPort, "127.0.0.1");
    let reply = "";
    socket.setTimeout(2000, () => socket.destroy(new Error("redis did not answer")));
    socket.on("error", reject);
    socket.on("connect", () => {
      socket.write(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join(""));
    });
    socket.on("data", (chunk) => {
      reply += chunk;
      if (reply.endsWith("\r\n")) { socket.end(); resolve(reply); }
    });
  });
}

/** Polls `check` every 50 ms until it resolves truthy, or fails after `ms`. */
async function until(what, check, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try { if (await check()) return; } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts one cluster_chat node on a free port and resolves with its page's URL. */
function startNode(name) {
  const node = spawn(bin, ["--listen", "127.0.0.1:0", "--redis", `redis://127.0.0.1:${redisPort}/`],
    { stdio: ["ignore", "pipe", "inherit"] });
  children.push(node);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start`)), 30000);
    createInterface({ input: node.stdout }).on("line", (line) => {
      const m = line.match(/listening.*?(\d+\.\d+\.\d+\.\d+:\d+)/);
      if (m) { clearTimeout(timer); resolve(`http://${m[1]}/`); }
    });
    node.on("exit", (code) => reject(new Error(`${name} exited: ${code}`)));
  });
}

before(async () => {
  assert.ok(bin, "set CLUSTER_CHAT_BIN to the cluster_chat example binary");
  redisPort = await freePort();
  const server = spawn(process.env.REDIS_SERVER || "redis-server",
    ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: ["ignore", "ignore", "inherit"] });
  children.push(server);
  server.on("exit", (code, signal) => { if (signal !== "SIGKILL") console.error(`redis-server exited: ${code ?? signal}`); });
  await until("redis-server", async () => (await redis("PING")) === "+PONG\r\n");
  bases.push(await startNode("node 1"), await startNode("node 2"));
  assert.notEqual(bases[0], bases[1]);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  if (browser) await browser.close();
  killAll();
});

async function join(base) {
  const page = await browser.newPage();
  await page.goto(base);
  await page.waitForFunction(() => window.chat && window.chat.me !== null, null, { timeout: 10000 });
  return page;
}

/** Types `text` on `from` and waits until it is in `to`'s log. */
async function say(from, to, text) {
  await from.fill("#text", text);
  await from.press("#text", "Enter");
  await to.waitForFunction((t) => [...document.querySelectorAll("#log li")].some((li) => li.textContent.includes(t)),
    text, { timeout: 10000 });
}

test("a line typed on one node's page appears on the other node's page", async () => {
  const alice = await join(bases[0]);
  const bob = await join(bases[1]);
  const [aliceId, bobId] = await Promise.all([alice, bob].map((p) => p.evaluate(() => window.chat.me)));
  // Cluster ids are `node:fd`: the two pages are held by two different nodes.
  assert.notEqual(aliceId.split(":")[0], bobId.split(":")[0], `${aliceId} and ${bobId} on one node`);
  // Both nodes listen to the topic's Redis channel (a node subscribes in the background).
  await until("both nodes subscribed to the chat topic",
    async () => /:2\r\n$/.test(await redis("PUBSUB", "NUMSUB", "ws:topic:chat")));
  await say(alice, bob, "hello from node 1 ✓");
  await say(bob, alice, "and back from node 2 ✓");
  // The one typed on node 1 also shows on node 1 (local delivery), once.
  const own = await alice.evaluate(() =>
    [...document.querySelectorAll("#log li")].filter((li) => li.textContent.includes("hello from node 1 ✓")).length);
  assert.equal(own, 1);
  await Promise.all([alice.close(), bob.close()]);
});
