export default {
  async fetch() {
    return new Response("ok");
  },
  // What the triggers run (live, a cron may fire while the target runs).
  async scheduled() {},
};
