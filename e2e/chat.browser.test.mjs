// The chat example in a real browser: Debian's Chromium, driven by playwright-core.
//
//   CHAT_BIN=target/debug/examples/chat node --test e2e/chat.browser.test.mjs
//
// Starts the chat server binary on 127.0.0.1 (a free port), opens two pages, and checks:
// a line typed in one page appears in the other; the browser agreed permessage-deflate;
// a 1 MiB message round-trips; a server-side disconnect(fd, 4000, "bye") reaches the page
// as a CloseEvent with that code and reason. Every process started is killed at the end.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const bin = process.env.CHAT_BIN;
let server;
let browser;
let base;

before(async () => {
  assert.ok(bin, "set CHAT_BIN to the chat example binary");
  server = spawn(bin, ["--listen", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "inherit"] });
  base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("chat server did not start")), 30000);
    createInterface({ input: server.stdout }).on("line", (line) => {
      const m = line.match(/listening.*?(\d+\.\d+\.\d+\.\d+:\d+)/);
      if (m) { clearTimeout(timer); resolve(`http://${m[1]}/`); }
    });
    server.on("exit", (code) => reject(new Error(`chat server exited: ${code}`)));
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.kill("SIGKILL");
});

async function join() {
  const page = await browser.newPage();
  await page.goto(base);
  await page.waitForFunction(() => window.chat && window.chat.me !== null, null, { timeout: 10000 });
  return page;
}

test("a line typed in one page appears in the other", async () => {
  const alice = await join();
  const bob = await join();
  const bobId = await bob.evaluate(() => window.chat.me);
  // Alice sees Bob join.
  await alice.waitForFunction((id) => window.chat.messages.some((m) => m.type === "join" && m.id === id), bobId);
  await alice.fill("#text", "hello from alice ✓");
  await alice.press("#text", "Enter");
  await bob.waitForFunction(() => [...document.querySelectorAll("#log li")].some((li) => li.textContent.includes("hello from alice ✓")));
  await bob.close();
  await alice.waitForFunction((id) => window.chat.messages.some((m) => m.type === "leave" && m.id === id), bobId);
  await alice.close();
});

test("the browser agreed permessage-deflate", async () => {
  const page = await join();
  const extensions = await page.evaluate(() => window.chatSocket.extensions);
  assert.match(extensions, /permessage-deflate/);
  assert.match(await page.textContent("#compression"), /permessage-deflate/);
  await page.close();
});

test("a 1 MiB message round-trips", async () => {
  const page = await join();
  const ok = await page.evaluate(() => new Promise((resolve) => {
    const text = "0123456789abcdef".repeat(65536); // 1 MiB
    window.chatSocket.addEventListener("message", (event) => {
      const msg = JSON.parse(event.data);
      if (msg.type === "message" && msg.from === window.chat.me && msg.text.length === text.length) {
        resolve(msg.text === text);
      }
    });
    window.chatSocket.send(text);
  }));
  assert.equal(ok, true);
  await page.close();
});

test("a server-side disconnect arrives as a CloseEvent with its code and reason", async () => {
  const page = await join();
  await page.fill("#text", "/bye");
  await page.press("#text", "Enter");
  await page.waitForFunction(() => window.chat.closeCode !== null, null, { timeout: 10000 });
  const { code, reason } = await page.evaluate(() => ({ code: window.chat.closeCode, reason: window.chat.closeReason }));
  assert.equal(code, 4000);
  assert.equal(reason, "bye");
  await page.close();
});
