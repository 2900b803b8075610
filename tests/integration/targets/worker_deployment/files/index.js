// Counter is the Durable Object class the target's migration creates: Cloudflare applies a new-class migration only
// to a class the script exports.
export class Counter {
  constructor(state) {
    this.state = state;
  }

  async fetch() {
    return new Response("counter");
  }
}

export default {
  async fetch(request, env) {
    return new Response(`release ${env.RELEASE}`);
  },
};
