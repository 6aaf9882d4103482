import { uniqueName } from "@meridian/service-kit/testing";

export interface HttpResult<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** A small JSON client over Node's fetch: the body is parsed when it is JSON. */
export async function http<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; rawBody?: string; headers?: Record<string, string>; token?: string } = {},
): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined) headers["content-type"] ??= "application/json";
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : options.rawBody !== undefined ? { body: options.rawBody } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, body: body as T, text };
}

export function newUser(password = "Sturdy-Passw0rd!") {
  const username = uniqueName("e2e").replace(/-/g, "_").slice(0, 32);
  return { username, email: `${username}@example.com`, password };
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
}

/** Register a new user through the gateway and log in: the start of most end-to-end tests. */
export async function signUp(base: string) {
  const user = newUser();
  const registered = await http(base, "POST", "/api/v1/auth/register", { body: user });
  if (registered.status !== 201) throw new Error(`register answered ${registered.status}: ${registered.text}`);
  const login = await http<TokenPair>(base, "POST", "/api/v1/auth/login", { body: { username: user.username, password: user.password } });
  if (login.status !== 200) throw new Error(`login answered ${login.status}: ${login.text}`);
  return { user, id: registered.body.id as string, username: user.username, token: login.body.access_token, tokens: login.body };
}

/** Create an agent through the gateway (a unique name unless the body has one); 201 or it throws. */
export async function createAgentVia<T = Record<string, unknown>>(base: string, token: string, body: Record<string, unknown>): Promise<T> {
  const res = await http<T>(base, "POST", "/api/v1/agents", { token, body: { name: uniqueName("agent").toLowerCase(), ...body } });
  if (res.status !== 201) throw new Error(`create agent answered ${res.status}: ${res.text}`);
  return res.body;
}
