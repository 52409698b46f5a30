#!/usr/bin/env node
// Echo server on Node's `ws` (permessage-deflate enabled), for validating ws-conformance
// against a server nobody here wrote.
//
// usage: node echo_server.js PORT [--no-compression]
'use strict';
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2]);
const compression = !process.argv.includes('--no-compression');
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  maxPayload: 64 * 1024 * 1024,
  perMessageDeflate: compression ? { threshold: 0 } : false,
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
wss.on('listening', () => console.error(`ws echo server on 127.0.0.1:${port}`));
