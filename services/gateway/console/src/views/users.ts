import type { UserView } from "@meridian/contracts";
import { api, ApiError, session } from "../api.js";
import { fmtDate, h, replace } from "../dom.js";
import type { View } from "../router.js";
import { errorText, loading, pageHeader, statusLine } from "./common.js";

type AdminUser = UserView & { disabled?: boolean };
const ROLES = ["admin", "user", "agent", "readonly"];

/**
 * Admin user management. The auth service has no admin user routes yet; this page looks for
 * GET /api/v1/users and, until it answers, says so and shows the signed-in account only.
 */
export const usersView: View = (main) => {
  main.append(pageHeader("Users"));
  if (!session.isAdmin) {
    main.append(h("p", { role: "alert" }, "Only admins can manage users."));
    return;
  }
  const status = statusLine();
  const body = h("div");
  main.append(status, body);
  loading(body);
  api<{ items: AdminUser[] }>("GET", "/users?limit=100").then(
    ({ items }) => replace(body, table(items)),
    (err: unknown) => {
      if (err instanceof ApiError && err.status === 404) {
        const me = session.user!;
        replace(
          body,
          h(
            "div",
            { class: "card notice" },
            h("h2", {}, "Not available yet"),
            h("p", {}, "The auth service has no admin routes to list users, change their roles or disable them. Once it has, they appear here."),
          ),
          h("section", { class: "card", "aria-labelledby": "me-h" }, h("h2", { id: "me-h" }, "Your account"), h("dl", { class: "summary" }, h("dt", {}, "Username"), h("dd", {}, me.username), h("dt", {}, "Email"), h("dd", {}, me.email), h("dt", {}, "Roles"), h("dd", {}, me.roles.join(", ")), h("dt", {}, "Since"), h("dd", {}, fmtDate(me.created_at)))),
        );
      } else replace(body, h("p", { class: "status error", role: "alert" }, errorText(err)));
    },
  );

  function table(items: AdminUser[]): HTMLElement {
    return h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        {},
        h("caption", { class: "sr-only" }, "Users"),
        h("thead", {}, h("tr", {}, ["User", "Email", "Roles", "State", "Since", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
        h(
          "tbody",
          {},
          items.map((u) => {
            const roles = h("select", { "aria-label": `Role of ${u.username}` }, ROLES.map((r) => h("option", { value: r, selected: u.roles[0] === r }, r)));
            roles.addEventListener("change", () =>
              void api("PATCH", `/users/${u.id}`, { roles: [roles.value] }).then(() => status.ok(`${u.username} is now ${roles.value}.`), (err: unknown) => status.fail(err)),
            );
            const toggle = h("button", { type: "button", class: "small" }, u.disabled ? "Enable" : "Disable");
            toggle.addEventListener("click", () =>
              void api("PATCH", `/users/${u.id}`, { disabled: !u.disabled }).then(() => {
                u.disabled = !u.disabled;
                toggle.textContent = u.disabled ? "Enable" : "Disable";
                status.ok(`${u.username} ${u.disabled ? "disabled" : "enabled"}.`);
              }, (err: unknown) => status.fail(err)),
            );
            return h(
              "tr",
              {},
              h("th", { scope: "row" }, u.username),
              h("td", { "data-label": "Email" }, u.email),
              h("td", { "data-label": "Roles" }, roles),
              h("td", { "data-label": "State" }, u.disabled ? "disabled" : "active"),
              h("td", { "data-label": "Since" }, fmtDate(u.created_at)),
              h("td", { class: "row-actions" }, u.id === session.user?.id ? null : toggle),
            );
          }),
        ),
      ),
    );
  }
};
