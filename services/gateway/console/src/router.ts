export const BASE = "/console";
export type Params = Record<string, string>;
export type View = (main: HTMLElement, params: Params, search: URLSearchParams) => void | (() => void);
interface Route { pattern: RegExp; keys: string[]; view: View; title: string; public?: boolean }

const routes: Route[] = [];
export function route(path: string, title: string, view: View, options: { public?: boolean } = {}): void {
  const keys: string[] = [];
  const pattern = new RegExp(`^${path.replace(/:(\w+)/g, (_, k: string) => (keys.push(k), "([^/]+)"))}/?$`);
  routes.push({ pattern, keys, view, title, public: options.public });
}

export function match(pathname: string): { route: Route; params: Params } | null {
  const rel = pathname.startsWith(BASE) ? pathname.slice(BASE.length) || "/" : pathname;
  for (const r of routes) {
    const m = r.pattern.exec(rel);
    if (m) return { route: r, params: Object.fromEntries(r.keys.map((k, i) => [k, decodeURIComponent(m[i + 1]!)])) };
  }
  return null;
}

let onNavigate: () => void = () => undefined;
export function setNavigateHandler(fn: () => void): void {
  onNavigate = fn;
}

/** `to` is relative to the console ("/agents"); query strings are kept. */
export function navigate(to: string, replace = false): void {
  const url = to.startsWith(BASE) ? to : `${BASE}${to}`;
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  onNavigate();
}

export const href = (to: string) => `${BASE}${to}`;
