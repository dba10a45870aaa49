// The sign-in page of the standalone dashboard (Appwrite's Account API: email and password, and
// the OAuth providers `config.oauthProviders` lists) and the screen for a signed-in user who is
// in neither Job Manager team.

import { account, config } from "./api.js";
import { el } from "./ui.js";

const PROVIDER_NAMES = { github: "GitHub", google: "Google", microsoft: "Microsoft", gitlab: "GitLab", apple: "Apple" };

export function renderSignIn(main, { onSignedIn }) {
  document.title = "Sign in · Jobs";
  const email = el("input", { type: "email", id: "jm-email", name: "email", autocomplete: "username", required: true });
  const password = el("input", { type: "password", id: "jm-password", name: "password", autocomplete: "current-password", required: true, minlength: "8" });
  const problem = el("p", { class: "error-text", role: "alert", "data-part": "sign-in-error" });
  const submit = el("button", { type: "submit", text: "Sign in" });
  const form = el(
    "form",
    { class: "card sign-in", "aria-labelledby": "jm-sign-in-title" },
    el("h1", { id: "jm-sign-in-title", text: "Sign in to Jobs" }),
    el("p", { class: "muted", text: "Use your Pivotr Mailer account." }),
    el("div", { class: "field" }, el("label", { for: "jm-email", text: "Email" }), email),
    el("div", { class: "field" }, el("label", { for: "jm-password", text: "Password" }), password),
    problem,
    submit,
    (config.oauthProviders || []).length
      ? el("div", { class: "oauth" }, el("p", { class: "muted", text: "Or continue with" }), config.oauthProviders.map((p) => el("a", { class: "button ghost", href: account.oauthUrl(p), text: PROVIDER_NAMES[p] || p })))
      : null,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    problem.textContent = "";
    submit.disabled = true;
    try {
      await account.signIn(email.value.trim(), password.value);
      onSignedIn();
    } catch (err) {
      problem.textContent = err.status === 401 ? "Wrong email or password." : err.message;
      submit.disabled = false;
      password.select();
    }
  });
  main.replaceChildren(form);
  email.focus();
  return () => {};
}

export function renderNoRole(main, identity, signOut) {
  document.title = "No access · Jobs";
  main.replaceChildren(
    el(
      "section",
      { class: "card state no-role", role: "alert" },
      el("h1", { text: "You have no access to jobs yet" }),
      el("p", {}, "You are signed in as ", el("strong", { text: identity.email || identity.userId }), ", who is neither a viewer nor an operator of Job Manager."),
      el("p", { class: "muted", text: "Ask an administrator to add you to the jobs-viewers or jobs-operators team." }),
      el("button", { type: "button", class: "ghost", text: "Sign out", onclick: signOut }),
    ),
  );
  return () => {};
}
