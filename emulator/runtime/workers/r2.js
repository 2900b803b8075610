// The r2_bucket binding (env.BUCKET.get/head/put/delete/list) on the emulator's R2 files
// (emulator/api/r2.py, through /__emulator/bindings/r2/...). Inner bindings: ACCOUNT_ID, BUCKET_NAME.
// Not provided: conditional and range reads, multipart uploads, checksums other than the etag.
import { apiError, apiFetch } from "./api.js";

function objectOf(facts, body) {
  const object = {
    key: facts.key,
    version: facts.etag,
    size: facts.size,
    etag: facts.etag,
    httpEtag: `"${facts.etag}"`,
    uploaded: new Date(facts.uploaded),
    httpMetadata: facts.content_type ? { contentType: facts.content_type } : {},
    customMetadata: facts.custom_metadata || {},
    storageClass: "Standard",
    writeHttpMetadata(headers) {
      if (facts.content_type) headers.set("content-type", facts.content_type);
    },
  };
  if (body !== undefined) {
    const bytes = new Uint8Array(body);
    Object.assign(object, {
      get body() { return new Response(bytes).body; },
      bodyUsed: false,
      arrayBuffer: async () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      text: async () => new TextDecoder().decode(bytes),
      json: async () => JSON.parse(new TextDecoder().decode(bytes)),
      blob: async () => new Blob([bytes]),
    });
  }
  return object;
}

export default function (env) {
  const base = `/r2/${env.ACCOUNT_ID}/${encodeURIComponent(env.BUCKET_NAME)}`;
  const objectPath = (key) => `${base}/object?key=${encodeURIComponent(key)}`;

  async function read(key, method) {
    const response = await apiFetch(env, method, objectPath(String(key)));
    if (response.status === 404) {
      const document = await response.json();
      if (String(document.error).startsWith("NoSuchBucket")) throw new Error(`R2 ${method} failed: ${document.error}`);
      return null;
    }
    if (!response.ok) throw await apiError(response, `R2 ${method.toLowerCase()}(${JSON.stringify(key)})`);
    const facts = JSON.parse(response.headers.get("x-cfops-r2-object"));
    return objectOf(facts, method === "HEAD" ? undefined : await response.arrayBuffer());
  }

  return {
    get(key) {
      return read(key, "GET");
    },
    head(key) {
      return read(key, "HEAD");
    },
    async put(key, value, options = {}) {
      let body = value;
      if (value === null || value === undefined) body = new Uint8Array();
      else if (value instanceof ReadableStream || value instanceof Blob) body = await new Response(value).arrayBuffer();
      const headers = { "x-cfops-r2-custom-metadata": JSON.stringify(options.customMetadata || {}) };
      const http = options.httpMetadata instanceof Headers
        ? { contentType: options.httpMetadata.get("content-type") } : (options.httpMetadata || {});
      if (http.contentType) headers["content-type"] = http.contentType;
      const response = await apiFetch(env, "PUT", objectPath(String(key)), { body, headers });
      if (!response.ok) throw await apiError(response, `R2 put(${JSON.stringify(key)})`);
      return objectOf(await response.json());
    },
    async delete(keys) {
      for (const key of Array.isArray(keys) ? keys : [keys]) {
        const response = await apiFetch(env, "DELETE", objectPath(String(key)));
        if (!response.ok) throw await apiError(response, `R2 delete(${JSON.stringify(key)})`);
        await response.arrayBuffer();
      }
    },
    async list(options = {}) {
      const query = new URLSearchParams();
      for (const name of ["prefix", "cursor", "delimiter"]) if (options[name]) query.set(name, options[name]);
      if (options.limit) query.set("limit", String(options.limit));
      const response = await apiFetch(env, "GET", `${base}/list?${query}`);
      if (!response.ok) throw await apiError(response, "R2 list");
      const document = await response.json();
      const result = { objects: document.objects.map((facts) => objectOf(facts)), truncated: document.truncated,
                       delimitedPrefixes: document.delimitedPrefixes };
      if (document.truncated) result.cursor = document.cursor;
      return result;
    },
  };
}
