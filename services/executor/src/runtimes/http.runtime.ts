import http, { type IncomingHttpHeaders } from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import type { HttpAgentConfig } from "@meridian/contracts";
import { RuntimeError, type Runtime, type RunContext } from "./runtime.js";
import { AllowList, assertAllowedUrl, guardedLookup, targetHost } from "./url-guard.js";
import { AgentRequestHeaders } from "@meridian/contracts";

/** Headers the executor adds to every call to an http agent. */
export { AgentRequestHeaders };

export interface HttpRuntimeOptions {
  /** Hostnames, host:port or CIDRs that may be called although they are loopback, private or link-local. */
  allowList: readonly string[];
  /** Default 1 MiB; a larger answer fails the attempt for good. */
  maxResponseBytes?: number;
  userAgent?: string;
}

const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
const SNIPPET_CHARS = 500;
/** Set by the executor or by node:http; an agent's config cannot override them. */
const RESERVED_HEADERS = new Set(["content-type", "content-length", "host", "connection", "transfer-encoding", "expect",
  ...Object.values(AgentRequestHeaders).map((name) => name.toLowerCase())]);

interface Answer { status: number; headers: IncomingHttpHeaders; body: Buffer }

function targetOf(config: Partial<HttpAgentConfig>): URL {
  try {
    return new URL(config.url ?? "");
  } catch {
    throw new RuntimeError("the agent's config.url is not a valid URL", false);
  }
}

function requestHeaders(ctx: RunContext, config: Partial<HttpAgentConfig>, body: string, userAgent: string): Record<string, string> {
  const headers: Record<string, string> = { accept: "application/json", "user-agent": userAgent };
  for (const [name, value] of Object.entries(config.headers ?? {})) {
    if (!RESERVED_HEADERS.has(name.toLowerCase())) headers[name] = value;
  }
  headers["content-type"] = "application/json";
  headers["content-length"] = String(Buffer.byteLength(body));
  headers[AgentRequestHeaders.taskId] = ctx.taskId;
  headers[AgentRequestHeaders.attempt] = String(ctx.attempt);
  if (ctx.correlationId) headers[AgentRequestHeaders.correlationId] = ctx.correlationId;
  return headers;
}

function connectionError(err: unknown): RuntimeError {
  if (err instanceof RuntimeError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  // A certificate problem or a header node refuses to send will not fix itself on retry.
  const permanent = code !== undefined && (/CERT|^ERR_TLS_|^ERR_SSL_/.test(code) || /^ERR_(INVALID_CHAR|INVALID_HTTP_TOKEN|HTTP_INVALID_HEADER_VALUE)/.test(code));
  return new RuntimeError(`could not call the agent: ${code ?? (err as Error).message}`, !permanent, { code });
}

interface Call { url: URL; headers: Record<string, string>; body: string; lookup: LookupFunction; maxBytes: number; signal: AbortSignal }

/** Sends one request; `onStatus` learns the status as soon as it arrives, for the log line. */
function post({ url, headers, body, lookup, maxBytes, signal }: Call, onStatus: (status: number) => void): Promise<Answer> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    let request: http.ClientRequest;
    try {
      request = (url.protocol === "https:" ? https : http).request({
        protocol: url.protocol,
        hostname: targetHost(url),
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        auth: url.username ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` : undefined,
        method: "POST",
        headers,
        lookup,
        agent: false,
      });
    } catch (err) {
      return reject(connectionError(err));
    }
    let settled = false;
    const settle = (err: unknown, answer?: Answer) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      if (answer) return resolve(answer);
      request.destroy();
      reject(err);
    };
    const onAbort = () => settle(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const tooLarge = () => new RuntimeError(`the agent's answer exceeds ${maxBytes} bytes`, false, { max_bytes: maxBytes });

    request.on("error", (err) => settle(connectionError(err)));
    request.on("response", (response) => {
      const status = response.statusCode ?? 0;
      onStatus(status);
      if (status >= 300 && status < 400) {
        return settle(new RuntimeError(`the agent answered ${status}, a redirect, which the executor does not follow`, false, {
          status, location: response.headers.location?.slice(0, SNIPPET_CHARS),
        }));
      }
      if (Number(response.headers["content-length"]) > maxBytes) return settle(tooLarge());
      const chunks: Buffer[] = [];
      let size = 0;
      response.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) settle(tooLarge());
        else chunks.push(chunk);
      });
      response.on("error", (err) => settle(connectionError(err)));
      response.on("end", () => settle(undefined, { status, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    request.end(body);
  });
}

function resultOf({ status, headers, body }: Answer): unknown {
  if (status >= 200 && status < 300) {
    if (body.length === 0) return null;
    try {
      return JSON.parse(body.toString("utf8"));
    } catch {
      throw new RuntimeError(`the agent answered ${status} with a body that is not JSON`, false, {
        status, content_type: headers["content-type"],
      });
    }
  }
  const detail = { status, body: body.toString("utf8", 0, SNIPPET_CHARS), retry_after: headers["retry-after"] };
  if (status === 429 || status >= 500) throw new RuntimeError(`the agent answered ${status}`, true, detail);
  throw new RuntimeError(`the agent answered ${status}`, false, detail);
}

/**
 * POSTs `{ task_id, attempt, agent, input }` as JSON to the agent's `config.url` and resolves its JSON answer.
 * Blocked addresses are refused at connection time (see url-guard); redirects are never followed.
 */
export function httpRuntime(options: HttpRuntimeOptions): Runtime {
  const allowList = AllowList.parse(options.allowList);
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new Error("maxResponseBytes must be a positive integer");
  const userAgent = options.userAgent ?? "meridian-executor";

  return async (ctx) => {
    const config = ctx.agent.config as Partial<HttpAgentConfig>;
    const url = targetOf(config);
    const target = `${url.protocol}//${url.host}${url.pathname}`;
    const started = performance.now();
    let status: number | undefined;
    let failure: unknown;
    try {
      assertAllowedUrl(url, allowList);
      const body = JSON.stringify({ task_id: ctx.taskId, attempt: ctx.attempt, agent: ctx.agent.name, input: ctx.input });
      const headers = requestHeaders(ctx, config, body, userAgent);
      const call = { url, headers, body, lookup: guardedLookup(url, allowList), maxBytes, signal: ctx.signal };
      return resultOf(await post(call, (received) => (status = received)));
    } catch (err) {
      failure = err;
      throw err;
    } finally {
      const outcome = status === undefined ? "got no answer" : `answered ${status}`;
      const reason = failure === undefined ? "" : `: ${failure instanceof Error ? failure.message : String(failure)}`;
      ctx.log(`POST ${target} ${outcome} in ${Math.round(performance.now() - started)} ms${reason}`, failure === undefined ? "info" : "warn");
    }
  };
}
