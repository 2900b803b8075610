// The queue producer binding (env.QUEUE.send/sendBatch): messages land in the emulator's queue
// storage (emulator/api/queues.py). Inner bindings: ACCOUNT_ID, QUEUE_NAME.
import { apiJson } from "./api.js";

function encode(body, contentType) {
  const type = contentType || "json";
  if (type === "json") return { content_type: "json", body: JSON.stringify(body) };
  if (type === "text") return { content_type: "text", body: String(body) };
  throw new TypeError(`the emulator's queue binding sends "json" and "text" messages, not "${type}"`);
}

export default function (env) {
  const path = `/queues/${env.ACCOUNT_ID}/${encodeURIComponent(env.QUEUE_NAME)}`;
  async function sendAll(messages) {
    await apiJson(env, "POST", path, { messages }, `send to queue ${env.QUEUE_NAME}`);
  }
  return {
    async send(body, options = {}) {
      await sendAll([{ ...encode(body, options.contentType), delay_seconds: options.delaySeconds || 0 }]);
    },
    async sendBatch(messages, options = {}) {
      await sendAll([...messages].map((m) => ({
        ...encode(m.body, m.contentType), delay_seconds: m.delaySeconds ?? options.delaySeconds ?? 0,
      })));
    },
  };
}
