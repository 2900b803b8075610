export default {
  async fetch(request, env) {
    return new Response("adopted " + env.GREETING);
  },
};
