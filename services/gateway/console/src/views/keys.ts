import type { ApiKeyCreated, ApiKeyView, Scope } from "@meridian/contracts";
import { api, session } from "../api.js";
import { field, fmtDate, formValues, h, replace } from "../dom.js";
import type { View } from "../router.js";
import { busy, errorText, loading, pageHeader, statusLine } from "./common.js";

const SCOPES: Scope[] = ["profile:read", "api-keys:read", "api-keys:write", "agents:read", "agents:write", "tasks:read", "tasks:write", "admin"];

export const keysView: View = (main) => {
  const status = statusLine();
  const listStatus = statusLine();
  const list = h("div");
  const secret = h("div", { class: "secret-holder" });
  const submit = h("button", { type: "submit", class: "primary" }, "Create key");
  const scopes = SCOPES.filter((s) => s !== "admin" || session.isAdmin);
  const form = h(
    "form",
    { class: "card form-grid", "aria-labelledby": "new-key-h" },
    h("h2", { id: "new-key-h" }, "New key"),
    field("Name", h("input", { name: "name", required: true, maxlength: 64, autocomplete: "off" })),
    h(
      "fieldset",
      { class: "scopes" },
      h("legend", {}, "Scopes (none ticked: every scope of your role)"),
      scopes.map((s) => h("label", { class: "check" }, h("input", { type: "checkbox", name: "scope", value: s }), ` ${s}`)),
    ),
    field("Expires in (days)", h("input", { name: "expires_in_days", type: "number", min: 1, max: 365, placeholder: "never" })),
    h("div", { class: "form-actions" }, submit),
    status,
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const v = formValues(form);
    const picked = [...form.querySelectorAll<HTMLInputElement>("input[name=scope]:checked")].map((i) => i.value as Scope);
    busy(submit, async () => {
      const key = await api<ApiKeyCreated>("POST", "/auth/api-keys", {
        name: v.name?.trim(),
        ...(picked.length ? { scopes: picked } : {}),
        ...(v.expires_in_days ? { expires_in_days: Number(v.expires_in_days) } : {}),
      });
      form.reset();
      showSecret(key);
      status.ok(`Key ${key.name} created.`);
      await load();
    }, status);
  });
  main.append(pageHeader("API keys"), h("p", { class: "muted" }, "Keys let scripts and agents call the API with the X-API-Key header."), secret, form, h("section", { class: "card", "aria-labelledby": "keys-h" }, h("h2", { id: "keys-h" }, "Your keys"), listStatus, list));

  function showSecret(key: ApiKeyCreated): void {
    const value = h("input", { class: "secret", readonly: true, value: key.key, "aria-label": `Secret of ${key.name}`, id: "new-key-secret" });
    const copy = h("button", { type: "button" }, "Copy");
    copy.addEventListener("click", () => {
      value.select();
      void navigator.clipboard?.writeText(key.key).then(() => (copy.textContent = "Copied"), () => undefined);
    });
    replace(
      secret,
      h(
        "div",
        { class: "card notice", role: "alert" },
        h("h2", {}, `Your new key "${key.name}"`),
        h("p", {}, "Copy it now: it is shown once and cannot be seen again."),
        h("div", { class: "secret-row" }, value, copy),
        h("button", { type: "button", class: "link", onclick: () => replace(secret) }, "I have stored it, hide it"),
      ),
    );
    value.focus();
    value.select();
  }

  async function load(): Promise<void> {
    loading(list);
    try {
      const { items } = await api<{ items: ApiKeyView[] }>("GET", "/auth/api-keys");
      if (!items.length) return replace(list, h("p", { class: "muted" }, "No keys."));
      replace(
        list,
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            {},
            h("caption", { class: "sr-only" }, "Your API keys"),
            h("thead", {}, h("tr", {}, ["Name", "Prefix", "Scopes", "Created", "Expires", "Last used", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
            h("tbody", {}, items.map(row)),
          ),
        ),
      );
    } catch (err) {
      replace(list, h("p", { class: "status error", role: "alert" }, errorText(err)));
    }
  }

  function row(k: ApiKeyView): HTMLElement {
    const actions = h("td", { class: "row-actions" });
    const revoke = h("button", { type: "button", class: "small danger", "aria-label": `Revoke ${k.name}` }, "Revoke");
    revoke.addEventListener("click", () => {
      const yes = h("button", { type: "button", class: "small danger", "aria-label": `Confirm revoking ${k.name}` }, "Confirm revoke");
      const no = h("button", { type: "button", class: "small" }, "Cancel");
      yes.addEventListener("click", () =>
        busy(yes, async () => {
          await api("DELETE", `/auth/api-keys/${k.id}`);
          listStatus.ok(`Key ${k.name} revoked.`);
          await load();
        }, listStatus),
      );
      no.addEventListener("click", () => (replace(actions, revoke), revoke.focus()));
      replace(actions, yes, no);
      yes.focus();
    });
    actions.append(revoke);
    return h(
      "tr",
      { "data-key": k.id },
      h("th", { scope: "row" }, k.name),
      h("td", { "data-label": "Prefix" }, h("code", {}, k.prefix)),
      h("td", { "data-label": "Scopes" }, k.scopes.join(", ")),
      h("td", { "data-label": "Created" }, fmtDate(k.created_at)),
      h("td", { "data-label": "Expires" }, k.expires_at ? fmtDate(k.expires_at) : "never"),
      h("td", { "data-label": "Last used" }, fmtDate(k.last_used_at)),
      actions,
    );
  }
  void load();
};
