// The Worker the consumer belongs to: it takes every batch.
export default {
  async queue(batch) {
    batch.ackAll();
  },
};
