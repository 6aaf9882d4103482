import type { AgentList, AgentView } from "@meridian/contracts";
import { api, query, session } from "../api.js";
import { field, fmtDate, formValues, h, replace, select } from "../dom.js";
import { href, navigate, type View } from "../router.js";
import { busy, errorText, loading, pageHeader, pager, statusLine } from "./common.js";

const RUNTIMES = ["echo", "sleep", "http"];
const LIMIT = 20;

export const agentsView: View = (main, _params, search) => {
  const status = statusLine();
  const results = h("div", { class: "results" });
  const filters = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter agents" },
    field("Search", h("input", { name: "q", type: "search", value: search.get("q") ?? "" })),
    field("Runtime", select("runtime", [["", "any"], ...RUNTIMES.map((r): [string, string] => [r, r]), ["sdk", "sdk"]], search.get("runtime") ?? "")),
    field("State", select("enabled", [["", "any"], ["true", "enabled"], ["false", "disabled"]], search.get("enabled") ?? "")),
    field("Owner", select("owner", [["", "anyone"], ["me", "me"]], search.get("owner") ?? "")),
    h("button", { type: "submit" }, "Filter"),
  );
  filters.addEventListener("submit", (e) => {
    e.preventDefault();
    const v = formValues(filters);
    navigate(`/agents${query({ q: v.q?.trim(), runtime: v.runtime, enabled: v.enabled, owner: v.owner })}`, true);
  });
  main.append(pageHeader("Agents", h("a", { class: "button primary", href: href("/agents/new") }, "New agent")), filters, status, results);

  const load = async (offset: number) => {
    loading(results);
    try {
      const page = await api<AgentList>(
        "GET",
        `/agents${query({ q: search.get("q") ?? undefined, runtime: search.get("runtime") ?? undefined, enabled: search.get("enabled") ?? undefined, owner: search.get("owner") === "me" ? session.user?.id : undefined, limit: LIMIT, offset })}`,
      );
      if (page.items.length === 0) return replace(results, h("p", { class: "muted" }, "No agents yet. ", h("a", { href: href("/agents/new") }, "Create one")));
      replace(
        results,
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            {},
            h("caption", { class: "sr-only" }, "Agents"),
            h("thead", {}, h("tr", {}, ["Name", "Runtime", "Visibility", "State", "Owner", "Version", "Updated", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
            h("tbody", {}, page.items.map((a) => row(a))),
          ),
        ),
        pager(page.total, LIMIT, offset, (o) => void load(o)),
      );
    } catch (err) {
      replace(results, h("p", { class: "status error", role: "alert" }, errorText(err)));
    }
  };

  function row(a: AgentView): HTMLElement {
    const mine = a.owner_id === session.user?.id || session.isAdmin;
    const toggle = h("button", { type: "button", class: "small" }, a.enabled ? "Disable" : "Enable");
    toggle.setAttribute("aria-label", `${a.enabled ? "Disable" : "Enable"} ${a.name}`);
    toggle.addEventListener("click", () =>
      busy(toggle, async () => {
        const updated = await api<AgentView>("PATCH", `/agents/${encodeURIComponent(a.name)}`, { enabled: !a.enabled });
        tr.replaceWith(row(updated));
        status.ok(`${updated.name} is now ${updated.enabled ? "enabled" : "disabled"}.`);
      }, status),
    );
    const tr = h(
      "tr",
      { "data-agent": a.name },
      h("th", { scope: "row" }, mine ? h("a", { href: href(`/agents/${a.name}`) }, a.name) : a.name, a.description ? h("div", { class: "muted small" }, a.description) : null),
      h("td", { "data-label": "Runtime" }, a.runtime),
      h("td", { "data-label": "Visibility" }, a.visibility),
      h("td", { "data-label": "State" }, h("span", { class: `badge ${a.enabled ? "s-succeeded" : "s-cancelled"}` }, a.enabled ? "enabled" : "disabled")),
      h("td", { "data-label": "Owner" }, a.owner_username),
      h("td", { "data-label": "Version" }, a.version),
      h("td", { "data-label": "Updated" }, fmtDate(a.updated_at)),
      h(
        "td",
        { class: "row-actions" },
        a.enabled ? h("a", { class: "button small", href: href(`/run?agent=${encodeURIComponent(a.name)}`), "aria-label": `Run ${a.name}` }, "Run") : null,
        mine ? toggle : null,
      ),
    );
    return tr;
  }
  void load(0);
};

/** Create (no name param) or edit an agent. */
export const agentFormView: View = (main, params) => {
  const editing = params.name;
  const status = statusLine();
  main.append(pageHeader(editing ? `Edit agent ${editing}` : "New agent"));
  const holder = h("div");
  main.append(holder, status);
  if (!editing) return void renderForm(null);
  loading(holder);
  api<AgentView>("GET", `/agents/${encodeURIComponent(editing)}`).then(renderForm, (err: unknown) => status.fail(err));

  function renderForm(agent: AgentView | null): void {
    const cfg = (agent?.config ?? {}) as { ms?: number; url?: string; headers?: Record<string, string> };
    const runtime = select("runtime", agent?.runtime === "sdk" ? [...RUNTIMES, "sdk"] : RUNTIMES, agent?.runtime ?? "echo");
    const sleepField = field("Sleep (ms)", h("input", { name: "ms", type: "number", min: 1, max: 600000, value: cfg.ms ?? "" }), "How long a sleep task takes unless its input says otherwise");
    const httpField = field("URL", h("input", { name: "url", type: "url", value: cfg.url ?? "", placeholder: "https://agents.example.com/run" }), "The http runtime POSTs each task's input here");
    const showConfig = () => {
      sleepField.hidden = runtime.value !== "sleep";
      httpField.hidden = runtime.value !== "http";
      (httpField.querySelector("input") as HTMLInputElement).required = runtime.value === "http";
    };
    runtime.addEventListener("change", showConfig);
    const submit = h("button", { type: "submit", class: "primary" }, agent ? "Save changes" : "Create agent");
    const form = h(
      "form",
      { class: "card form-grid", "aria-label": agent ? "Edit agent" : "New agent" },
      agent
        ? null
        : field("Name", h("input", { name: "name", required: true, pattern: "[a-z0-9][a-z0-9\\-]{0,63}", autocomplete: "off" }), "a-z, 0-9 and '-'; it cannot change later"),
      field("Description", h("input", { name: "description", maxlength: 500, value: agent?.description ?? "" })),
      field("Runtime", runtime),
      sleepField,
      httpField,
      field("Visibility", select("visibility", [["private", "private (you and admins)"], ["public", "public (every user may run it)"]], agent?.visibility ?? "private")),
      field("Timeout (ms)", h("input", { name: "timeout_ms", type: "number", min: 1000, max: 3600000, value: agent?.timeout_ms ?? 300000 })),
      field("Max attempts", h("input", { name: "max_attempts", type: "number", min: 1, max: 20, value: agent?.max_attempts ?? 3 })),
      field("Concurrency", h("input", { name: "concurrency", type: "number", min: 1, max: 1000, value: agent?.concurrency ?? 4 })),
      h("div", { class: "field checkbox" }, h("input", { id: "agent-enabled", name: "enabled", type: "checkbox", checked: agent?.enabled ?? true }), h("label", { for: "agent-enabled" }, "Enabled")),
      h("div", { class: "form-actions" }, submit, h("a", { class: "button", href: href("/agents") }, "Cancel")),
    );
    showConfig();
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const v = formValues(form);
      const config = v.runtime === "sleep" ? (v.ms ? { ms: Number(v.ms) } : {}) : v.runtime === "http" ? { url: v.url, ...(cfg.headers ? { headers: cfg.headers } : {}) } : {};
      const body: Record<string, unknown> = {
        runtime: v.runtime,
        config,
        description: v.description?.trim() || null,
        visibility: v.visibility,
        timeout_ms: Number(v.timeout_ms),
        max_attempts: Number(v.max_attempts),
        concurrency: Number(v.concurrency),
        enabled: v.enabled === "on",
      };
      busy(submit, async () => {
        if (agent) {
          const saved = await api<AgentView>("PATCH", `/agents/${encodeURIComponent(agent.name)}`, body);
          status.ok(`Saved ${saved.name} (version ${saved.version}).`);
        } else {
          const created = await api<AgentView>("POST", "/agents", { name: v.name?.trim(), ...body });
          navigate(`/agents?q=${encodeURIComponent(created.name)}`);
        }
      }, status);
    });
    const extra = agent ? dangerZone(agent) : null;
    replace(holder, form, extra);
  }

  function dangerZone(agent: AgentView): HTMLElement {
    const del = h("button", { type: "button", class: "danger" }, "Delete agent");
    const confirmBox = h("div", { class: "confirm", hidden: true });
    del.addEventListener("click", () => {
      confirmBox.hidden = false;
      replace(
        confirmBox,
        h("p", {}, `Delete ${agent.name}? Its queued tasks are cancelled.`),
        h("button", { type: "button", class: "danger", onclick: () => void api("DELETE", `/agents/${encodeURIComponent(agent.name)}`).then(() => navigate("/agents"), (err: unknown) => status.fail(err)) }, "Yes, delete"),
        h("button", { type: "button", onclick: () => ((confirmBox.hidden = true), del.focus()) }, "Keep it"),
      );
      (confirmBox.querySelector("button") as HTMLButtonElement).focus();
    });
    return h("section", { class: "card danger-zone", "aria-label": "Delete" }, h("h2", {}, "Delete"), del, confirmBox);
  }
};
