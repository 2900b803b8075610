export class Counter {
  constructor(state) {
    this.state = state;
  }

  async fetch() {
    const value = ((await this.state.storage.get("n")) || 0) + 1;
    await this.state.storage.put("n", value);
    return new Response(String(value));
  }
}

export class Tally extends Counter {}

export default {
  async fetch(request, env) {
    const binding = env.TALLY || env.COUNTER;
    return binding.get(binding.idFromName("global")).fetch(request);
  },
};
