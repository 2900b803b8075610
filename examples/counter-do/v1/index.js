// counter-do v1: a Durable Object class Counter behind GET /count (increments) and GET /health.
export class Counter {
  constructor(state) {
    this.state = state;
  }

  async fetch() {
    const count = ((await this.state.storage.get("count")) || 0) + 1;
    await this.state.storage.put("count", count);
    return Response.json({ class: "Counter", count });
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/health") {
      // The version marker, from the version_metadata binding CF_VERSION_METADATA when there is one.
      const metadata = env.CF_VERSION_METADATA || {};
      return Response.json({ ok: true, worker: "counter-do", release: "v1", version: metadata.id || "unknown",
                             version_tag: metadata.tag || "" });
    }
    if (url.pathname === "/count") {
      return env.COUNTER.get(env.COUNTER.idFromName("global")).fetch(request);
    }
    return new Response("not found\n", { status: 404 });
  },
};
