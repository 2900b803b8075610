// Calls from the binding shims to the Python emulator (env.API: a service binding to its HTTP port).
// /__emulator/bindings/api/<Cloudflare API path> runs the API's own handler without an API token, call
// counting or fault injection (emulator/bindings.py), so a binding sees exactly the API's data.

// Every call carries the edge's per-start credential (env.EDGE_CREDENTIAL, a binding of the shim, not of the
// Worker): the bindings endpoints answer nothing without it.
export async function apiFetch(env, method, path, init = {}) {
  const headers = { ...(init.headers || {}), "x-cfops-edge-credential": env.EDGE_CREDENTIAL };
  return env.API.fetch("http://emulator/__emulator/bindings" + path, { method, ...init, headers });
}

export async function apiError(response, what) {
  let message = `HTTP ${response.status}`;
  try {
    const document = await response.json();
    if (document && document.errors && document.errors.length) {
      message = document.errors.map((e) => `${e.code}: ${e.message}`).join("; ");
    } else if (document && document.error) {
      message = document.error;
    }
  } catch {
    // not JSON: keep the status
  }
  return new Error(`${what} failed: ${message}`);
}

export async function apiJson(env, method, path, body, what) {
  const init = body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } };
  const response = await apiFetch(env, method, path, init);
  if (!response.ok) throw await apiError(response, what);
  return response.json();
}
