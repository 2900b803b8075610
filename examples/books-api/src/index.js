// books-api: the example Worker the demo, Molecule and the integration tests deploy.
// Routes: GET /health (liveness + the version marker the release gates read),
//         GET /books/:id (read-through cache in the CACHE KV namespace).
import { json, notFound } from "./http.js";

export default {
  async fetch(request, env) {
    const url = new URL(request.url);

    if (url.pathname === "/health") {
      return json({
        status: "ok",
        worker: "books-api",
        environment: env.ENVIRONMENT,
        version: env.CF_VERSION_METADATA ? env.CF_VERSION_METADATA.id : "unknown",
      });
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
