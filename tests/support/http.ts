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
