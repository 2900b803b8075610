// The Worker the live run probes on workers.dev: 200 with JSON that names no version, as the emulator's health
// endpoint answers, so the target's assertions are the same on both.
export default {
  async fetch() {
    return Response.json({ ok: true, status: "ok" });
  },
};
