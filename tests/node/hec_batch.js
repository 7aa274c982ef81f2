#!/usr/bin/env node
// An HTTP Event Collector client from outside Rust: npm's `splunk-logging` (Splunk's own HEC
// logger for Node) sends one batch of spoor events to spoor's engine.
//
// The logger queues every event (maxBatchCount 0: no automatic flush) and `flush()` sends them
// all in one POST to `/services/collector/event` as concatenated JSON envelopes, authorised
// with `Authorization: Splunk <HEC token>`, the way it talks to a real Splunk. Each event is
// one line in spoor's event format (a custom `eventFormatter` returns the line as a string),
// so the engine extracts `application`, `event` and the properties at search time.
//
// Environment:
//   SPOOR_HEC_URL    the collector's base URL, e.g. http://127.0.0.1:8088 (required)
//   SPOOR_HEC_TOKEN  an HEC token the server accepts (required)
//   SPOOR_HEC_INDEX  the index to send to (default `main`; it must exist)
//
// On success it prints one JSON line saying what was sent, for the caller to search for:
//   {"sent":N,"index":"…","sourcetype":"…","application":"…","counts":{"<event>":n,…}}
// and exits 0. Any refusal or transport error exits 1 with a message.

"use strict";

const SplunkLogger = require("splunk-logging").Logger;

function fail(message) {
  console.error(`[hec-compat] FAILED: ${message}`);
  process.exit(1);
}

const url = process.env.SPOOR_HEC_URL;
const token = process.env.SPOOR_HEC_TOKEN;
const index = process.env.SPOOR_HEC_INDEX || "main";
if (!url || !token) {
  fail("set SPOOR_HEC_URL and SPOOR_HEC_TOKEN");
}

const APPLICATION = "nodeapp";
const SOURCETYPE = "spoor_node";

// The batch: a known number of each event, a few minutes apart over the last hour.
const PLAN = [
  ["signup", 4],
  ["login", 7],
  ["purchase", 3],
];

// spoor's event line (ARCHITECTURE.md, "The event, on the wire"): RFC 3339 UTC time with
// microseconds, then application, event, distinct_id and typed properties.
function line(when, name, n) {
  const stamp = when.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
  return (
    `${stamp} application="${APPLICATION}" event="${name}" distinct_id="n${n % 5}"` +
    ` analytics_prop__plan="${n % 2 ? "pro" : "free"}" analytics_prop__seats=${n + 1}`
  );
}

const logger = new SplunkLogger({
  token: token,
  url: `${url.replace(/\/+$/, "")}/services/collector/event`,
  maxBatchCount: 0, // queue until flush()
  batchInterval: 0, // no timer (it would keep the process alive)
  maxRetries: 0,
});
// The event is the line itself, not the default {message, severity} object.
logger.eventFormatter = (message) => message;
logger.error = (err) => fail(`the logger reported: ${err.message || err} (code ${err.code})`);

const start = Date.now() - 60 * 60 * 1000;
const counts = {};
let sent = 0;
for (const [name, count] of PLAN) {
  for (let i = 0; i < count; i++) {
    const when = new Date(start + sent * 60 * 1000 + 123);
    logger.send({
      message: line(when, name, sent),
      metadata: { time: when.getTime(), index: index, sourcetype: SOURCETYPE, source: "splunk-logging" },
    });
    counts[name] = (counts[name] || 0) + 1;
    sent++;
  }
}
if (logger.serializedContextQueue.length !== sent) {
  fail(`expected ${sent} queued events, found ${logger.serializedContextQueue.length}`);
}

logger.flush((err, resp, body) => {
  if (err) {
    fail(`the POST failed: ${err.message || err}`);
  }
  if (!resp || resp.statusCode !== 200) {
    fail(`HTTP ${resp && resp.statusCode}: ${JSON.stringify(body)}`);
  }
  if (!body || body.code !== 0 || body.text !== "Success") {
    fail(`expected {"text":"Success","code":0}, got ${JSON.stringify(body)}`);
  }
  console.log(JSON.stringify({ sent, index, sourcetype: SOURCETYPE, application: APPLICATION, counts }));
});
