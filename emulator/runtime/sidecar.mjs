// The emulator's edge: one Miniflare (workerd) instance that runs the deployed Worker versions.
//
//   node sidecar.mjs --api-port P --edge-port E --persist DIR
//
// Started and owned by emulator/runtime/__init__.py. Protocol: one JSON command per line on stdin,
// one JSON answer per line on stdout, prefixed with "cfops-edge " (stdout carries nothing else; the
// runtime's and the Workers' logs go to stderr):
//   {"id": 1, "op": "apply", "config": {...}}  -> {"id": 1, "ok": true, "url": "http://127.0.0.1:E/", "ms": 180}
//   {"id": 2, "op": "apply", ...}              -> a failure: {"id": 2, "ok": false, "error": "..."}
// The config (emulator/runtime/config.py) names the version workers and the router's bindings to them;
// this file adds the router, the binding shims and the service binding back to the Python API (the
// router fetches its host/percentage table from there per request, so a deployment change between
// loaded versions needs no setOptions).
// stdin closing (the emulator exited, even by SIGKILL) or SIGTERM/SIGINT: dispose workerd and exit.
import { readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Log, LogLevel, Miniflare, supportedCompatibilityDate } from "miniflare";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WORKERS = path.join(HERE, "workers");
const SHIMS = ["kv", "d1", "queue", "r2"];
const PREFIX = "cfops-edge ";

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

function versionWorker(worker) {
  const { modules, script_b64, ...rest } = worker;
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
        compatibilityDate: "2024-09-23",
        serviceBindings: { ...config.router_services, API: api },
      },
      ...config.workers.map(versionWorker),
      ...SHIMS.map((shim) => ({
        name: `cfops-shim-${shim}`,
        modules: true,
        script: shimSource(shim),  // no compatibility date: a wrapped binding runs with its caller's
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

async function serve(request, response) {
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
    const headers = {};
    for (const [name, value] of upstream.headers) {
      if (!HOP_BY_HOP.has(name) && name !== "content-length" && name !== "content-encoding" && name !== "set-cookie") headers[name] = value;
    }
    const cookies = upstream.headers.getSetCookie();
    if (cookies.length) headers["set-cookie"] = cookies;
    headers["content-length"] = String(payload.length);
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

// Commands run one at a time, in order.
let queue = Promise.resolve();
const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (!line.trim()) return;
  queue = queue.then(async () => {
    let command;
    try {
      command = JSON.parse(line);
      if (command.op !== "apply") throw new Error(`unknown op ${command.op}`);
      answer({ id: command.id, ok: true, ...(await apply(command.config)) });
    } catch (error) {
      process.stderr.write(`cfops edge: ${error && error.stack || error}\n`);
      answer({ id: command && command.id, ok: false, error: String(error && error.message || error), runtime_errors: recentErrors });
    }
  });
});
lines.on("close", () => queue.then(() => shutdown(0)));
