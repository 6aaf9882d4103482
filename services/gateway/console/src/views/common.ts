import { ApiError } from "../api.js";
import { h, replace } from "../dom.js";

/** A polite status line for a form or a page: errors are announced, successes too. */
export type StatusLine = HTMLElement & { ok(text: string): void; fail(err: unknown): void; clear(): void };
export function statusLine(): StatusLine {
  const el = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const set = (cls: string, text: string) => {
    el.className = `status ${cls}`.trim();
    el.textContent = text;
  };
  return Object.assign(el, {
    ok: (text: string) => set("ok", text),
    fail: (err: unknown) => set("error", errorText(err)),
    clear: () => set("", ""),
  });
}

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Run an async submit with the button disabled and the outcome in the status line. */
export function busy(button: HTMLButtonElement, work: () => Promise<void>, status: StatusLine): void {
  button.disabled = true;
  status.clear();
  work()
    .catch((err: unknown) => status.fail(err))
    .finally(() => {
      button.disabled = false;
    });
}

export function pageHeader(title: string, ...actions: Array<Node | null>): HTMLElement {
  return h("div", { class: "page-head" }, h("h1", {}, title), h("div", { class: "actions" }, actions));
}

export function loading(container: HTMLElement, text = "Loading…"): void {
  replace(container, h("p", { class: "muted", role: "status" }, text));
}

export function statusBadge(status: string): HTMLElement {
  return h("span", { class: `badge s-${status}` }, status.replace("_", " "));
}

export function pager(total: number, limit: number, offset: number, go: (offset: number) => void): HTMLElement {
  const page = Math.floor(offset / limit) + 1;
  const pages = Math.max(1, Math.ceil(total / limit));
  return h(
    "nav",
    { class: "pager", "aria-label": "Pagination" },
    h("button", { type: "button", disabled: offset <= 0, onclick: () => go(Math.max(0, offset - limit)) }, "Previous"),
    h("span", { "aria-live": "polite" }, `Page ${page} of ${pages} · ${total} in all`),
    h("button", { type: "button", disabled: offset + limit >= total, onclick: () => go(offset + limit) }, "Next"),
  );
}
