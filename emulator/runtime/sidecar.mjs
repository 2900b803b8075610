// The emulator's edge: one Miniflare (workerd) instance that runs the deployed Worker versions.
//
//   node sidecar.mjs --api-port P --edge-port E --persist DIR
//
// Started and owned by emulator/runtime/__init__.py. Protocol: one JSON command per line on stdin,
// one JSON answer per line on stdout, prefixed with "cfops-edge " (stdout carries nothing else; the
// runtime's and the Workers' logs go to stderr):
//   {"id": 1, "op": "apply", "config": {...}}  -> {"id": 1, "ok": true, "url": "http://127.0.0.1:E/", "ms": 180}
//   {"id": 2, "op": "apply", ...}              -> a failure: {"id": 2, "ok": false, "error": "..."}
//   {"id": 3, "op": "queue", "worker": "v-<id>", "queue": "jobs", "messages": [{id, timestamp_ms, body_b64,
//     content_type, attempts}]}                 -> {"id": 3, "ok": true, "result": {outcome, ackAll, retryBatch,
//                                                   explicitAcks, retryMessages}, "ms": 12}
//   {"id": 4, "op": "scheduled", "worker": "v-<id>", "cron": "*/5 * * * *", "scheduled_time_ms": 1700000000000}
//                                               -> {"id": 4, "ok": true, "result": {outcome, noRetry}, "ms": 3}
// "apply" commands run one at a time, in order; "queue" and "scheduled" run concurrently, after the apply
// under way. Unprompted lines "cfops-edge-records [...]" carry the edge's recorded invocations (batched):
//   [{script, version, outcome, status, ts, wall_us, bytes}]  (script = "<account id>/<script name>").
// The config (emulator/runtime/config.py) names the version workers and the router's bindings to them;
// this file adds the router, the binding shims and the service binding back to the Python API (the
// router fetches its host/percentage table from there per request, so a deployment change between
// loaded versions needs no setOptions).
// stdin closing (the emulator exited, even by SIGKILL) or SIGTERM/SIGINT: dispose workerd and exit.
import dns from "node:dns/promises";
import { readFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { fetch as outboundFetch, Log, LogLevel, Miniflare, Response as MiniflareResponse, supportedCompatibilityDate } from "miniflare";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WORKERS = path.join(HERE, "workers");
const SHIMS = ["kv", "d1", "queue", "r2"];
const PREFIX = "cfops-edge ";
const RECORDS = "cfops-edge-records ";
const INVOCATION = "x-cfops-edge-invocation";  // set by workers/router.js, never sent to the client
const RECORD_FLUSH_MS = 200;
const RECORD_BATCH = 500;
const ADMIN_PREFIX = "/__emulator";

const { values: args } = parseArgs({
  options: {
    "api-port": { type: "string" },
    "edge-port": { type: "string", default: "0" },
    persist: { type: "string" },
  },
});
if (!args["api-port"] || !args.persist) {
  process.stderr.write("usage: node sidecar.mjs --api-port P --edge-port E --persist DIR\n");
  process.exit(2);
}
const apiAddress = `127.0.0.1:${args["api-port"]}`;
// The emulator's per-start key to its bindings endpoints (emulator/bindings.py), from the environment; given to
// the router and the binding shims as a binding of their own: a Worker's code never sees it.
const EDGE_CREDENTIAL = process.env.CFOPS_EDGE_CREDENTIAL || "";
delete process.env.CFOPS_EDGE_CREDENTIAL;
const edgePort = Number(args["edge-port"]);
// Responses the front server makes itself; everything else comes from workerd.
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te", "trailer"]);

let miniflare = null;
let stopping = false;
// The runtime's last stderr lines: a failed start names the service (v-<version id>) that failed.
let recentErrors = [];

function answer(message) {
  process.stdout.write(PREFIX + JSON.stringify(message) + "\n");
}

// A wrapped binding must be a single module: each shim gets the shared api.js inlined.
function shimSource(shim) {
  const api = readFileSync(path.join(WORKERS, "api.js"), "utf8").replace(/^export /gm, "");
  const own = readFileSync(path.join(WORKERS, `${shim}.js`), "utf8").replace(/^import .* from "\.\/api\.js";$/m, "");
  return `${api}\n${own}`;
}

// A Worker may call the Cloudflare API (with a token), but never the emulator's admin side
// (/__emulator: faults, tokens, state, the edge's triggers, the bindings' unauthenticated API).
const LOCAL_ADDRESSES = new Set(["0.0.0.0", "::", "::1"]);
for (const addresses of Object.values(os.networkInterfaces())) {
  for (const address of addresses || []) LOCAL_ADDRESSES.add(address.address);
}

function isLocal(address) {
  return LOCAL_ADDRESSES.has(address) || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

// Any path that names /__emulator once decoded ("//x/__emulator/...", "/%5F%5Femulator/..."): the Python
// server must never be the one to decide what such a path means.
function namesAdmin(url) {
  let path = url.pathname;
  try {
    path = decodeURIComponent(path);
  } catch {
    return true;  // a path that does not decode is no API call either
  }
  return path.toLowerCase().includes(ADMIN_PREFIX);
}

async function reachesAdmin(url) {
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  if (port !== Number(args["api-port"]) || !namesAdmin(url)) return false;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  try {
    const addresses = await dns.lookup(host, { all: true });
    return addresses.some((entry) => isLocal(entry.address));
  } catch {
    return false;  // a name that does not resolve reaches nothing
  }
}

async function guardedOutbound(request) {
  if (await reachesAdmin(new URL(request.url))) {
    return new MiniflareResponse("cfops emulator: Worker code cannot reach the emulator's admin side\n", { status: 403 });
  }
  return outboundFetch(request, { redirect: "manual" });
}

function versionWorker(worker) {
  const { modules, script_b64, ...rest } = worker;
  rest.outboundService = guardedOutbound;
  // workerd refuses a compatibility date newer than it knows; Cloudflare would accept it.
  if (rest.compatibilityDate > supportedCompatibilityDate) rest.compatibilityDate = supportedCompatibilityDate;
  if (script_b64) return { ...rest, script: Buffer.from(script_b64, "base64").toString("utf8") };
  const root = `/cfops/${worker.name}`;
  return {
    ...rest,
    modulesRoot: root,
    modules: modules.map((m) => ({ type: m.type, path: `${root}/${m.name}`, contents: Buffer.from(m.content_b64, "base64") })),
  };
}

function options(config) {
  const api = { external: { address: apiAddress, http: {} } };
  return {
    host: "127.0.0.1",
    port: 0,  // workerd's own socket; clients use the front server's stable port
    durableObjectsPersist: args.persist,
    cf: false,  // no network: Request.cf gets Miniflare's placeholder instead of a download
    log: new Log(LogLevel.WARN),
    handleRuntimeStdio(stdout, stderr) {
      // Not pipe(): every setOptions starts a new workerd, and pipes would pile up listeners on stderr.
      stdout.on("data", (chunk) => process.stderr.write(chunk));
      stderr.on("data", (chunk) => {
        process.stderr.write(chunk);
        recentErrors = recentErrors.concat(String(chunk).split("\n").filter(Boolean)).slice(-40);
      });
    },
    workers: [
      {
        name: "cfops-router",
        modules: true,
        scriptPath: path.join(WORKERS, "router.js"),
        modulesRules: [{ type: "ESModule", include: ["**/*.js"] }],  // router.js imports structured-headers.js
        compatibilityDate: "2024-09-23",
        bindings: { EDGE_CREDENTIAL },
        serviceBindings: { ...config.router_services, API: api },
      },
      ...config.workers.map(versionWorker),
      ...SHIMS.map((shim) => ({
        name: `cfops-shim-${shim}`,
        modules: true,
        script: shimSource(shim),  // no compatibility date: a wrapped binding runs with its caller's
        bindings: { EDGE_CREDENTIAL },
        serviceBindings: { API: api },
      })),
    ],
  };
}

async function apply(config) {
  const started = Date.now();
  recentErrors = [];
  if (miniflare === null) {
    const created = new Miniflare(options(config));
    try {
      await created.ready;
    } catch (error) {
      await created.dispose().catch(() => {});
      throw error;
    }
    miniflare = created;
  } else {
    await miniflare.setOptions(options(config));
  }
  await miniflare.ready;
  const ms = Date.now() - started;
  if (front === null) front = await listen();
  return { url: `http://127.0.0.1:${front.address().port}/`, ms };
}

// The edge port is served here, not by workerd directly: setOptions restarts workerd, and a
// request that arrives meanwhile waits for the new configuration (dispatchFetch waits for it)
// instead of finding the port closed or its keep-alive connection reset.
let front = null;

async function readBody(request) {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  return chunks.length ? Buffer.concat(chunks) : undefined;
}

async function forward(request, body) {
  const headers = new Headers();
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i].toLowerCase();
    if (!HOP_BY_HOP.has(name) && name !== "host") headers.append(name, request.rawHeaders[i + 1]);
  }
  const host = request.headers.host || `127.0.0.1:${edgePort}`;
  const init = { method: request.method, headers, redirect: "manual" };
  if (body !== undefined && request.method !== "GET" && request.method !== "HEAD") init.body = body;
  return miniflare.dispatchFetch(`http://${host}${request.url}`, init);
}

// Invocations the router reported, sent to the emulator in batches (off the request path).
let records = [];
let recordTimer = null;

function flushRecords() {
  recordTimer = null;
  if (records.length === 0) return;
  const batch = records;
  records = [];
  process.stdout.write(RECORDS + JSON.stringify(batch) + "\n");
}

function record(entry) {
  records.push(entry);
  if (records.length >= RECORD_BATCH) flushRecords();
  else if (recordTimer === null) recordTimer = setTimeout(flushRecords, RECORD_FLUSH_MS);
}

// What the router reported (null when it reported nothing: no route, an upgraded connection).
function invocationOf(upstream) {
  try {
    const reported = JSON.parse(upstream.headers.get(INVOCATION) || "null");
    return reported && typeof reported.script === "string" && typeof reported.version === "string" ? reported : null;
  } catch {
    return null;
  }
}

async function serve(request, response) {
  const startedAt = Date.now();
  const started = process.hrtime.bigint();
  try {
    const body = await readBody(request);
    let upstream;
    try {
      upstream = await forward(request, body);
    } catch (error) {
      // workerd restarted under an in-flight request (a deployment change): a safe method is tried once more.
      if (request.method !== "GET" && request.method !== "HEAD") throw error;
      upstream = await forward(request, body);
    }
    const payload = Buffer.from(await upstream.arrayBuffer());
    const wallUs = Number((process.hrtime.bigint() - started) / 1000n);
    const headers = {};
    for (const [name, value] of upstream.headers) {
      if (!HOP_BY_HOP.has(name) && name !== "content-length" && name !== "content-encoding" && name !== "set-cookie"
          && name !== INVOCATION) headers[name] = value;
    }
    const cookies = upstream.headers.getSetCookie();
    if (cookies.length) headers["set-cookie"] = cookies;
    headers["content-length"] = String(payload.length);
    const reported = invocationOf(upstream);
    if (reported !== null) {
      const entry = { ...reported, status: upstream.status, ts: startedAt, wall_us: wallUs, bytes: payload.length };
      // A client that went away before the response was written: Cloudflare's clientDisconnected.
      const settle = () => record(response.writableFinished ? entry : { ...entry, outcome: "clientDisconnected" });
      if (response.destroyed) settle();
      else response.once("close", settle);
    }
    response.writeHead(upstream.status, upstream.statusText, headers);
    response.end(request.method === "HEAD" ? undefined : payload);
  } catch (error) {
    process.stderr.write(`cfops edge: ${request.method} ${request.url}: ${error && error.stack || error}\n`);
    if (!response.headersSent) {
      response.writeHead(502, { "content-type": "text/plain; charset=utf-8" });
      response.end(`cfops emulator edge: the Workers runtime did not answer: ${error && error.message || error}\n`);
    } else {
      response.destroy();
    }
  }
}

// A queue consumer batch or a cron event, on one version's worker (Miniflare's Fetcher.queue/scheduled).
function messageBody(message) {
  const data = Buffer.from(message.body_b64 || "", "base64");
  if (message.content_type === "json") return JSON.parse(data.toString("utf8"));
  if (message.content_type === "text") return data.toString("utf8");
  return new Uint8Array(data);  // "bytes" (and anything else): an ArrayBuffer view, as Cloudflare delivers bytes
}

async function invoke(command) {
  await applying;
  if (miniflare === null) throw new Error("the edge has no configuration yet");
  const worker = await miniflare.getWorker(command.worker);
  const started = Date.now();
  let result;
  if (command.op === "queue") {
    const messages = command.messages.map((m) => ({
      id: m.id, timestamp: new Date(m.timestamp_ms), body: messageBody(m), attempts: m.attempts }));
    result = await worker.queue(command.queue, messages);
  } else {
    result = await worker.scheduled({ cron: command.cron, scheduledTime: new Date(command.scheduled_time_ms) });
  }
  return { result, ms: Date.now() - started };
}

function listen() {
  return new Promise((resolve, reject) => {
    const server = http.createServer({ keepAliveTimeout: 60_000, noDelay: true }, serve);
    server.once("error", reject);
    server.listen(edgePort, "127.0.0.1", () => resolve(server));
  });
}

async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  flushRecords();
  try {
    if (front !== null) front.close();
    if (miniflare !== null) await miniflare.dispose();
  } catch (error) {
    process.stderr.write(`cfops edge: dispose failed: ${error}\n`);
  }
  process.exit(code);
}

process.on("SIGTERM", () => shutdown(0));
process.on("SIGINT", () => shutdown(0));
process.on("SIGHUP", () => shutdown(0));

// "apply" commands run one at a time, in order; invocations wait for the apply under way, then run concurrently.
let applying = Promise.resolve();
const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (!line.trim()) return;
  let command;
  try {
    command = JSON.parse(line);
  } catch (error) {
    answer({ id: null, ok: false, error: `not JSON: ${error.message}` });
    return;
  }
  const run = async () => {
    try {
      if (command.op === "apply") return answer({ id: command.id, ok: true, ...(await apply(command.config)) });
      if (command.op === "queue" || command.op === "scheduled") return answer({ id: command.id, ok: true, ...(await invoke(command)) });
      throw new Error(`unknown op ${command.op}`);
    } catch (error) {
      process.stderr.write(`cfops edge: ${error && error.stack || error}\n`);
      return answer({ id: command.id, ok: false, error: String(error && error.message || error), runtime_errors: recentErrors });
    }
  };
  if (command.op === "apply") applying = applying.then(run);
  else run();
});
lines.on("close", () => applying.then(() => shutdown(0)));
