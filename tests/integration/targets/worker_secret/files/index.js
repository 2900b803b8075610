export default {
  async fetch(request, env) {
    return new Response(env.API_KEY ? "configured" : "missing");
  },
};
