// The d1 binding (env.DB.prepare/bind/first/all/run/raw, batch, exec) over the emulator's D1 API,
// which runs the SQL on the database's real SQLite file. Inner bindings: ACCOUNT_ID, DATABASE_ID.
// batch() runs its statements one request each, in order (not in one transaction).
import { apiJson } from "./api.js";

export default function (env) {
  const base = `/api/accounts/${env.ACCOUNT_ID}/d1/database/${env.DATABASE_ID}`;

  async function run(endpoint, sql, params) {
    const document = await apiJson(env, "POST", `${base}/${endpoint}`, { sql, params }, "D1 query");
    return document.result;
  }

  function statement(sql, params) {
    return {
      bind(...values) {
        return statement(sql, values.map((v) => (typeof v === "boolean" ? Number(v) : v)));
      },
      async all() {
        const [result] = await run("query", sql, params);
        return { results: result.results, success: true, meta: result.meta };
      },
      async run() {
        return this.all();
      },
      async first(column) {
        const { results } = await this.all();
        if (!results.length) return null;
        if (column === undefined) return results[0];
        if (!(column in results[0])) throw new Error(`D1_COLUMN_NOTFOUND: Column not found (${column})`);
        return results[0][column];
      },
      async raw(options = {}) {
        const [result] = await run("raw", sql, params);
        return options.columnNames ? [result.results.columns, ...result.results.rows] : result.results.rows;
      },
    };
  }

  return {
    prepare(sql) {
      return statement(sql, []);
    },
    async batch(statements) {
      const results = [];
      for (const s of statements) results.push(await s.all());
      return results;
    },
    async exec(sql) {
      const started = Date.now();
      const results = await run("query", sql, []);
      return { count: results.length, duration: Date.now() - started };
    },
  };
}
