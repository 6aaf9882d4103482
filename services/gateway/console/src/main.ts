import "./styles.css";
import { loadMe, session, signOut } from "./api.js";
import { h, replace } from "./dom.js";
import { disconnectLive, onLiveStatus, liveStatus } from "./live.js";
import { BASE, href, match, navigate, route, setNavigateHandler } from "./router.js";
import { signInView, signUpView } from "./views/auth.js";
import { agentFormView, agentsView } from "./views/agents.js";
import { analyticsView } from "./views/analytics.js";
import { keysView } from "./views/keys.js";
import { runTaskView, taskHistoryView, taskView } from "./views/tasks.js";
import { usersView } from "./views/users.js";

route("/login", "Sign in", signInView, { public: true });
route("/signup", "Sign up", signUpView, { public: true });
route("/", "Analytics", analyticsView);
route("/agents", "Agents", agentsView);
route("/agents/new", "New agent", agentFormView);
route("/agents/:name", "Edit agent", agentFormView);
route("/run", "Run a task", runTaskView);
route("/tasks", "Task history", taskHistoryView);
route("/tasks/:id", "Task", taskView);
route("/keys", "API keys", keysView);
route("/users", "Users", usersView);

const app = document.getElementById("app")!;
const main = h("main", { id: "main", tabindex: "-1" });
const nav = h("nav", { "aria-label": "Main" });
const userBox = h("div", { class: "user-box" });
const liveBadge = h("span", { class: "live-badge", "data-state": liveStatus, title: "Live events connection" }, liveStatus);
const header = h("header", { class: "top" }, h("a", { class: "brand", href: href("/") }, "Meridian"), nav, userBox);
replace(app, header, main);
onLiveStatus((s) => {
  liveBadge.textContent = s;
  liveBadge.dataset.state = s;
});

const links: Array<[string, string, boolean?]> = [
  ["/", "Analytics"],
  ["/agents", "Agents"],
  ["/run", "Run a task"],
  ["/tasks", "Tasks"],
  ["/keys", "API keys"],
  ["/users", "Users", true],
];

function renderChrome(path: string): void {
  if (!session.signedIn) {
    replace(nav);
    replace(userBox);
    return;
  }
  const rel = path.slice(BASE.length) || "/";
  replace(
    nav,
    h(
      "ul",
      {},
      links
        .filter(([, , adminOnly]) => !adminOnly || session.isAdmin)
        .map(([to, text]) => {
          const current = to === "/" ? rel === "/" : rel.startsWith(to);
          return h("li", {}, h("a", { href: href(to), "aria-current": current ? "page" : null }, text));
        }),
    ),
  );
  replace(
    userBox,
    liveBadge,
    h("span", { class: "who" }, session.user ? `${session.user.username}${session.isAdmin ? " (admin)" : ""}` : ""),
    h("button", { type: "button", class: "link", onclick: () => void signOut().then(() => (disconnectLive(), navigate("/login"))) }, "Sign out"),
  );
}

let cleanup: (() => void) | void;
function render(): void {
  if (typeof cleanup === "function") cleanup();
  cleanup = undefined;
  const path = location.pathname;
  const found = match(path);
  if (!found) {
    document.title = "Not found · Meridian";
    renderChrome(path);
    replace(main, h("h1", {}, "Not found"), h("p", {}, "No page here. ", h("a", { href: href("/") }, "Go to the console home")));
    return;
  }
  if (!found.route.public && !session.signedIn) {
    const next = path + location.search;
    return navigate(`/login?next=${encodeURIComponent(next)}`, true);
  }
  if (found.route.public && session.signedIn) return navigate("/", true);
  document.title = `${found.route.title} · Meridian`;
  renderChrome(path);
  replace(main);
  cleanup = found.route.view(main, found.params, new URLSearchParams(location.search));
  // Move focus to the new page for keyboard and screen-reader users.
  const heading = main.querySelector("h1");
  (heading ?? main).setAttribute("tabindex", "-1");
  (heading ?? main).focus({ preventScroll: false });
}

setNavigateHandler(render);
window.addEventListener("popstate", render);
document.addEventListener("click", (e) => {
  const a = (e.target as Element | null)?.closest?.("a");
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.target || a.hasAttribute("download")) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith(BASE)) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});
session.listeners.add(() => renderChrome(location.pathname));

if (session.signedIn) {
  loadMe()
    .catch(() => session.set(null))
    .finally(render);
} else render();
