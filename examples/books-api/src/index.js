// books-api: the example Worker the demo, Molecule and the integration tests deploy.
// Routes: GET /health (liveness + the version marker the release gates read),
//         GET /books/:id (read-through cache in the CACHE KV namespace).
import { json, notFound } from "./http.js";

export default {
  async fetch(request, env) {
    const url = new URL(request.url);

    if (url.pathname === "/health") {
      // The version marker: the id of the version that answered (a version_metadata binding named
      // CF_VERSION_METADATA on Cloudflare; the local emulator's edge also sets x-cfops-version-id).
      const version = env.CF_VERSION_METADATA ? env.CF_VERSION_METADATA.id : "unknown";
      const headers = env.CF_VERSION_METADATA ? { "x-cfops-version-id": version } : {};
      // FAIL_HEALTH=true makes a deliberately bad release, for testing the release gates and rollback.
      const ok = env.FAIL_HEALTH !== "true";
      return json({
        ok,
        status: ok ? "ok" : "failing",
        worker: "books-api",
        environment: env.ENVIRONMENT,
        release: env.RELEASE || null,
        version,
      }, headers, ok ? 200 : 500);
    }

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
