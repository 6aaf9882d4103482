import type { AnalyticsFigures, AnalyticsRange, Timeseries, TimeseriesBucket } from "@meridian/contracts";
import { api, ApiError, query, session } from "../api.js";
import { field, fmtMs, h, replace, select, svg } from "../dom.js";
import { navigate, type View } from "../router.js";
import { errorText, pageHeader } from "./common.js";

type Dashboard = AnalyticsFigures;
type Series = Timeseries;

const RANGES: AnalyticsRange[] = ["day", "week", "month", "quarter", "year"];
const BUCKET: Record<AnalyticsRange, TimeseriesBucket> = { day: "hour", week: "day", month: "day", quarter: "week", year: "week" };
const METRICS: Array<[string, string, (v: number) => string]> = [
  ["submitted", "Tasks submitted", String],
  ["succeeded", "Tasks succeeded", String],
  ["failed", "Tasks failed", String],
  ["duration_p95", "Duration p95", fmtMs],
];

/** 404 (not deployed yet) and empty answers both read as "no data". */
async function maybe<T>(path: string): Promise<T | null> {
  try {
    return await api<T>("GET", path);
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 501 || err.status === 503)) return null;
    throw err;
  }
}

export const analyticsView: View = (main, _params, search) => {
  const range = (RANGES as readonly string[]).includes(search.get("range") ?? "") ? (search.get("range") as AnalyticsRange) : "day";
  const bucket = BUCKET[range];
  const rangeSelect = select("range", RANGES.map((r): [string, string] => [r, `last ${r}`]), range);
  rangeSelect.addEventListener("change", () => navigate(`/?range=${rangeSelect.value}`, true));
  const cards = h("div", { class: "cards" }, h("p", { class: "muted" }, "Loading…"));
  const charts = h("div", { class: "charts" });
  const busiest = h("section", { class: "card", "aria-labelledby": "busiest-h" }, h("h2", { id: "busiest-h" }, "Busiest agents"));
  const exportStatus = h("span", { class: "muted small", role: "status" });
  const exporter = (format: "csv" | "json") => {
    const b = h("button", { type: "button" }, `Export ${format.toUpperCase()}`);
    b.addEventListener("click", () => void download(format, range, b, exportStatus));
    return b;
  };
  main.append(
    pageHeader("Analytics", h("div", { class: "inline" }, field("Range", rangeSelect), exporter("csv"), exporter("json"))),
    exportStatus,
    h("p", { class: "muted small" }, session.isAdmin ? "Every user's tasks (you are an admin)." : "Your own tasks."),
    h("section", { "aria-label": "Figures" }, cards),
    charts,
    busiest,
  );

  maybe<Dashboard>(`/analytics/dashboard${query({ range })}`).then(
    (d) => {
      if (!d) {
        replace(cards, noData("The dashboard has no data yet (the analytics endpoints may not be deployed)."));
        busiest.append(noData("No data."));
        return;
      }
      const rate = d.success_rate === null || d.success_rate === undefined ? "—" : `${Math.round(d.success_rate * 1000) / 10}%`;
      const card = (label: string, value: string | number, cls = "") => h("div", { class: `stat ${cls}` }, h("span", { class: "stat-label" }, label), h("span", { class: "stat-value" }, String(value)));
      replace(
        cards,
        card("Submitted", d.tasks.submitted),
        card("Succeeded", d.tasks.succeeded, "good"),
        card("Failed", d.tasks.failed + d.tasks.timed_out, "bad"),
        card("Success rate", rate),
        card("p50 / p95", `${fmtMs(d.duration_ms.p50)} / ${fmtMs(d.duration_ms.p95)}`),
        card("p99", fmtMs(d.duration_ms.p99)),
        card("Retries", d.retries),
        card("Dead letters", d.dead_letters, d.dead_letters ? "bad" : ""),
        card("Cancelled", d.tasks.cancelled),
        card("Active agents", d.agents_active ?? "—"),
        card("Queued now", d.tasks.queued_now),
        card("Running now", d.tasks.running_now),
      );
      busiest.append(bars(d.busiest_agents));
    },
    (err: unknown) => replace(cards, h("p", { class: "status error", role: "alert" }, errorText(err))),
  );

  for (const [metric, title, fmt] of METRICS) {
    const body = h("div", {}, h("p", { class: "muted" }, "Loading…"));
    const id = `chart-${metric}`;
    charts.append(h("section", { class: "card chart", "aria-labelledby": id }, h("h2", { id }, title), body));
    maybe<Series>(`/analytics/timeseries/${metric}${query({ range, bucket })}`).then(
      (s) => replace(body, s && s.points.some((p) => p.value !== null && p.value !== 0) ? lineChart(s, title, fmt) : noData("No data for this range.")),
      (err: unknown) => replace(body, h("p", { class: "status error" }, errorText(err))),
    );
  }
};

/** The export streams with the bearer token, so it is fetched and handed to the browser as a file. */
async function download(format: "csv" | "json", range: string, button: HTMLButtonElement, status: HTMLElement): Promise<void> {
  button.disabled = true;
  status.textContent = "Exporting…";
  try {
    const res = await fetch(`/api/v1/analytics/export${query({ format, range })}`, { headers: { authorization: `Bearer ${session.tokens?.access_token ?? ""}` } });
    if (!res.ok) throw new Error(res.status === 404 ? "Export is not available yet." : `Export failed (${res.status}).`);
    const url = URL.createObjectURL(await res.blob());
    const a = h("a", { href: url, download: `meridian-tasks-${range}.${format}` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    status.textContent = "Export downloaded.";
  } catch (err) {
    status.textContent = errorText(err);
  } finally {
    button.disabled = false;
  }
}

function noData(text: string): HTMLElement {
  return h("p", { class: "no-data" }, text);
}

/** A line over bars of the points; a table of the same figures for screen readers. */
function lineChart(s: Series, title: string, fmt: (v: number) => string): HTMLElement {
  const W = 600;
  const H = 180;
  const pad = { l: 44, r: 8, t: 10, b: 22 };
  const values = s.points.map((p) => p.value ?? 0);
  const max = Math.max(1, ...values);
  const n = Math.max(1, s.points.length);
  const bw = (W - pad.l - pad.r) / n;
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - v / max);
  const label = (t: string) => (s.bucket === "hour" ? new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : new Date(t).toLocaleDateString([], { month: "short", day: "numeric" }));
  const every = Math.ceil(n / 6);
  const path = s.points.map((p, i) => `${i ? "L" : "M"}${(pad.l + bw * i + bw / 2).toFixed(1)},${y(p.value ?? 0).toFixed(1)}`).join(" ");
  const chart = svg(
    "svg",
    { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${title}: ${s.points.length} ${s.bucket} buckets, highest ${fmt(max)}`, class: "chart-svg", preserveAspectRatio: "none" },
    [0, 0.5, 1].map((f) => [
      svg("line", { x1: pad.l, x2: W - pad.r, y1: y(max * f), y2: y(max * f), class: "grid" }),
      svg("text", { x: pad.l - 4, y: y(max * f) + 4, class: "axis", "text-anchor": "end" }, fmt(Math.round(max * f))),
    ]),
    s.points.map((p, i) =>
      svg("rect", { x: pad.l + bw * i + bw * 0.15, width: Math.max(1, bw * 0.7), y: y(p.value ?? 0), height: Math.max(0, H - pad.b - y(p.value ?? 0)), class: "bar" }, svg("title", {}, `${label(p.t)}: ${p.value === null ? "—" : fmt(p.value)}`)),
    ),
    svg("path", { d: path, class: "line" }),
    s.points.map((p, i) => (i % every === 0 ? svg("text", { x: pad.l + bw * i + bw / 2, y: H - 6, class: "axis", "text-anchor": "middle" }, label(p.t)) : null)),
  );
  const table = h(
    "table",
    { class: "sr-only" },
    h("caption", {}, title),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Time"), h("th", { scope: "col" }, "Value"))),
    h("tbody", {}, s.points.map((p) => h("tr", {}, h("td", {}, label(p.t)), h("td", {}, p.value === null ? "—" : fmt(p.value))))),
  );
  return h("div", {}, chart, table);
}

function bars(agents: Dashboard["busiest_agents"]): HTMLElement {
  if (!agents.length) return noData("No tasks in this range.");
  const max = Math.max(1, ...agents.map((a) => a.submitted));
  const rowH = 26;
  const W = 600;
  const labelW = 160;
  return h(
    "div",
    {},
    svg(
      "svg",
      { viewBox: `0 0 ${W} ${agents.length * rowH + 4}`, role: "img", "aria-label": "Tasks per agent", class: "chart-svg bars-svg" },
      agents.map((a, i) => {
        const w = (W - labelW - 60) * (a.submitted / max);
        const ws = (W - labelW - 60) * (a.succeeded / max);
        return [
          svg("text", { x: labelW - 8, y: i * rowH + 17, class: "axis", "text-anchor": "end" }, a.agent),
          svg("rect", { x: labelW, y: i * rowH + 4, width: Math.max(1, w), height: rowH - 8, class: "bar" }),
          svg("rect", { x: labelW, y: i * rowH + 4, width: Math.max(0, ws), height: rowH - 8, class: "bar good" }),
          svg("text", { x: labelW + w + 6, y: i * rowH + 17, class: "axis" }, `${a.submitted}`),
        ];
      }),
    ),
    h(
      "table",
      { class: "compact" },
      h("caption", { class: "sr-only" }, "Busiest agents"),
      h("thead", {}, h("tr", {}, ["Agent", "Submitted", "Succeeded", "Failed"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, agents.map((a) => h("tr", {}, h("th", { scope: "row" }, a.agent), h("td", {}, a.submitted), h("td", {}, a.succeeded), h("td", {}, a.failed)))),
    ),
  );
}
