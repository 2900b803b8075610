// Small response helpers shared by the routes.
export function json(body, headers = {}, status = 200) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

export function notFound(what) {
  return json({ error: `not found: ${what}` }, {}, 404);
}
