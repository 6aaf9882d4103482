import { once } from "node:events";
import http from "node:http";
import { BlockList, type AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import type { AgentConfig, AgentRuntime, AgentView } from "@meridian/contracts";
import { builtInRuntimes } from "../src/runtimes/index.js";
import { echoRuntime } from "../src/runtimes/echo.runtime.js";
import { httpRuntime } from "../src/runtimes/http.runtime.js";
import { RuntimeError, type RunContext } from "../src/runtimes/runtime.js";
import { sleepRuntime } from "../src/runtimes/sleep.runtime.js";
import { AllowList, assertAllowedTarget, guardedLookup, isBlockedAddress } from "../src/runtimes/url-guard.js";

function agent(runtime: AgentRuntime, config: AgentConfig): AgentView {
  return {
    id: randomUUID(),
    name: `agent-${randomUUID().slice(0, 8)}`,
    description: null,
    runtime,
    config,
    timeout_ms: 60_000,
    max_attempts: 3,
    backoff_ms: [1000],
    concurrency: 1,
    enabled: true,
    visibility: "private",
    owner_id: randomUUID(),
    owner_username: "ada",
    created_at: new Date().toISOString(),
    updated_at: new Date().toISOString(),
    version: 1,
  };
}

type TestContext = RunContext & { progressed: number[]; logs: string[]; controller: AbortController };

function runContext(view: AgentView, input: unknown, extra: Partial<RunContext> = {}): TestContext {
  const controller = new AbortController();
  const progressed: number[] = [];
  const logs: string[] = [];
  return {
    taskId: randomUUID(),
    attempt: 1,
    agent: view,
    input,
    signal: controller.signal,
    progress: (fraction) => progressed.push(fraction),
    log: (message) => logs.push(message),
    ...extra,
    progressed,
    logs,
    controller,
  };
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  return expect.fail("expected a rejection");
}

async function runtimeErrorOf(promise: Promise<unknown>): Promise<RuntimeError> {
  const err = await rejectionOf(promise);
  expect(err).to.be.instanceOf(RuntimeError);
  return err as RuntimeError;
}

function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
}

describe("echo runtime", () => {
  it("when given an input, then it answers the same value", async () => {
    const input = { city: "Oslo", days: [1, 2] };
    expect(await echoRuntime(runContext(agent("echo", {}), input))).to.equal(input);
  });
});

describe("sleep runtime", () => {
  it("when asked to sleep, then it reports progress at least every tenth and answers slept_ms", async () => {
    const ctx = runContext(agent("sleep", {}), { ms: 500 });
    expect(await sleepRuntime(ctx)).to.deep.equal({ slept_ms: 500 });
    expect(ctx.progressed.length).to.be.at.least(9);
    expect(ctx.progressed.at(-1)).to.equal(1);
    for (let i = 1; i < ctx.progressed.length; i++) expect(ctx.progressed[i]).to.be.at.least(ctx.progressed[i - 1]!);
  });

  it("when the input has no ms, then the agent's configured ms is used", async () => {
    expect(await sleepRuntime(runContext(agent("sleep", { ms: 5 }), { other: true }))).to.deep.equal({ slept_ms: 5 });
  });

  it("when the input ms is out of range, then the configured ms is used and a warning logged", async () => {
    const ctx = runContext(agent("sleep", { ms: 5 }), { ms: 10_000_000 });
    expect(await sleepRuntime(ctx)).to.deep.equal({ slept_ms: 5 });
    expect(ctx.logs.join("\n")).to.contain("ignoring input.ms");
  });

  it("when the signal aborts mid-sleep, then it rejects at once with the reason and leaves no timer", async () => {
    await new Promise(setImmediate); // so mocha's own timeout timer is counted in both
    const timersBefore = activeTimers();
    const reason = new Error("cancelled by test");
    const ctx = runContext(agent("sleep", {}), { ms: 60_000 });
    const started = Date.now();
    const sleeping = sleepRuntime(ctx);
    setTimeout(() => ctx.controller.abort(reason), 20);
    expect(await rejectionOf(sleeping)).to.equal(reason);
    expect(Date.now() - started).to.be.below(1000);
    await new Promise(setImmediate); // let the trigger's own timer finish
    expect(activeTimers()).to.equal(timersBefore);
  });

  it("when the signal is already aborted, then it rejects without sleeping", async () => {
    const ctx = runContext(agent("sleep", {}), { ms: 60_000 });
    ctx.controller.abort(new Error("gone"));
    expect(((await rejectionOf(sleepRuntime(ctx))) as Error).message).to.equal("gone");
  });

  it("when the input asks to fail, then it throws a retryable RuntimeError after sleeping", async () => {
    const err = await runtimeErrorOf(sleepRuntime(runContext(agent("sleep", {}), { ms: 0, fail: true })));
    expect(err.message).to.equal("asked to fail");
    expect(err.retryable).to.equal(true);
  });

  it("when the input asks to fail with retryable false, then the RuntimeError is not retryable", async () => {
    const err = await runtimeErrorOf(sleepRuntime(runContext(agent("sleep", {}), { ms: 0, fail: true, retryable: false })));
    expect(err.retryable).to.equal(false);
  });
});

describe("isBlockedAddress", () => {
  const blocked = {
    loopback: ["127.0.0.1", "127.255.255.254", "::1", "0:0:0:0:0:0:0:1"],
    private: ["10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255", "192.168.1.1", "fc00::1", "fd12:3456::1"],
    "link-local": ["169.254.169.254", "169.254.0.1", "fe80::1", "febf::1", "fe80::1%eth0"],
    unspecified: ["0.0.0.0", "::", "0.1.2.3"],
    "carrier-grade NAT": ["100.64.0.1", "100.127.255.255"],
    multicast: ["224.0.0.1", "239.255.255.250", "ff02::1"],
    reserved: ["240.0.0.1", "255.255.255.255", "100::1"],
    documentation: ["192.0.2.1", "192.0.2.255", "198.51.100.7", "203.0.113.200", "2001:db8::1", "2001:db8:ffff::1", "3fff::1", "::ffff:192.0.2.2"],
    benchmarking: ["198.18.0.1", "198.19.255.255", "2001:2::1"],
    "special-purpose IPv4": ["192.0.0.8", "192.0.0.170", "192.31.196.1", "192.52.193.1", "192.88.99.1", "192.175.48.1"],
    "special-purpose IPv6": ["2001:1::1", "2001:3::1", "2001:10::1", "2001:20::1", "64:ff9b:1::a00:1", "2620:4f:8000::1", "5f00::1", "100:0:0:1::1"],
    "6to4 and Teredo": ["2002:c000:0204::1", "2002:0808:0808::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001::1"],
    "NAT64 with a special-purpose IPv4 inside": ["64:ff9b::c000:202", "64:ff9b::198.51.100.1", "64:ff9b::100.64.0.1"],
    "IPv4-mapped IPv6": ["::ffff:127.0.0.1", "::ffff:7f00:1", "0:0:0:0:0:ffff:7f00:1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
      "::ffff:192.168.0.1", "::ffff:100.64.0.1", "::ffff:0.0.0.0", "::FFFF:A9FE:A9FE"],
    "IPv4-translated and NAT64 IPv6": ["::ffff:0:127.0.0.1", "64:ff9b::127.0.0.1", "64:ff9b::a9fe:a9fe"],
    "not an IP address": ["localhost", "", "127.0.0.1.example.com"],
  };
  for (const [range, addresses] of Object.entries(blocked)) {
    it(`when the address is ${range}, then it is blocked`, () => {
      for (const address of addresses) expect(isBlockedAddress(address), address).to.equal(true);
    });
  }

  it("when the address belongs to one of this host's interfaces, then it is blocked, in any form", () => {
    const host = new BlockList();
    host.addAddress("8.8.4.4", "ipv4");
    host.addAddress("2606:4700::1111", "ipv6");
    for (const address of ["8.8.4.4", "::ffff:8.8.4.4", "64:ff9b::808:404", "2606:4700:0:0:0:0:0:1111"]) {
      expect(isBlockedAddress(address, host), address).to.equal(true);
    }
    expect(isBlockedAddress("8.8.8.8", host)).to.equal(false);
  });

  it("when nothing is injected, then the addresses of this machine's own interfaces are blocked", () => {
    const own = Object.values(networkInterfaces()).flat().filter((i) => i !== undefined);
    expect(own.length).to.be.greaterThan(0);
    for (const entry of own) expect(isBlockedAddress(entry.address), entry.address).to.equal(true);
  });

  it("when the address is public, then it is not blocked", () => {
    for (const address of ["8.8.8.8", "1.1.1.1", "172.32.0.1", "172.15.255.255", "100.128.0.1", "192.169.0.1", "169.255.0.1",
      "11.0.0.1", "2606:4700:4700::1111", "2001:4860:4860::8888", "::ffff:8.8.8.8", "64:ff9b::808:808"]) {
      expect(isBlockedAddress(address), address).to.equal(false);
    }
  });
});

describe("allow-list and target guard", () => {
  it("when an allow-list entry is malformed, then parsing throws naming it", () => {
    for (const entry of ["http://x", "10.0.0.0/33", "host:99999", "bad host"]) {
      expect(() => AllowList.parse([entry]), entry).to.throw(entry);
    }
  });

  it("when entries are hostnames, host:port or CIDRs, then they permit exactly what they name", () => {
    const list = AllowList.parse(["localhost", "127.0.0.1:8080", "10.0.0.0/8", "[::1]:9000", "fd00::/8"]);
    expect(list.permits("localhost", 1234, "127.0.0.1")).to.equal(true);
    expect(list.permits("other.test", 8080, "127.0.0.1")).to.equal(true);
    expect(list.permits("other.test", 8081, "127.0.0.1")).to.equal(false);
    expect(list.permits("x", 80, "10.1.2.3")).to.equal(true);
    expect(list.permits("x", 80, "::ffff:10.1.2.3")).to.equal(true);
    expect(list.permits("x", 9000, "::1")).to.equal(true);
    expect(list.permits("x", 9001, "::1")).to.equal(false);
    expect(list.permits("x", 80, "fd00::5")).to.equal(true);
    expect(list.permits("x", 80, "192.168.0.1")).to.equal(false);
  });

  it("when the scheme is not http or https, then the target is refused for good", async () => {
    const err = await runtimeErrorOf(assertAllowedTarget(new URL("ftp://x/file"), []));
    expect(err.retryable).to.equal(false);
    expect(err.message).to.contain("only http and https");
  });

  it("when the host is a public literal IP, then the target is allowed without DNS", async () => {
    await assertAllowedTarget(new URL("https://93.184.215.14/path"), []);
  });

  it("when localhost is not allowed, then the target is refused as loopback", async () => {
    const err = await runtimeErrorOf(assertAllowedTarget(new URL("http://localhost:8080/"), []));
    expect(err.retryable).to.equal(false);
    expect(err.message).to.contain("loopback");
    expect(err.code).to.equal("SSRF_BLOCKED");
    await assertAllowedTarget(new URL("http://localhost:8080/"), ["localhost"]);
  });

  it("when the connection-time lookup resolves a blocked address, then it fails the connection", async () => {
    const url = new URL("http://localhost:8080/");
    const lookup = guardedLookup(url, []);
    for (const options of [{ all: true }, {}]) {
      const err = await new Promise<unknown>((resolve) => lookup("localhost", options, (e) => resolve(e)));
      expect(err, JSON.stringify(options)).to.be.instanceOf(RuntimeError);
    }
    const allowed = guardedLookup(url, ["localhost"]);
    const address = await new Promise<unknown>((resolve, reject) => allowed("localhost", {}, (e, a) => (e ? reject(e) : resolve(a))));
    expect(isBlockedAddress(address as string)).to.equal(true);
  });
});

describe("http runtime", () => {
  interface Received { path: string; headers: http.IncomingHttpHeaders; body: string }
  const received = new Map<string, Received[]>();
  const hanging = new Map<string, () => void>();
  let server: http.Server;
  let port: number;
  let base: string;
  const allowed = httpRuntime({ allowList: ["127.0.0.1"] });

  before(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const taskId = String(req.headers["meridian-task-id"]);
        const entry = { path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
        received.set(taskId, [...(received.get(taskId) ?? []), entry]);
        const json = (status: number, value: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
        switch (req.url) {
          case "/ok": return json(200, { ok: true, echoed: JSON.parse(entry.body) });
          case "/empty": return res.writeHead(204).end();
          case "/boom": return json(500, { error: "boom" });
          case "/busy": return res.writeHead(429, { "retry-after": "3" }).end();
          case "/missing": return json(404, { error: "no such thing" });
          case "/redirect": return res.writeHead(302, { location: "/ok" }).end();
          case "/text": return res.writeHead(200, { "content-type": "text/plain" }).end("hello, not json");
          case "/big": {
            res.writeHead(200, { "content-type": "application/json" });
            for (let i = 0; i < 8; i++) res.write(`"${"x".repeat(1022)}"`);
            return res.end();
          }
          case "/reset": return req.socket.destroy();
          case "/hang": return hanging.get(taskId)?.();
          default: return json(418, {});
        }
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    port = (server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, "close");
  });

  function httpContext(url: string, input: unknown = { q: 1 }, headers?: Record<string, string>, extra: Partial<RunContext> = {}) {
    return runContext(agent("http", { url, headers }), input, extra);
  }

  it("when the agent answers 200 with JSON, then the parsed body is the result and the call is logged once", async () => {
    const ctx = httpContext(`${base}/ok`, { city: "Oslo" });
    const result = await allowed(ctx);
    expect(result).to.deep.equal({ ok: true, echoed: { task_id: ctx.taskId, attempt: 1, agent: ctx.agent.name, input: { city: "Oslo" } } });
    expect(ctx.logs).to.have.length(1);
    expect(ctx.logs[0]).to.match(/answered 200 in \d+ ms/);
  });

  it("when calling, then the task, attempt, correlation and agent headers are sent and no header value is logged", async () => {
    const ctx = httpContext(`${base}/ok`, {}, { Authorization: "Bearer s3cret-token", "X-Team": "forecast", "Meridian-Task-Id": "spoofed" },
      { attempt: 3, correlationId: "corr-123" });
    await allowed(ctx);
    const [request] = received.get(ctx.taskId) ?? [];
    expect(request?.headers).to.include({
      "meridian-task-id": ctx.taskId,
      "meridian-attempt": "3",
      "meridian-correlation-id": "corr-123",
      "x-team": "forecast",
      authorization: "Bearer s3cret-token",
      "content-type": "application/json",
    });
    expect(ctx.logs.join("\n")).not.to.contain("s3cret").and.not.to.contain("forecast");
  });

  it("when the allow-list is a CIDR, then the local agent is called", async () => {
    const runtime = httpRuntime({ allowList: ["127.0.0.0/8"] });
    expect(await runtime(httpContext(`${base}/ok`))).to.have.property("ok", true);
  });

  it("when the allow-list names host:port of another port, then the local agent is refused", async () => {
    const runtime = httpRuntime({ allowList: [`127.0.0.1:${port === 1 ? 2 : 1}`] });
    expect((await runtimeErrorOf(runtime(httpContext(`${base}/ok`)))).retryable).to.equal(false);
  });

  it("when the allow-list names localhost, then http://localhost is called", async () => {
    const runtime = httpRuntime({ allowList: ["localhost"] });
    expect(await runtime(httpContext(`http://localhost:${port}/ok`))).to.have.property("ok", true);
  });

  it("when the agent answers 204, then the result is null", async () => {
    expect(await allowed(httpContext(`${base}/empty`))).to.equal(null);
  });

  it("when the agent answers 500, then the error is retryable with the status", async () => {
    const err = await runtimeErrorOf(allowed(httpContext(`${base}/boom`)));
    expect(err.retryable).to.equal(true);
    expect(err.detail).to.include({ status: 500 });
  });

  it("when the agent answers 429, then the error is retryable with retry-after", async () => {
    const err = await runtimeErrorOf(allowed(httpContext(`${base}/busy`)));
    expect(err.retryable).to.equal(true);
    expect(err.detail).to.include({ status: 429, retry_after: "3" });
  });

  it("when the agent answers 404, then the error is not retryable and names the status", async () => {
    const ctx = httpContext(`${base}/missing`);
    const err = await runtimeErrorOf(allowed(ctx));
    expect(err.retryable).to.equal(false);
    expect(err.detail).to.include({ status: 404 });
    expect(ctx.logs).to.have.length(1);
    expect(ctx.logs[0]).to.contain("answered 404");
  });

  it("when the agent redirects, then the call is refused without following", async () => {
    const ctx = httpContext(`${base}/redirect`);
    const err = await runtimeErrorOf(allowed(ctx));
    expect(err.retryable).to.equal(false);
    expect(err.message).to.contain("302");
    expect(received.get(ctx.taskId)?.map((r) => r.path)).to.deep.equal(["/redirect"]);
  });

  it("when the answer exceeds the size cap, then the call fails for good", async () => {
    const runtime = httpRuntime({ allowList: ["127.0.0.1"], maxResponseBytes: 4096 });
    const err = await runtimeErrorOf(runtime(httpContext(`${base}/big`)));
    expect(err.retryable).to.equal(false);
    expect(err.message).to.contain("exceeds 4096 bytes");
  });

  it("when a 200 answer is not JSON, then the call fails for good", async () => {
    const err = await runtimeErrorOf(allowed(httpContext(`${base}/text`)));
    expect(err.retryable).to.equal(false);
    expect(err.message).to.contain("not JSON");
  });

  it("when the agent drops the connection, then the error is retryable", async () => {
    const err = await runtimeErrorOf(allowed(httpContext(`${base}/reset`)));
    expect(err.retryable).to.equal(true);
  });

  it("when the signal aborts mid-request, then the call rejects at once with the reason", async () => {
    const ctx = httpContext(`${base}/hang`);
    const reason = new Error("timed out by test");
    hanging.set(ctx.taskId, () => ctx.controller.abort(reason));
    const started = Date.now();
    expect(await rejectionOf(allowed(ctx))).to.equal(reason);
    expect(Date.now() - started).to.be.below(2000);
    expect(ctx.logs[0]).to.contain("got no answer");
  });

  describe("with an empty allow-list", () => {
    const guarded = builtInRuntimes({ httpAllowList: [] }).http!;

    const refused: [string, () => string, string][] = [
      ["the local server by IP", () => `${base}/ok`, "loopback"],
      ["http://localhost", () => `http://localhost:${port}/ok`, "loopback"],
      ["http://[::1]", () => `http://[::1]:${port}/ok`, "loopback"],
      ["http://[::ffff:127.0.0.1]", () => `http://[::ffff:127.0.0.1]:${port}/ok`, "loopback"],
      ["the cloud metadata address", () => "http://169.254.169.254/latest/meta-data/", "link-local"],
      ["an ftp URL", () => "ftp://x/", "only http and https"],
    ];
    for (const [what, url, reason] of refused) {
      it(`when the target is ${what}, then it is refused for good before any request`, async () => {
        const ctx = httpContext(url());
        const err = await runtimeErrorOf(guarded(ctx));
        expect(err.retryable).to.equal(false);
        expect(err.message).to.contain(reason);
        expect(received.has(ctx.taskId)).to.equal(false);
      });
    }
  });
});
