// `mount(element, options)`: the whole dashboard inside one element, for the standalone page
// (app.js mounts it on <body>) and for a host app (docs/dashboard.md § Embedding). It builds
// the shell (header, counts, main, toasts, confirm dialog), finds out who is signed in and
// with which role, and routes `{basePath}`, `{basePath}?view=history`, `{basePath}/schedules`
// and `{basePath}/:id` inside the page (links keep real hrefs; clicks are handled with the
// History API).

import { account, api, config, configure } from "./api.js";
import { el, setRoot, setupTheme } from "./ui.js";
import { renderList } from "./list.js";
import { createSummary } from "./summary.js";
import { renderDetail } from "./detail.js";
import { renderSchedules } from "./schedules.js";
import { renderSignIn, renderNoRole } from "./signin.js";

function shell(base) {
  const parts = {
    who: el("div", { class: "who", "data-part": "who", "aria-live": "polite" }),
    theme: el("button", { type: "button", class: "ghost", "data-part": "theme", "aria-label": "Switch colour theme", text: "Theme" }),
    tabActive: el("a", { href: base, "data-part": "tab-active", text: "Active & recent" }),
    tabHistory: el("a", { href: `${base}?view=history`, "data-part": "tab-history", text: "History" }),
    tabSchedules: el("a", { href: `${base}/schedules`, "data-part": "tab-schedules", text: "Schedules" }),
    summary: el("section", { class: "summary", "data-part": "summary", "aria-label": "Job counts by status" }),
    main: el("main", { class: "jm-main", tabindex: "-1", "data-part": "main" }),
  };
  const header = el(
    "header",
    { class: "top" },
    el("div", { class: "brand" }, el("a", { href: base, text: "Jobs" })),
    el("nav", { class: "tabs", "aria-label": "Views", "data-part": "tabs" }, parts.tabActive, parts.tabHistory, parts.tabSchedules),
    parts.who,
    parts.theme,
  );
  const dialog = el(
    "dialog",
    { "data-part": "confirm", "aria-label": "Confirm" },
    el(
      "form",
      { method: "dialog" },
      el("h2", {}),
      el("p", {}),
      el("label", {}, "Reason ", el("span", { class: "muted", text: "(optional, kept in the job's log)" }), el("textarea", { rows: "3", maxlength: "2000" })),
      el("div", { class: "buttons" }, el("button", { value: "cancel", type: "submit", class: "ghost" }), el("button", { value: "ok", type: "submit" })),
    ),
  );
  const toasts = el("div", { class: "toasts", "data-part": "toasts", role: "status", "aria-live": "polite", "aria-atomic": "false" });
  return { parts, nodes: [el("a", { class: "skip", href: "#jm-main", text: "Skip to content" }), header, parts.summary, parts.main, toasts, dialog] };
}

/**
 * Mounts the dashboard in `element`. Options (all optional): `client` (the host's Appwrite Web
 * SDK client: its endpoint, project and session are used, the session being its `setSession`
 * value or the one the SDK keeps in `localStorage`, which the dashboard shares; see api.js),
 * `endpoint`, `project`, `functionId`,
 * `databaseId`, `basePath` (default `/jobs`), `realtime`, `signIn` (false inside a host that
 * signs users in itself), and the rest of `config.js`. Returns `{unmount()}`.
 */
export function mount(element, options = {}) {
  configure(options);
  const base = config.basePath;
  element.classList.add("jm");
  setRoot(element);
  const { parts, nodes } = shell(base);
  parts.main.id = "jm-main";
  element.replaceChildren(...nodes);
  setupTheme(element, parts.theme);

  let stopView = () => {};
  let identity = null;
  const summary = createSummary(parts.summary, base);

  function navigate(href) {
    history.pushState(null, "", href);
    route();
  }

  async function whoAmI() {
    try {
      const me = await api.me();
      let email = null;
      let session = false;
      if (config.signIn) {
        try {
          [email, session] = [(await account.get()).email, await account.hasSession()];
        } catch (e) {
          // No Account API session (e.g. the dev server's implicit identity): show the user id.
        }
      }
      return { role: me.role, userId: me.userId, email, session };
    } catch (e) {
      if (e.status !== 401) return { role: "viewer", error: e };
      if (!config.signIn) return { signedOut: true };
      try {
        const user = await account.get();
        return { noRole: true, email: user.email, userId: user.$id };
      } catch (err) {
        return { signedOut: true };
      }
    }
  }

  function showWho() {
    const out = [];
    if (identity.userId) {
      out.push(el("span", { class: "muted", text: "Signed in as " }), el("span", { class: "user", text: identity.email || identity.userId }));
      if (identity.role) out.push(el("span", { class: `role r-${identity.role}`, text: identity.role === "operator" ? "Operator" : "Viewer (read-only)" }));
      if (identity.session) out.push(el("button", { type: "button", class: "ghost", "data-part": "sign-out", text: "Sign out", onclick: signOut }));
    } else if (identity.error) {
      out.push(el("span", { class: "muted", text: "Role unknown: read-only" }));
    } else {
      out.push(el("span", { class: "muted", text: "Not signed in" }));
    }
    parts.who.replaceChildren(...out);
  }

  async function signOut() {
    try {
      await account.signOut();
    } finally {
      identity = null;
      route();
    }
  }

  async function route() {
    stopView();
    stopView = () => {};
    if (!identity) identity = await whoAmI();
    showWho();
    const url = new URL(location.href);
    const rest = url.pathname.startsWith(base) ? url.pathname.slice(base.length).replace(/\/+$/, "") : "";
    const view = url.searchParams.get("view") === "history" ? "history" : "active";
    parts.tabActive.toggleAttribute("aria-current", false);
    parts.tabHistory.toggleAttribute("aria-current", false);
    parts.tabSchedules.toggleAttribute("aria-current", false);
    const signedIn = !identity.signedOut && !identity.noRole;
    // The job counts do not belong to the Schedules view (nor stay current there).
    parts.summary.hidden = !signedIn || rest === "/schedules";
    element.querySelector('[data-part="tabs"]').hidden = !signedIn;
    if (identity.signedOut) {
      stopView = renderSignIn(parts.main, { onSignedIn: () => ((identity = null), route()) });
      return;
    }
    if (identity.noRole) {
      stopView = renderNoRole(parts.main, identity, signOut);
      return;
    }
    const match = rest.match(/^\/([^/]+)$/);
    // `{base}/schedules` is the Schedules view (so no job page is reachable for a job whose id is
    // "schedules"; job ids are generated or derived from a key, docs/dashboard.md).
    if (rest === "/schedules") {
      parts.tabSchedules.setAttribute("aria-current", "page");
      stopView = renderSchedules(parts.main, identity.role);
    } else if (match) {
      summary.load();
      stopView = renderDetail(parts.main, decodeURIComponent(match[1]), identity.role, { base, summary, navigate });
    } else {
      (view === "history" ? parts.tabHistory : parts.tabActive).setAttribute("aria-current", "page");
      stopView = renderList(parts.main, identity.role, { base, summary, navigate, search: url.search });
    }
  }

  // In-page navigation for our own links; anything else (new tab, other paths) is the browser's.
  const onClick = (e) => {
    const a = e.target.closest && e.target.closest("a[href]");
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || a.target || a.hasAttribute("download")) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || !(url.pathname === base || url.pathname.startsWith(`${base}/`))) return;
    e.preventDefault();
    if (url.pathname + url.search !== location.pathname + location.search) navigate(url.pathname + url.search + url.hash);
  };
  element.addEventListener("click", onClick);
  window.addEventListener("popstate", route);
  route();
  return {
    navigate,
    unmount() {
      stopView();
      summary.stop();
      element.removeEventListener("click", onClick);
      window.removeEventListener("popstate", route);
      element.replaceChildren();
      element.classList.remove("jm");
    },
  };
}
