import { expect } from "chai";
import * as net from "node:net";
import { gzipSync, deflateSync } from "node:zlib";
import { http, signUp, createAgentVia, type HttpResult } from "../support/http.js";
import { Stack } from "../support/stack.js";

const ENVELOPE = ["error", "code", "detail", "correlation_id"];

/** One request written byte for byte on a socket, for what fetch refuses to send; the server closes after it. */
async function rawExchange(port: number, request: string | Buffer): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const split = text.indexOf("\r\n\r\n");
      const head = split >= 0 ? text.slice(0, split) : text;
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body: split >= 0 ? text.slice(split + 4) : "" });
    });
    socket.write(request);
  });
}

function expectEnvelope(res: { status: number; body: unknown; text?: string }, status: number, code?: string): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(status);
  expect(res.body).to.be.an("object").that.has.all.keys(ENVELOPE);
  if (code) expect((res.body as { code: string }).code).to.equal(code);
}

const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

describe("e2e: the gateway edge under attack", function () {
  this.timeout(120_000);
  const stack = new Stack();
  const loose = { RATE_LIMIT_AUTH_MAX: "100000", RATE_LIMIT_DEFAULT_MAX: "100000", RATE_LIMIT_TASKS_MAX: "100000" };
  let token: string;
  let agent: string;
  const call = (method: string, path: string, options?: Parameters<typeof http>[3]) => http(stack.gatewayUrl, method, path, options);
  const port = () => Number(new URL(stack.gatewayUrl).port);

  before(async function () {
    this.timeout(120_000);
    await stack.start({ agentRegistry: true, executors: 1, gatewayEnv: loose });
    token = (await signUp(stack.gatewayUrl)).token;
    agent = (await createAgentVia<{ name: string }>(stack.gatewayUrl, token, { runtime: "echo" })).name;
  });
  after(() => stack.stop());

  describe("deep nesting", () => {
    it("when a body is nested thousands of levels deep, then 422 in the envelope and the gateway keeps serving", async () => {
      for (const path of ["/api/v1/auth/login", "/api/v1/tasks", "/api/v1/agents"]) {
        const res = await call("POST", path, { rawBody: nested(4000), token, headers: { "content-type": "application/json" } });
        expectEnvelope(res, 422, "VALIDATION_FAILED");
      }
      for (const depth of [10_000, 4000]) {
        const json = { "content-type": "application/json" };
        expectEnvelope(await call("POST", "/api/v1/tasks", { token, rawBody: `{"agent":"${agent}","input":${nested(depth)}}`, headers: json }), 422, "VALIDATION_FAILED");
        const arrays = `{"tasks":[{"agent":"${agent}","input":${"[".repeat(depth)}1${"]".repeat(depth)}}]}`;
        expectEnvelope(await call("POST", "/api/v1/tasks/batch", { token, rawBody: arrays, headers: json }), 422, "VALIDATION_FAILED");
      }
      expect((await call("GET", "/health")).status).to.equal(200);
    });

    it("when a task input is nested within the limit, then it is accepted", async () => {
      const input = JSON.parse(nested(20)) as unknown;
      const res = await call("POST", "/api/v1/tasks", { token, body: { agent, input } });
      expect(res.status, res.text).to.equal(202);
    });
  });

  describe("NUL and lone surrogates", () => {
    it("when a NUL reaches a string PostgreSQL would store or search, then 422 at the edge", async () => {
      const nul = "bad\u0000value";
      const cases: Array<[string, string, Parameters<typeof http>[3]]> = [
        ["POST", "/api/v1/tasks", { token, body: { agent, input: { text: nul } } }],
        ["POST", "/api/v1/tasks", { token, body: { agent, input: { [nul]: 1 } } }],
        ["POST", "/api/v1/agents", { token, body: { name: `nul-${Date.now()}`, runtime: "echo", description: nul } }],
        ["POST", "/api/v1/auth/api-keys", { token, body: { name: nul } }],
        ["POST", "/api/v1/auth/login", { body: { username: nul, password: "Whatever-1234" } }],
        ["POST", "/api/v1/auth/register", { body: { username: "nul_user", email: "nul@example.com", password: `Sturdy-${nul}-1` } }],
        ["GET", "/api/v1/agents?q=a%00b", { token }],
        ["GET", `/api/v1/agents/${agent}%00`, { token }],
      ];
      for (const [method, path, options] of cases) expectEnvelope(await call(method, path, options), 422, "VALIDATION_FAILED");
    });

    it("when a lone surrogate arrives in a body or a query, then 422", async () => {
      const raw = '{"username":"x\\ud800y","password":"Whatever-1234"}';
      expectEnvelope(await call("POST", "/api/v1/auth/login", { rawBody: raw, headers: { "content-type": "application/json" } }), 422, "VALIDATION_FAILED");
      const inTask = `{"agent":"${agent}","input":{"t":"\\udfff"}}`;
      expectEnvelope(await call("POST", "/api/v1/tasks", { token, rawBody: inTask, headers: { "content-type": "application/json" } }), 422, "VALIDATION_FAILED");
      expectEnvelope(await call("GET", "/api/v1/agents?q=%ED%A0%80", { token }), 422, "VALIDATION_FAILED");
    });

    it("when a path segment is not valid percent-encoding, then 4xx in the envelope", async () => {
      const res = await call("GET", "/api/v1/agents/%E0%A4%A", { token });
      expect(res.status).to.be.within(400, 499);
      expect(res.body).to.have.all.keys(ENVELOPE);
    });

    it("when a pair of surrogates forms a real character, then it is kept", async () => {
      const res = await call("POST", "/api/v1/tasks?wait=10", { token, body: { agent, input: { text: "smile \ud83d\ude00" } } });
      expect(res.status, res.text).to.equal(200);
      expect((res.body as { result?: { text?: string } }).result?.text).to.equal("smile \ud83d\ude00");
    });
  });

  describe("Content-Encoding (identity and gzip, the body limit applied after inflation)", () => {
    const send = (body: Buffer, encoding: string) =>
      fetch(`${stack.gatewayUrl}/api/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json", "content-encoding": encoding }, body: new Uint8Array(body) });
    const asResult = async (r: Response): Promise<HttpResult> => {
      const text = await r.text();
      return { status: r.status, headers: r.headers, text, body: JSON.parse(text) as Record<string, unknown> };
    };
    const login = Buffer.from(JSON.stringify({ username: "nobody-here", password: "Whatever-1234" }));

    it("when gzip is announced but the body is not gzip, then 415", async () => {
      expectEnvelope(await asResult(await send(login, "gzip")), 415, "UNSUPPORTED_MEDIA_TYPE");
      expectEnvelope(await asResult(await send(gzipSync(login).subarray(0, 12), "gzip")), 415, "UNSUPPORTED_MEDIA_TYPE");
    });

    it("when an encoding other than identity or gzip is used, then 415", async () => {
      expectEnvelope(await asResult(await send(deflateSync(login), "deflate")), 415, "UNSUPPORTED_MEDIA_TYPE");
      expectEnvelope(await asResult(await send(login, "br")), 415, "UNSUPPORTED_MEDIA_TYPE");
      expectEnvelope(await asResult(await send(login, "x-made-up")), 415, "UNSUPPORTED_MEDIA_TYPE");
    });

    it("when a valid gzip body arrives, then it is decoded like an identity one", async () => {
      expectEnvelope(await asResult(await send(gzipSync(login), "gzip")), 401, "INVALID_CREDENTIALS");
    });

    it("when a small gzip body inflates past the body limit, then 413", async () => {
      const bomb = gzipSync(Buffer.from(`{"username":"a","password":"${"x".repeat(20_000_000)}"}`));
      expect(bomb.length).to.be.below(100_000);
      expectEnvelope(await asResult(await send(bomb, "gzip")), 413, "PAYLOAD_TOO_LARGE");
    });
  });

  describe("answers from Node's HTTP parser and the router", () => {
    it("when the headers are too large, then 431 in the envelope", async () => {
      const res = await rawExchange(port(), `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(70_000)}\r\n\r\n`);
      expect(res.status).to.equal(431);
      expect(res.head.toLowerCase()).to.contain("content-type: application/json");
      expectEnvelope({ status: res.status, body: JSON.parse(res.body) }, 431);
    });

    it("when the request line is malformed, then 400 in the envelope", async () => {
      for (const line of ["GARBAGE\r\n\r\n", "GET /health HTTP/9.9\r\n\r\n", "GET /he alth HTTP/1.1\r\nHost: x\r\n\r\n", "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcde"]) {
        const res = await rawExchange(port(), line);
        expect(res.status, line).to.equal(400);
        expectEnvelope({ status: res.status, body: JSON.parse(res.body) }, 400, "BAD_REQUEST");
      }
    });

    it("when a known path is called with another method, then 405 with Allow in the envelope", async () => {
      const res = await call("PUT", "/api/v1/auth/login", { body: {} });
      expectEnvelope(res, 405, "METHOD_NOT_ALLOWED");
      expect(res.headers.get("allow")).to.contain("POST");
      const agentRes = await call("PUT", `/api/v1/agents/${agent}`, { token, body: {} });
      expectEnvelope(agentRes, 405, "METHOD_NOT_ALLOWED");
      expect(agentRes.headers.get("allow")).to.contain("GET").and.contain("PATCH").and.contain("DELETE");
    });

    it("when no route has the path, then 404 in the envelope", async () => {
      expectEnvelope(await call("PUT", "/api/v1/not-a-thing"), 404, "NOT_FOUND");
    });
  });

  describe("what a refusal echoes", () => {
    it("when an 8 KB Idempotency-Key is refused, then the answer does not echo it", async () => {
      const key = "K".repeat(8000);
      const res = await call("POST", "/api/v1/tasks", { token, body: { agent, input: {} }, headers: { "idempotency-key": key } });
      expectEnvelope(res, 422, "VALIDATION_FAILED");
      expect(res.text).to.not.contain("K".repeat(65));
      expect(res.text.length).to.be.below(1000);
    });
  });

  describe("no input is a 500", () => {
    /** Deterministic, so a failure can be replayed. */
    function prng(seed: number) {
      return () => ((seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff) / 0x7fffffff);
    }

    it("when a few hundred malformed bodies, queries and headers hit the routes, then never a 5xx and always the envelope", async () => {
      const rand = prng(42);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
      const strings = ["", "\u0000", "a\u0000", "\ud800", "\udfff\ud800", "\uffff", "💥", "%00", "../../etc/passwd", "<script>", "' OR 1=1 --", "x".repeat(5000), "\n\r\t", "null"];
      const values = (): unknown => {
        const r = rand();
        if (r < 0.3) return pick(strings);
        if (r < 0.4) return pick([0, -1, 1e308, -1e308, 2 ** 53 + 1, 0.1, 1e-320]);
        if (r < 0.5) return pick([null, true, false]);
        if (r < 0.6) return [pick(strings), null, {}];
        if (r < 0.7) return JSON.parse(nested(Math.floor(rand() * 80) + 1)) as unknown;
        return { [pick(["__proto__", "constructor", "prototype", "a\u0000b", ""])]: pick(strings) };
      };
      const bodies = (): string => {
        const r = rand();
        if (r < 0.15) return pick(["{", "}", "[", "nul", '{"a":1,}', '{"a":"\\x00"}', '{"a":"\\u12"}', "\u0000", '"just a string"', "123", "[]", "{}{}", nested(5000)]);
        if (r < 0.3) return JSON.stringify(values());
        const obj: Record<string, unknown> = {};
        for (const field of ["username", "email", "password", "name", "runtime", "description", "agent", "input", "config", "scopes", "tasks", "refresh_token"]) {
          if (rand() < 0.4) obj[field] = values();
        }
        if (rand() < 0.2) obj.agent = agent;
        return JSON.stringify(obj);
      };
      const queries = () => pick(["", "?q=%00", "?q=%ED%A0%80", "?q=%", "?q[]=a", "?limit=1e309", "?limit=-1", "?offset=abc", "?q=" + "a".repeat(3000), "?wait=%00", "?runtime=\u0000", "?x=%FF%FE"]);
      const targets: Array<[string, string, boolean]> = [
        ["POST", "/api/v1/auth/login", false],
        ["POST", "/api/v1/auth/register", false],
        ["POST", "/api/v1/auth/refresh", false],
        ["POST", "/api/v1/agents", true],
        ["GET", "/api/v1/agents", true],
        ["GET", `/api/v1/agents/${agent}`, true],
        ["PATCH", "/api/v1/agents/%ED%A0%80", true],
        ["POST", "/api/v1/tasks", true],
        ["POST", "/api/v1/tasks/batch", true],
        ["POST", "/api/v1/auth/api-keys", true],
      ];
      const failures: string[] = [];
      for (let i = 0; i < 300; i++) {
        const [method, path, auth] = pick(targets);
        const body = method === "GET" ? undefined : bodies();
        const headers: Record<string, string> = {};
        if (body !== undefined) headers["content-type"] = pick(["application/json", "application/json", "application/json; charset=utf-16", "text/plain", "application/json; charset=latin1"]);
        if (rand() < 0.2) headers["idempotency-key"] = pick(strings.filter((s) => /^[\x20-\x7e]*$/.test(s)));
        if (rand() < 0.1) headers["content-encoding"] = pick(["gzip", "deflate", "br", "identity", "gzip, gzip", "*"]);
        if (rand() < 0.1) headers["x-correlation-id"] = pick(["", "a".repeat(500), "%00", "ok-id"]);
        const res = await http(stack.gatewayUrl, method, path + queries(), {
          ...(body !== undefined ? { rawBody: body } : {}),
          headers,
          ...(auth ? { token } : {}),
        }).catch((err: Error) => ({ status: 0, text: err.message, body: undefined, headers: new Headers() }));
        const isError = res.status >= 400 || res.status === 0;
        const enveloped = res.body !== null && typeof res.body === "object" && ENVELOPE.every((k) => k in (res.body as object));
        if ((res.status >= 500 && res.status !== 503) || res.status === 0 || (isError && !enveloped)) {
          failures.push(`${method} ${path} ${JSON.stringify(headers)} ${(body ?? "").slice(0, 120)} → ${res.status} ${res.text.slice(0, 160)}`);
        }
      }
      expect(failures, failures.slice(0, 5).join("\n")).to.deep.equal([]);
      expect((await call("GET", "/health")).status).to.equal(200);
    });
  });
});
