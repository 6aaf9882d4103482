import type { UserView } from "@meridian/contracts";
import { api, signIn } from "../api.js";
import { field, formValues, h } from "../dom.js";
import { href, navigate, type View } from "../router.js";
import { busy, statusLine } from "./common.js";

export const signInView: View = (main, _params, search) => {
  const status = statusLine();
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "signin-title" },
    field("Username or email", h("input", { name: "login", autocomplete: "username", required: true, value: search.get("user") ?? "" })),
    field("Password", h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    submit,
    status,
    h("p", {}, "No account yet? ", h("a", { href: href("/signup") }, "Sign up")),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const v = formValues(form);
    busy(submit, async () => {
      await signIn(v.login!.trim(), v.password!);
      const next = search.get("next");
      navigate(next && next.startsWith("/console") ? next : "/", true);
    }, status);
  });
  main.append(h("div", { class: "auth-page" }, h("h1", { id: "signin-title" }, "Sign in to Meridian"), form));
};

export const signUpView: View = (main) => {
  const status = statusLine();
  const submit = h("button", { type: "submit", class: "primary" }, "Create account");
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "signup-title" },
    field("Username", h("input", { name: "username", autocomplete: "username", required: true, pattern: "[a-z0-9][a-z0-9_.\\-]{2,31}" }), "3-32 characters: a-z, 0-9, _ . -"),
    field("Email", h("input", { name: "email", type: "email", autocomplete: "email", required: true })),
    field(
      "Password",
      h("input", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 12, maxlength: 128 }),
      "12-128 characters mixing three kinds (lower, upper, digits, symbols); not your username or email",
    ),
    submit,
    status,
    h("p", {}, "Have an account? ", h("a", { href: href("/login") }, "Sign in")),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const v = formValues(form);
    busy(submit, async () => {
      const user = await api<UserView>("POST", "/auth/register", { username: v.username, email: v.email, password: v.password });
      await signIn(user.username, v.password!);
      navigate("/", true);
    }, status);
  });
  main.append(h("div", { class: "auth-page" }, h("h1", { id: "signup-title" }, "Create a Meridian account"), form));
};
