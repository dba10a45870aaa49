// Entry point: picks the view from the path (`/jobs`, `/jobs/:id`), shows who is signed in
// and with which role, and sets up the theme. Views are plain functions of a container.

import { api } from "./api.js";
import { el, setupTheme } from "./ui.js";
import { renderList, loadSummary } from "./list.js";
import { renderDetail } from "./detail.js";

async function main() {
  setupTheme();
  const root = document.getElementById("main");
  let role = "viewer";
  const who = document.getElementById("who");
  try {
    const me = await api.me();
    role = me.role;
    who.replaceChildren(
      el("span", { class: "muted", text: "Signed in as " }),
      el("span", { class: "user", text: me.userId }),
      el("span", { class: `role r-${me.role}`, text: me.role === "operator" ? "Operator" : "Viewer (read-only)" }),
    );
  } catch (e) {
    who.replaceChildren(el("span", { class: "muted", text: e.status === 401 ? "Not signed in" : "Role unknown: read-only" }));
  }
  const path = location.pathname.replace(/\/+$/, "");
  const match = path.match(/^\/jobs\/([^/]+)$/);
  if (match) {
    loadSummary();
    renderDetail(root, decodeURIComponent(match[1]), role);
  } else {
    renderList(root, role);
  }
}

main();
