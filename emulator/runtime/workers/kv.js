// The kv_namespace binding (env.KV.get/getWithMetadata/put/delete/list) over the emulator's KV API.
// Inner bindings: ACCOUNT_ID, NAMESPACE_ID.
import { apiError, apiFetch, apiJson } from "./api.js";

function decode(response, type) {
  switch (type || "text") {
    case "text": return response.text();
    case "json": return response.json();
    case "arrayBuffer": return response.arrayBuffer();
    case "stream": return Promise.resolve(response.body);
    default: throw new TypeError(`Unknown response type "${type}": use "text", "json", "arrayBuffer" or "stream"`);
  }
}

function typeOf(options) {
  return typeof options === "string" ? options : options && options.type;
}

// A cursor is the last listed key, base64url without padding, as the API makes it.
function cursorOf(key) {
  const bytes = new TextEncoder().encode(key);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export default function (env) {
  const base = `/api/accounts/${env.ACCOUNT_ID}/storage/kv/namespaces/${env.NAMESPACE_ID}`;
  const valuePath = (key) => `${base}/values/${encodeURIComponent(key)}`;

  async function getOne(key, options, withMetadata) {
    const response = await apiFetch(env, "GET", valuePath(String(key)));
    if (response.status === 404) {
      await response.arrayBuffer();
      return withMetadata ? { value: null, metadata: null, cacheStatus: null } : null;
    }
    if (!response.ok) throw await apiError(response, `KV get(${JSON.stringify(key)})`);
    const value = await decode(response, typeOf(options));
    if (!withMetadata) return value;
    const metadata = await apiJson(env, "GET", `${base}/metadata/${encodeURIComponent(String(key))}`, undefined,
                                   `KV getWithMetadata(${JSON.stringify(key)})`);
    return { value, metadata: metadata.result ?? null, cacheStatus: null };
  }

  async function getMany(keys, options, withMetadata) {
    const type = typeOf(options) || "text";
    if (type !== "text" && type !== "json") throw new TypeError(`bulk get supports "text" and "json", not "${type}"`);
    const document = await apiJson(env, "POST", `${base}/bulk/get`, { keys, type, withMetadata }, "KV bulk get");
    const values = new Map();
    for (const key of keys) {
      const entry = document.result.values[key] ?? null;
      values.set(key, withMetadata ? (entry ? { value: entry.value, metadata: entry.metadata ?? null } : null) : entry);
    }
    return values;
  }

  return {
    get(key, options) {
      return Array.isArray(key) ? getMany(key, options, false) : getOne(key, options, false);
    },
    getWithMetadata(key, options) {
      return Array.isArray(key) ? getMany(key, options, true) : getOne(key, options, true);
    },
    async put(key, value, options = {}) {
      const query = new URLSearchParams();
      if (options.expiration !== undefined) query.set("expiration", String(options.expiration));
      if (options.expirationTtl !== undefined) query.set("expiration_ttl", String(options.expirationTtl));
      const body = value instanceof ReadableStream ? await new Response(value).arrayBuffer() : value;
      let init;
      if (options.metadata !== undefined && options.metadata !== null) {
        const form = new FormData();
        form.set("value", new Blob([body]));
        form.set("metadata", JSON.stringify(options.metadata));
        init = { body: form };
      } else {
        init = { body, headers: { "content-type": "application/octet-stream" } };
      }
      const suffix = query.size ? `?${query}` : "";
      const response = await apiFetch(env, "PUT", valuePath(String(key)) + suffix, init);
      if (!response.ok) throw await apiError(response, `KV put(${JSON.stringify(key)})`);
      await response.arrayBuffer();
    },
    async delete(key) {
      const response = await apiFetch(env, "DELETE", valuePath(String(key)));
      if (!response.ok) throw await apiError(response, `KV delete(${JSON.stringify(key)})`);
      await response.arrayBuffer();
    },
    async list(options = {}) {
      const limit = Math.min(Math.max(Number(options.limit ?? 1000), 1), 1000);
      const query = new URLSearchParams({ limit: String(Math.max(limit, 10)) });  // the API's minimum page is 10
      if (options.prefix) query.set("prefix", options.prefix);
      if (options.cursor) query.set("cursor", options.cursor);
      const document = await apiJson(env, "GET", `${base}/keys?${query}`, undefined, "KV list");
      let keys = document.result;
      let cursor = document.result_info.cursor || "";
      if (keys.length > limit) {
        keys = keys.slice(0, limit);
        cursor = cursorOf(keys[keys.length - 1].name);
      }
      return cursor ? { keys, list_complete: false, cursor, cacheStatus: null } : { keys, list_complete: true, cacheStatus: null };
    },
  };
}
