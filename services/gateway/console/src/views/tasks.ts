import type { AgentList, AgentView, RelayedTaskEvent, TaskList, TaskLogs, TaskStatus, TaskView } from "@meridian/contracts";
import { api, query } from "../api.js";
import { field, fmtDate, fmtMs, formValues, h, replace, select } from "../dom.js";
import { connectLive, followTask, onTaskEvent, seenEvents, unfollowTask } from "../live.js";
import { href, navigate, type View } from "../router.js";
import { busy, errorText, loading, pageHeader, pager, statusBadge, statusLine } from "./common.js";

const STATUSES: TaskStatus[] = ["queued", "running", "succeeded", "failed", "cancelled", "timed_out", "dead_lettered"];
const FINAL = new Set<string>(["succeeded", "failed", "cancelled", "timed_out", "dead_lettered"]);
const LIMIT = 20;
const json = (v: unknown) => JSON.stringify(v, null, 2);

function describeEvent(e: RelayedTaskEvent): string {
  const d = e.data as Record<string, unknown>;
  const err = d.error as { code?: string; message?: string } | undefined;
  switch (e.type) {
    case "started":
      return `attempt ${e.attempt} started`;
    case "progress":
      return `progress ${Math.round(Number(d.fraction ?? 0) * 100)}%${d.message ? ` · ${String(d.message)}` : ""}`;
    case "log":
      return `[${String(d.level ?? "info")}] ${String(d.message ?? "")}`;
    case "retrying":
      return `attempt ${e.attempt} failed (${err?.code ?? "error"}); retrying in ${fmtMs(Number(d.delay_ms ?? 0))}`;
    case "succeeded":
      return "succeeded";
    case "cancelled":
      return `cancelled${d.by ? ` by ${String(d.by)}` : ""}`;
    default:
      return err ? `${e.type}: ${err.code ?? ""} ${err.message ?? ""}` : e.type;
  }
}

/** The ordered events of one task, deduplicated by `seq`, announced politely as they arrive. */
function timeline(taskId: string, onFinal: (e: RelayedTaskEvent) => void) {
  const seen = new Map<number, RelayedTaskEvent>();
  const list = h("ol", { class: "timeline", role: "log", "aria-live": "polite", "aria-label": "Task events", "data-task": taskId });
  const empty = h("p", { class: "muted" }, "Waiting for events…");
  const el = h("div", {}, list, empty);
  const add = (e: RelayedTaskEvent) => {
    if (e.task_id !== taskId || seen.has(e.seq)) return;
    seen.set(e.seq, e);
    empty.remove();
    const item = h(
      "li",
      { class: `ev ev-${e.type}`, "data-type": e.type, "data-seq": e.seq },
      h("time", { datetime: e.at }, new Date(e.at).toLocaleTimeString()),
      " ",
      h("span", { class: `badge s-${e.type}` }, e.type.replace("_", " ")),
      " ",
      h("span", {}, describeEvent(e)),
    );
    const after = [...list.children].find((li) => Number((li as HTMLElement).dataset.seq) > e.seq);
    list.insertBefore(item, after ?? null);
    if (FINAL.has(e.type)) onFinal(e);
  };
  const off = onTaskEvent(add);
  seenEvents(taskId).forEach(add);
  return { el, add, stop: () => (off(), unfollowTask(taskId)) };
}

function resultBlock(task: TaskView): HTMLElement {
  if (task.status === "succeeded") return h("section", { class: "card", "aria-labelledby": "result-h" }, h("h2", { id: "result-h" }, "Result"), h("pre", { class: "result", tabindex: "0" }, json(task.result)));
  if (task.error)
    return h("section", { class: "card", "aria-labelledby": "result-h" }, h("h2", { id: "result-h" }, "Error"), h("pre", { class: "result error", tabindex: "0" }, json(task.error)));
  return h("section", { class: "card", "aria-labelledby": "result-h" }, h("h2", { id: "result-h" }, "Result"), h("p", { class: "muted" }, "Not finished yet."));
}

function summary(task: TaskView): HTMLElement {
  const dur = task.started_at && task.finished_at ? Date.parse(task.finished_at) - Date.parse(task.started_at) : null;
  const item = (k: string, v: Node | string) => [h("dt", {}, k), h("dd", {}, v)];
  return h(
    "dl",
    { class: "summary" },
    item("Status", statusBadge(task.status)),
    item("Agent", task.agent),
    item("Attempts", `${task.attempts} of ${task.max_attempts}`),
    item("Created", fmtDate(task.created_at)),
    item("Started", fmtDate(task.started_at)),
    item("Finished", fmtDate(task.finished_at)),
    item("Duration", fmtMs(dur)),
    item("Correlation id", h("code", {}, task.correlation_id)),
  );
}

export const runTaskView: View = (main, _params, search) => {
  const status = statusLine();
  const agentSelect = h("select", { name: "agent", required: true }, h("option", { value: "" }, "Loading agents…"));
  const input = h("textarea", { name: "input", rows: 5, spellcheck: false }, '{ "text": "hello" }');
  const submit = h("button", { type: "submit", class: "primary" }, "Run task");
  const form = h("form", { class: "card form-grid", "aria-label": "Run a task" }, field("Agent", agentSelect), field("Input (JSON)", input, "Any JSON value; passed to the agent as it is"), h("div", { class: "form-actions" }, submit), status);
  const live = h("section", { class: "live", "aria-label": "Live task" });
  main.append(pageHeader("Run a task"), form, live);
  let current: ReturnType<typeof timeline> | null = null;
  connectLive().catch((err: unknown) => status.fail(new Error(`Live events unavailable: ${errorText(err)}`)));

  const wanted = search.get("agent");
  Promise.all([
    api<AgentList>("GET", `/agents${query({ enabled: "true", limit: 100 })}`),
    // The one asked for by ?agent= may be past the first page of everyone's public agents.
    wanted ? api<AgentView>("GET", `/agents/${encodeURIComponent(wanted)}`).catch(() => null) : null,
  ]).then(
    ([page, asked]) => {
      if (asked && asked.enabled && !page.items.some((a) => a.name === asked.name)) page.items.unshift(asked);
      replace(
        agentSelect,
        page.items.length ? null : h("option", { value: "" }, "No agents yet"),
        page.items.map((a) => h("option", { value: a.name, selected: a.name === wanted }, `${a.name} (${a.runtime})`)),
      );
    },
    (err: unknown) => status.fail(err),
  );

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const v = formValues(form);
    let parsed: unknown;
    try {
      parsed = v.input?.trim() ? JSON.parse(v.input) : {};
    } catch {
      status.fail(new Error("The input is not valid JSON."));
      input.focus();
      return;
    }
    busy(submit, async () => {
      current?.stop();
      // Connect before submitting, so even the first event of the task reaches the user room.
      await connectLive().catch(() => undefined);
      const task = await api<TaskView>("POST", "/tasks", { agent: v.agent, input: parsed });
      const result = h("div", {}, resultBlock(task));
      const badge = h("span", {}, statusBadge(task.status));
      current = timeline(task.id, () => {
        void api<TaskView>("GET", `/tasks/${task.id}`).then((t) => {
          replace(badge, statusBadge(t.status));
          replace(result, resultBlock(t));
          status.ok(`Task ${t.status}.`);
        });
      });
      replace(
        live,
        h("h2", {}, "Task ", h("a", { href: href(`/tasks/${task.id}`) }, task.id.slice(0, 8)), " ", badge),
        h("h3", {}, "Events"),
        current.el,
        result,
      );
      status.ok(`Task ${task.id.slice(0, 8)} queued; events follow live.`);
      const ack = await followTask(task.id, 0).catch((err: unknown) => ({ ok: false as const, error: { code: "OFFLINE", message: errorText(err) } }));
      if (!ack.ok) status.fail(new Error(`Live events unavailable: ${ack.error.message}`));
    }, status);
  });
  return () => current?.stop();
};

export const taskHistoryView: View = (main, _params, search) => {
  const results = h("div", { class: "results" });
  const filters = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter tasks" },
    field("Agent", h("input", { name: "agent", value: search.get("agent") ?? "", pattern: "[a-z0-9][a-z0-9\\-]{0,63}" })),
    field("Status", select("status", [["", "any"], ...STATUSES.map((s): [string, string] => [s, s.replace("_", " ")])], search.get("status") ?? "")),
    h("button", { type: "submit" }, "Filter"),
  );
  filters.addEventListener("submit", (e) => {
    e.preventDefault();
    const v = formValues(filters);
    navigate(`/tasks${query({ agent: v.agent?.trim(), status: v.status })}`, true);
  });
  main.append(pageHeader("Task history", h("a", { class: "button primary", href: href("/run") }, "Run a task")), filters, results);
  const load = async (offset: number) => {
    loading(results);
    try {
      const page = await api<TaskList>("GET", `/tasks${query({ agent: search.get("agent") ?? undefined, status: search.get("status") ?? undefined, limit: LIMIT, offset })}`);
      if (!page.items.length) return replace(results, h("p", { class: "muted" }, "No tasks match."));
      replace(
        results,
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            {},
            h("caption", { class: "sr-only" }, "Tasks, newest first"),
            h("thead", {}, h("tr", {}, ["Task", "Agent", "Status", "Attempts", "Created", "Duration"].map((c) => h("th", { scope: "col" }, c)))),
            h(
              "tbody",
              {},
              page.items.map((t) =>
                h(
                  "tr",
                  { "data-task": t.id },
                  h("th", { scope: "row" }, h("a", { href: href(`/tasks/${t.id}`) }, h("code", {}, t.id.slice(0, 8)))),
                  h("td", { "data-label": "Agent" }, t.agent),
                  h("td", { "data-label": "Status" }, statusBadge(t.status)),
                  h("td", { "data-label": "Attempts" }, `${t.attempts}/${t.max_attempts}`),
                  h("td", { "data-label": "Created" }, fmtDate(t.created_at)),
                  h("td", { "data-label": "Duration" }, fmtMs(t.started_at && t.finished_at ? Date.parse(t.finished_at) - Date.parse(t.started_at) : null)),
                ),
              ),
            ),
          ),
        ),
        pager(page.total, LIMIT, offset, (o) => void load(o)),
      );
    } catch (err) {
      replace(results, h("p", { class: "status error", role: "alert" }, errorText(err)));
    }
  };
  void load(0);
};

export const taskView: View = (main, params) => {
  const id = params.id!;
  const status = statusLine();
  const top = h("div");
  const result = h("div");
  const logs = h("div");
  const cancel = h("button", { type: "button", class: "danger", hidden: true }, "Cancel task");
  main.append(pageHeader(`Task ${id.slice(0, 8)}`, cancel), status, top);
  const refresh = async () => {
    const task = await api<TaskView>("GET", `/tasks/${id}`);
    replace(top, h("section", { class: "card", "aria-label": "Summary" }, summary(task)), h("section", { class: "card", "aria-labelledby": "input-h" }, h("h2", { id: "input-h" }, "Input"), h("pre", { tabindex: "0" }, json(task.input))));
    replace(result, resultBlock(task));
    cancel.hidden = FINAL.has(task.status);
    const lines = await api<TaskLogs>("GET", `/tasks/${id}/logs`);
    replace(
      logs,
      lines.items.length
        ? h("ol", { class: "log" }, lines.items.map((l) => h("li", { class: `log-${l.level}` }, h("time", { datetime: l.at }, new Date(l.at).toLocaleTimeString()), ` #${l.attempt} [${l.level}] ${l.message}`)))
        : h("p", { class: "muted" }, "No log lines."),
    );
  };
  const tl = timeline(id, () => void refresh().catch((err: unknown) => status.fail(err)));
  main.append(
    h("div", { class: "columns" }, h("section", { class: "card", "aria-labelledby": "tl-h" }, h("h2", { id: "tl-h" }, "Timeline"), tl.el), h("div", {}, result, h("section", { class: "card", "aria-labelledby": "log-h" }, h("h2", { id: "log-h" }, "Log"), logs))),
  );
  cancel.addEventListener("click", () =>
    busy(cancel, async () => {
      await api("POST", `/tasks/${id}/cancel`);
      status.ok("Cancel requested.");
      await refresh();
    }, status),
  );
  loading(top);
  refresh().catch((err: unknown) => status.fail(err));
  followTask(id, 0).then(
    (ack) => {
      if (!ack.ok) status.fail(new Error(`Timeline unavailable: ${ack.error.message}`));
    },
    (err: unknown) => status.fail(new Error(`Timeline unavailable: ${errorText(err)}`)),
  );
  return () => tl.stop();
};
