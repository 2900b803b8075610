import { greeting } from "./lib/greeting.js";

export default {
  async fetch(request, env) {
    return new Response(greeting(env.GREETING_NAME || "world"));
  },
};
