// books-api: the example Worker the demo, Molecule and the integration tests deploy.
// Routes: GET /health (liveness + the version marker the release gates read),
//         GET /books/:id (read-through cache in the CACHE KV namespace).
// Bindings: CF_VERSION_METADATA (version_metadata), CACHE (KV), API_KEY (secret), vars ENVIRONMENT,
// RELEASE and the test knobs FAIL_HEALTH, ERROR_RATE, EXTRA_LATENCY_MS (README.md).
import { json, notFound } from "./http.js";

// Test knobs for the release gates: a share of requests that throw (what Cloudflare's analytics count as
// errors: an invocation status scriptThrewException) and added latency, on every route but /health.
async function misbehave(env) {
  const latency = Number(env.EXTRA_LATENCY_MS || 0);
  if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
  const rate = Number(env.ERROR_RATE || 0);
  if (rate > 0 && Math.random() < rate) throw new Error(`books-api: a deliberate failure (ERROR_RATE=${rate})`);
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);

    if (url.pathname === "/health") {
      // The version marker: the id (and tag) of the version that answered, from the version_metadata
      // binding CF_VERSION_METADATA. Cloudflare adds no version header to a response; this Worker sends its
      // own x-cfops-version-id too, for probes that read a header.
      const metadata = env.CF_VERSION_METADATA;
      const version = metadata && metadata.id ? metadata.id : "unknown";
      const versionTag = metadata && metadata.tag ? metadata.tag : "";
      const headers = metadata && metadata.id ? { "x-cfops-version-id": version } : {};
      // FAIL_HEALTH=true makes a deliberately bad release, for testing the release gates and rollback.
      const ok = env.FAIL_HEALTH !== "true";
      return json({
        ok,
        status: ok ? "ok" : "failing",
        worker: "books-api",
        environment: env.ENVIRONMENT,
        release: env.RELEASE || null,
        version,
        version_tag: versionTag,
      }, headers, ok ? 200 : 500);
    }

    await misbehave(env);
    const match = url.pathname.match(/^\/books\/([A-Za-z0-9-]+)$/);
    if (match && request.method === "GET") {
      const cached = await env.CACHE.get(`book:${match[1]}`, "json");
      if (cached) {
        return json(cached, { "x-cache": "hit" });
      }
      // The upstream call needs the API key; the secret never leaves the Worker.
      if (!env.API_KEY) {
        return json({ error: "API_KEY is not configured" }, {}, 503);
      }
      return notFound(`book ${match[1]} is not cached`);
    }

    return notFound(url.pathname);
  },
};
