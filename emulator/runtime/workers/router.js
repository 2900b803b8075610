// The edge's front worker: picks the script a request's Host (and path) is routed to, then one of
// the versions of that script's active deployment: the version a valid
// Cloudflare-Workers-Version-Overrides header names, else one drawn by the deployment's percentages.
//
// The table comes from the Python emulator (GET /__emulator/edge/table through env.API, at most 100 ms old,
// built by emulator/runtime/config.py routing_table), so a deployment change is seen within 100 ms:
//   routes:  [{hostname, path_pattern, script}]  most specific first; hostname may start with "*"
//   scripts: {script: [{binding, version_id, percentage}]}   script = "<account id>/<script name>"
// env[binding] is a service binding to the version's worker.
//
// Cloudflare adds no version header to a Worker's response, and neither does this router. What the
// emulator needs for its analytics (which version ran, and how the invocation ended) travels in the
// INVOCATION header, which the sidecar's front server removes before the client sees the response.

import { parseDictionary } from "./structured-headers.js";

// Kept for TABLE_TTL_MS: a busy edge asks the emulator ~10 times a second, not once per request.
const TABLE_TTL_MS = 100;
const OVERRIDES = "cloudflare-workers-version-overrides";
const INVOCATION = "x-cfops-edge-invocation";  // keep in sync with sidecar.mjs
let cached = null;
let cachedAt = 0;

async function table(env) {
  if (cached !== null && Date.now() - cachedAt < TABLE_TTL_MS) return cached;
  const response = await env.API.fetch("http://emulator/__emulator/edge/table",
                                       { headers: { "x-cfops-edge-credential": env.EDGE_CREDENTIAL } });
  if (!response.ok) throw new Error(`the emulator's routing table: HTTP ${response.status}`);
  cached = await response.json();
  cachedAt = Date.now();
  return cached;
}

function hostMatches(pattern, host) {
  if (!pattern.startsWith("*")) return pattern === host;
  const suffix = pattern.slice(1);            // "*.example.com" -> ".example.com", "*example.com" -> "example.com"
  return host.endsWith(suffix) && (suffix.startsWith(".") || host === suffix || host.endsWith("." + suffix));
}

function pathMatches(pattern, path) {
  if (!pattern || pattern === "/*") return true;
  return pattern.endsWith("*") ? path.startsWith(pattern.slice(0, -1)) : path === pattern;
}

// A version at 0% is reached only through an override
// (developers.cloudflare.com/workers/configuration/versions-and-deployments/version-overrides/).
function pickVersion(versions) {
  const weighted = versions.filter((v) => v.percentage > 0);
  let roll = Math.random() * 100;
  for (const version of weighted) {
    roll -= version.percentage;
    if (roll < 0) return version;
  }
  return weighted[weighted.length - 1] || versions[0];
}

// The override applies only to a version of the current deployment (any percentage, 0 included); an
// invalid dictionary, a member that is not a String, or another version: the percentages decide.
function overridden(request, scriptName, versions) {
  const header = request.headers.get(OVERRIDES);
  if (header === null) return null;
  const members = parseDictionary(header);
  const member = members && members.get(scriptName);
  if (!member || member.kind !== "string") return null;
  return versions.find((v) => v.version_id === member.value) || null;
}

function text(status, body) {
  return new Response(body + "\n", { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

function withInvocation(response, script, version, outcome) {
  const out = new Response(response.body, response);
  out.headers.set(INVOCATION, JSON.stringify({ script, version: version.version_id, outcome }));
  return out;
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const host = url.hostname.toLowerCase();
    const current = await table(env);
    const route = current.routes.find((r) => hostMatches(r.hostname, host) && pathMatches(r.path_pattern, url.pathname));
    if (!route) {
      return text(404, `cfops emulator edge: no Worker route, custom domain or workers.dev name matches ${host}${url.pathname}`);
    }
    // A version whose worker is not (or no longer) loaded cannot serve: a reload is under way.
    const versions = (current.scripts[route.script] || []).filter((v) => v.broken || env[v.binding]);
    if (!versions || versions.length === 0) {
      return text(404, `cfops emulator edge: Worker ${route.script} has no active deployment`);
    }
    const scriptName = route.script.slice(route.script.indexOf("/") + 1);
    const version = overridden(request, scriptName, versions) || pickVersion(versions);
    if (version.broken) {
      // workerd could not load this version (e.g. a syntax error the API accepted): it fails like a throw.
      const failed = text(500, `Error 1101: Worker threw exception (the version failed to load: ${version.broken})`);
      return withInvocation(failed, route.script, version, "scriptThrewException");
    }
    let response;
    try {
      response = await env[version.binding].fetch(request);
    } catch (error) {
      // What Cloudflare answers for an uncaught exception (error 1101): a 500.
      console.error(`cfops emulator edge: ${route.script} version ${version.version_id} threw: ${error && error.stack || error}`);
      return withInvocation(text(500, "Error 1101: Worker threw exception"), route.script, version, "scriptThrewException");
    }
    if (response.webSocket) return response;  // an upgraded connection cannot be copied (nor recorded)
    return withInvocation(response, route.script, version, "success");
  },
};
