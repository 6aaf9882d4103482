import type { TokenPair, UserView } from "@meridian/contracts";

/** The error envelope of the gateway, kept whole so views can show `detail` problems. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: unknown,
  ) {
    super(describe(status, code, detail));
  }
}

function describe(status: number, code: string, detail: unknown): string {
  if (Array.isArray(detail)) return detail.map((p: { path?: string; message?: string }) => p.message ?? String(p)).join("; ");
  if (typeof detail === "string" && detail) return detail;
  return `${code || "ERROR"} (${status})`;
}

const STORE_KEY = "meridian.session";
interface Stored { access_token: string; refresh_token: string }

/** The signed-in session: tokens in sessionStorage (this tab only), the user once /me answered. */
export const session = {
  tokens: load(),
  user: null as UserView | null,
  listeners: new Set<() => void>(),
  get signedIn() {
    return this.tokens !== null;
  },
  get isAdmin() {
    return this.user?.roles.includes("admin") ?? false;
  },
  set(pair: TokenPair | null) {
    this.tokens = pair ? { access_token: pair.access_token, refresh_token: pair.refresh_token } : null;
    if (this.tokens) sessionStorage.setItem(STORE_KEY, JSON.stringify(this.tokens));
    else {
      sessionStorage.removeItem(STORE_KEY);
      this.user = null;
    }
    this.listeners.forEach((l) => l());
  },
};

function load(): Stored | null {
  try {
    const raw = sessionStorage.getItem(STORE_KEY);
    return raw ? (JSON.parse(raw) as Stored) : null;
  } catch {
    return null;
  }
}

let refreshing: Promise<boolean> | null = null;
/** One refresh at a time; a refused refresh ends the session. */
export function refresh(): Promise<boolean> {
  const rt = session.tokens?.refresh_token;
  if (!rt) return Promise.resolve(false);
  refreshing ??= fetch("/api/v1/auth/refresh", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refresh_token: rt }),
  })
    .then(async (res) => {
      if (!res.ok) {
        session.set(null);
        return false;
      }
      session.set((await res.json()) as TokenPair);
      return true;
    })
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

export async function api<T>(method: string, path: string, body?: unknown, retried = false): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (session.tokens) headers.authorization = `Bearer ${session.tokens.access_token}`;
  const res = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401 && session.tokens && !retried && !path.startsWith("/auth/login")) {
    if (await refresh()) return api<T>(method, path, body, true);
  }
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    const env = (json ?? {}) as { code?: string; detail?: unknown; error?: string };
    throw new ApiError(res.status, env.code ?? "", env.detail ?? env.error ?? text);
  }
  return json as T;
}

export const query = (params: Record<string, string | number | undefined>) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
};

export async function signIn(login: string, password: string): Promise<void> {
  const body = login.includes("@") ? { email: login, password } : { username: login, password };
  session.set(await api<TokenPair>("POST", "/auth/login", body));
  await loadMe();
}

export async function loadMe(): Promise<UserView | null> {
  if (!session.tokens) return null;
  session.user = await api<UserView>("GET", "/auth/me");
  session.listeners.forEach((l) => l());
  return session.user;
}

export async function signOut(): Promise<void> {
  try {
    if (session.tokens) await api("POST", "/auth/logout");
  } catch {
    /* the session ends here either way */
  }
  session.set(null);
}
