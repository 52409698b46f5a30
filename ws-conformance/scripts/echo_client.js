#!/usr/bin/env node
// Echo client on Node's `ws` for `ws-conformance serve`: runs every case, echoing every
// message, then asks for the report.
//
// usage: node echo_client.js ws://127.0.0.1:9002 AGENT
'use strict';
const WebSocket = require('ws');

const base = process.argv[2].replace(/\/$/, '');
const agent = process.argv[3];

// permessage-deflate is offered for the cases, so families 12 and 13 run.
function open(path, onOpen, perMessageDeflate = false) {
  return new Promise((resolve) => {
    const ws = new WebSocket(base + path, { perMessageDeflate, maxPayload: 64 * 1024 * 1024 });
    onOpen(ws);
    ws.on('close', resolve);
    ws.on('error', () => resolve());
  });
}

(async () => {
  let count = 0;
  await open('/getCaseCount', (ws) => ws.on('message', (d) => { count = Number(d.toString()); }));
  for (let i = 1; i <= count; i++) {
    await open(`/runCase?case=${i}&agent=${agent}`, (ws) => {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    }, true);
  }
  await open(`/updateReports?agent=${agent}`, () => {});
})();
