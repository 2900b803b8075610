// RFC 8941 (Structured Field Values for HTTP) Dictionary parsing, section 4.2.2, for the
// Cloudflare-Workers-Version-Overrides header. parseDictionary(text) returns a Map of key ->
// {kind, value, params} (kind: "string" | "token" | "integer" | "decimal" | "boolean" | "bytes" |
// "inner-list"), or null when the field value is not a valid Dictionary (the whole header is then
// ignored, as Cloudflare ignores an invalid override).

class Parser {
  constructor(text) {
    this.text = text;
    this.at = 0;
  }

  get done() { return this.at >= this.text.length; }
  peek() { return this.text[this.at]; }
  fail() { throw new SyntaxError(`not a structured-field dictionary at character ${this.at}`); }
  skip(chars) { while (!this.done && chars.includes(this.peek())) this.at += 1; }

  dictionary() {
    const members = new Map();
    while (!this.done) {
      const key = this.key();
      let member;
      if (this.peek() === "=") {
        this.at += 1;
        member = this.peek() === "(" ? this.innerList() : this.item();
      } else {
        member = { kind: "boolean", value: true, params: this.parameters() };
      }
      members.set(key, member);
      this.skip(" \t");
      if (this.done) return members;
      if (this.peek() !== ",") this.fail();
      this.at += 1;
      this.skip(" \t");
      if (this.done) this.fail();  // a trailing comma
    }
    return members;
  }

  key() {
    if (this.done || !/[a-z*]/.test(this.peek())) this.fail();
    const start = this.at;
    while (!this.done && /[a-z0-9_\-.*]/.test(this.peek())) this.at += 1;
    return this.text.slice(start, this.at);
  }

  item() {
    const bare = this.bareItem();
    return { ...bare, params: this.parameters() };
  }

  innerList() {
    this.at += 1;
    const items = [];
    for (;;) {
      this.skip(" ");
      if (this.done) this.fail();
      if (this.peek() === ")") {
        this.at += 1;
        return { kind: "inner-list", value: items, params: this.parameters() };
      }
      items.push(this.item());
      if (!this.done && this.peek() !== " " && this.peek() !== ")") this.fail();
    }
  }

  parameters() {
    const params = new Map();
    while (!this.done && this.peek() === ";") {
      this.at += 1;
      this.skip(" ");
      const key = this.key();
      let value = { kind: "boolean", value: true };
      if (this.peek() === "=") {
        this.at += 1;
        value = this.bareItem();
      }
      params.set(key, value);
    }
    return params;
  }

  bareItem() {
    const c = this.peek();
    if (c === undefined) this.fail();
    if (c === "-" || /[0-9]/.test(c)) return this.number();
    if (c === '"') return this.string();
    if (c === "*" || /[A-Za-z]/.test(c)) return this.token();
    if (c === ":") return this.bytes();
    if (c === "?") return this.boolean();
    return this.fail();
  }

  number() {
    const match = /^(-?)([0-9]{1,15})(\.[0-9]{1,3})?/.exec(this.text.slice(this.at));
    if (!match || (match[3] && match[2].length > 12)) this.fail();
    this.at += match[0].length;
    if (!this.done && /[0-9.]/.test(this.peek())) this.fail();
    return match[3] ? { kind: "decimal", value: Number(match[0]) } : { kind: "integer", value: Number(match[0]) };
  }

  string() {
    this.at += 1;
    let value = "";
    while (!this.done) {
      const c = this.peek();
      this.at += 1;
      if (c === "\\") {
        if (this.done || (this.peek() !== '"' && this.peek() !== "\\")) this.fail();
        value += this.peek();
        this.at += 1;
      } else if (c === '"') {
        return { kind: "string", value };
      } else if (c < " " || c > "~") {
        this.fail();
      } else {
        value += c;
      }
    }
    return this.fail();
  }

  token() {
    const start = this.at;
    this.at += 1;
    while (!this.done && /[!#$%&'*+\-.^_`|~0-9A-Za-z:/]/.test(this.peek())) this.at += 1;
    return { kind: "token", value: this.text.slice(start, this.at) };
  }

  bytes() {
    const end = this.text.indexOf(":", this.at + 1);
    if (end < 0) this.fail();
    const encoded = this.text.slice(this.at + 1, end);
    if (!/^[A-Za-z0-9+/=]*$/.test(encoded)) this.fail();
    this.at = end + 1;
    return { kind: "bytes", value: encoded };
  }

  boolean() {
    const c = this.text[this.at + 1];
    if (c !== "0" && c !== "1") this.fail();
    this.at += 2;
    return { kind: "boolean", value: c === "1" };
  }
}

export function parseDictionary(text) {
  const parser = new Parser(String(text));
  try {
    parser.skip(" ");
    const members = parser.dictionary();
    parser.skip(" ");
    return parser.done ? members : null;
  } catch (error) {
    if (error instanceof SyntaxError) return null;
    throw error;
  }
}
